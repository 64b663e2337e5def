// Goal: OffsetsState holds the last committed offset per (group, topic, partition), honours
// tombstones, stays within its per-group bound, and is a pure function of the records applied.
// Method: scenario tests on hand-written records, and a replay of a seeded random history from
// its encoded bytes into a fresh state that must answer every fetch the same way.
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { encodeOffsetsRecord, type OffsetsRecord } from './offsets-records.ts';
import { OffsetsState, PARTITIONS_PER_GROUP_MAX } from './offsets-state.ts';

function commit(group: string, topic: string, partition: number, offset: number): OffsetsRecord {
  return {
    kind: 'offset-committed', group, topic, partition, offset, leaderEpoch: -1, metadata: null,
    commitTimeMs: 1000 + offset,
  };
}

describe('OffsetsState', () => {
  it('keeps the last commit per partition and fetches one or all', () => {
    const state = new OffsetsState();
    state.apply(commit('g', 't', 1, 10));
    state.apply(commit('g', 't', 0, 5));
    state.apply(commit('g', 't', 1, 12));
    state.apply(commit('g', 'a', 0, 1));
    state.apply(commit('h', 't', 0, 99));
    expect(state.fetch('g', 't', 1)).toMatchObject({ offset: 12, commitTimeMs: 1012, metadata: null });
    expect(state.fetch('g', 't', 2)).toBeUndefined();
    expect(state.fetch('x', 't', 1)).toBeUndefined();
    expect(state.fetchAll('g').map((o) => `${o.topic}/${o.partition}@${o.offset}`))
      .toEqual(['a/0@1', 't/0@5', 't/1@12']);
    expect(state.groupIds()).toEqual(['g', 'h']);
    expect(state.committedPartitionsOf('t')).toEqual([
      { group: 'g', partition: 0 }, { group: 'g', partition: 1 }, { group: 'h', partition: 0 },
    ]);
    expect(state.committedPartitionsOf('none')).toEqual([]);
  });

  it('removes one partition on a tombstone and a whole group on group-deleted', () => {
    const state = new OffsetsState();
    state.apply(commit('g', 't', 0, 5));
    state.apply(commit('g', 't', 1, 6));
    state.apply({ kind: 'offset-deleted', group: 'g', topic: 't', partition: 0 });
    expect(state.fetch('g', 't', 0)).toBeUndefined();
    expect(state.fetch('g', 't', 1)?.offset).toBe(6);
    state.apply({ kind: 'offset-deleted', group: 'g', topic: 't', partition: 1 });
    expect(state.groupIds()).toEqual([]);
    state.apply(commit('g', 't', 0, 7));
    state.apply({ kind: 'group-deleted', group: 'g' });
    expect(state.fetchAll('g')).toEqual([]);
  });

  it('refuses commits past the per-group partition bound, identically on every replay', () => {
    const state = new OffsetsState();
    for (let partition = 0; partition < PARTITIONS_PER_GROUP_MAX; partition++) {
      expect(state.apply(commit('g', 't', partition, 1))).toBe(true);
    }
    expect(state.canCommit('g', [{ topic: 't', partition: 0 }])).toBe(true);
    expect(state.canCommit('g', [{ topic: 'u', partition: 0 }])).toBe(false);
    expect(state.apply(commit('g', 'u', 0, 1))).toBe(false);
    expect(state.apply(commit('g', 't', 0, 2))).toBe(true); // an existing partition still moves
    expect(state.fetch('g', 't', 0)?.offset).toBe(2);
    state.apply({ kind: 'offset-deleted', group: 'g', topic: 't', partition: 5 });
    expect(state.apply(commit('g', 'u', 0, 1))).toBe(true);
    expect(state.committedPartitionCount).toBe(PARTITIONS_PER_GROUP_MAX);
    state.apply({ kind: 'group-deleted', group: 'g' });
    expect(state.committedPartitionCount).toBe(0);
  });

  it('replaying the encoded history gives the same answers', () => {
    const random = prng(testSeed('offsets-state replay'));
    const live = new OffsetsState();
    const history: Buffer[] = [];
    for (let step = 0; step < 2000; step++) {
      const group = `g${Math.floor(random() * 3)}`;
      const partition = Math.floor(random() * 4);
      const roll = random();
      const record: OffsetsRecord = roll < 0.85 ? commit(group, 't', partition, step)
        : roll < 0.97 ? { kind: 'offset-deleted', group, topic: 't', partition }
          : { kind: 'group-deleted', group };
      const bytes = encodeOffsetsRecord(record);
      history.push(bytes);
      live.applyBytes(bytes);
    }
    const replayed = new OffsetsState();
    for (const bytes of history) replayed.applyBytes(bytes);
    expect(replayed.groupIds()).toEqual(live.groupIds());
    for (const group of ['g0', 'g1', 'g2']) expect(replayed.fetchAll(group)).toEqual(live.fetchAll(group));
    const total = ['g0', 'g1', 'g2'].reduce((sum, group) => sum + live.fetchAll(group).length, 0);
    expect(live.committedPartitionCount).toBe(total);
    expect(replayed.committedPartitionCount).toBe(total);
    expect(live.groupIds().length).toBeGreaterThan(0);
  });
});
