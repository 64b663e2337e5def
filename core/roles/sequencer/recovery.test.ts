/**
 * Goal: the sequencer's recovery picks the right head, never reuses an epoch, and waits for
 * enough commits. Method: table cases of commit hellos (last seq, last epoch, epoch history).
 */
import { describe, expect, it } from 'vitest';
import type { Hello } from '../../river/messages.ts';
import { distinctCommits, planRecovery, recoveryQuorum, sameCommit } from './recovery.ts';

function commit(memberId: string, lastSeq: number, lastEpoch: number, history: Array<[number, number]>,
  streams: Array<[number, number]> = []): Hello {
  return { role: 'commit', memberId, lastSeq, lastEpoch, history, streams, listen: `${memberId}:1` };
}

describe('sequencer recovery plan', () => {
  it('waits for max(W, R-W+1) commits', () => {
    expect(recoveryQuorum(1, 1)).toBe(1);
    expect(recoveryQuorum(2, 2)).toBe(2);
    expect(recoveryQuorum(2, 1)).toBe(2);
    expect(recoveryQuorum(3, 2)).toBe(2);
    expect(recoveryQuorum(5, 3)).toBe(3);
    expect(recoveryQuorum(5, 1)).toBe(5);
  });

  it('starts a fresh river at epoch 1, seq 1', () => {
    const plan = planRecovery([commit('a', 0, 0, []), commit('b', 0, 0, [])]);
    expect(plan).toMatchObject({ epoch: 1, headSeq: 0, history: [[1, 1]] });
  });

  it('takes the longest log of the newest epoch and its stream offsets', () => {
    const plan = planRecovery([
      commit('a', 100, 1, [[1, 1]], [[7, 40]]),
      commit('b', 95, 1, [[1, 1]], [[7, 38]]),
    ]);
    expect(plan.head.memberId).toBe('a');
    expect(plan).toMatchObject({ epoch: 2, headSeq: 100, history: [[1, 1], [2, 101]] });
    expect(plan.streams.get(7)).toBe(40);
  });

  it('prefers a newer epoch over a longer tail of an older one', () => {
    const plan = planRecovery([
      commit('a', 120, 1, [[1, 1]]),
      commit('b', 110, 2, [[1, 1], [2, 96]]),
    ]);
    expect(plan.head.memberId).toBe('b');
    expect(plan).toMatchObject({ epoch: 3, headSeq: 110, history: [[1, 1], [2, 96], [3, 111]] });
  });

  it('never reuses an epoch a commit has seen, even one without entries', () => {
    const plan = planRecovery([commit('a', 50, 1, [[1, 1], [4, 51]]), commit('b', 50, 1, [[1, 1]])]);
    expect(plan.epoch).toBe(5);
    expect(plan.history).toEqual([[1, 1], [4, 51], [5, 51]]);
  });

  it('counts a commit that reconnected once', () => {
    expect(distinctCommits([commit('a', 1, 1, []), commit('a', 2, 1, []), commit('b', 0, 0, [])])
      .map((hello) => [hello.memberId, hello.lastSeq])).toEqual([['a', 2], ['b', 0]]);
  });

  it('tells commits apart by their data folder, even with the same name', () => {
    const [one, two] = [{ ...commit('c', 1, 1, []), dataId: 'x' }, { ...commit('c', 1, 1, []), dataId: 'y' }];
    expect(distinctCommits([one, two])).toHaveLength(2);
    expect(sameCommit(one, two)).toBe(false);
    expect(sameCommit(one, { ...one, lastSeq: 9 })).toBe(true);
  });
});
