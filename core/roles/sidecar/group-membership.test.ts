/**
 * Goal: every member of a sidecar group computes the same member set and assignment from the same
 * records, the assignment covers every input exactly once, and liveness judgments are safe.
 * Method: scenario tests of join/heartbeat/leave/expel, then a seeded random record history
 * applied by several replicas at different local times: same set and assignment everywhere.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../../test/harness/seed.ts';
import type { MembershipRecord } from './checkpoint-records.ts';
import { GroupMembership, MEMBERS_MAX } from './group-membership.ts';

const join = (memberId: string, sessionTimeoutMs = 1000): MembershipRecord =>
  ({ kind: 'join', name: 'g', memberId, sessionTimeoutMs });

describe('GroupMembership', () => {
  it('splits inputs round-robin over the sorted member ids; leave and expel hand them on', () => {
    const group = new GroupMembership();
    const inputs = [1024, 1025, 1026, 1027, 1028];
    expect(group.assignment(inputs, 'b')).toEqual([]);
    expect(group.apply(join('b'), 0)).toBe(true);
    expect(group.assignment(inputs, 'b')).toEqual(inputs);
    expect(group.apply(join('a'), 0)).toBe(true);
    expect(group.apply(join('a'), 5)).toBe(false);
    expect(group.memberIds).toEqual(['a', 'b']);
    expect(group.assignment(inputs, 'a')).toEqual([1024, 1026, 1028]);
    expect(group.assignment(inputs, 'b')).toEqual([1025, 1027]);
    expect(group.apply(join('c'), 0)).toBe(true);
    const all = ['a', 'b', 'c'].flatMap((id) => group.assignment(inputs, id)).sort();
    expect(all).toEqual(inputs);
    expect(group.apply({ kind: 'leave', name: 'g', memberId: 'a' }, 0)).toBe(true);
    expect(group.apply({ kind: 'expel', name: 'g', memberId: 'c', byMemberId: 'b' }, 0)).toBe(true);
    expect(group.apply({ kind: 'expel', name: 'g', memberId: 'c', byMemberId: 'b' }, 0)).toBe(false);
    expect(group.assignment(inputs, 'b')).toEqual(inputs);
    expect(group.apply({ kind: 'heartbeat', name: 'g', memberId: 'c' }, 0)).toBe(false);
    expect(group.has('c')).toBe(false);
    expect(group.generation).toBe(5);
  });

  it('judges silence past the session timeout, and nobody while its own heartbeats are late', () => {
    const group = new GroupMembership();
    group.apply(join('a', 1000), 0);
    group.apply(join('b', 3000), 0);
    group.apply({ kind: 'heartbeat', name: 'g', memberId: 'a' }, 1500);
    expect(group.expired('a', 1600)).toEqual([]);
    group.apply({ kind: 'heartbeat', name: 'g', memberId: 'a' }, 3100);
    expect(group.expired('a', 3200)).toEqual(['b']);
    expect(group.expired('b', 3200)).toEqual([]);
    // 'a' itself was silent (paused) for longer than 2/3 of its timeout: it judges nobody.
    expect(group.expired('a', 3700)).toEqual(['b']);
    expect(group.expired('a', 3800)).toEqual([]);
    expect(group.expired('stranger', 3200)).toEqual([]);
  });

  it('ignores joins past MEMBERS_MAX', () => {
    const group = new GroupMembership();
    for (let i = 0; i < MEMBERS_MAX + 5; i++) group.apply(join(`m${String(i).padStart(5, '0')}`), 0);
    expect(group.memberIds.length).toBe(MEMBERS_MAX);
  });

  it('replicas applying one random history at different times agree on set and assignment', () => {
    const seed = testSeed('group membership');
    const random = prng(seed);
    const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const records: MembershipRecord[] = [];
    for (let i = 0; i < 500; i++) {
      const memberId = ids[Math.floor(random() * ids.length)]!;
      const roll = random();
      if (roll < 0.4) records.push(join(memberId));
      else if (roll < 0.7) records.push({ kind: 'heartbeat', name: 'g', memberId });
      else if (roll < 0.85) records.push({ kind: 'leave', name: 'g', memberId });
      else records.push({ kind: 'expel', name: 'g', memberId, byMemberId: 'p1' });
    }
    const replicas = [new GroupMembership(), new GroupMembership(), new GroupMembership()];
    const inputs = Array.from({ length: 7 }, (_, k) => 1024 + k);
    records.forEach((record, i) => {
      replicas.forEach((replica, r) => replica.apply(record, i * (r + 1)));
      const sets = replicas.map((replica) => replica.memberIds.join(','));
      expect(new Set(sets).size, `seed ${seed}`).toBe(1);
      const owned = replicas[0]!.memberIds.flatMap((id) => replicas[1]!.assignment(inputs, id)).sort();
      if (replicas[0]!.memberIds.length > 0) expect(owned, `seed ${seed}`).toEqual(inputs);
    });
  });
});
