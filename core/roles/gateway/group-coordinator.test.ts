// Goal: the group coordinator follows Kafka's consumer-group rules (research/kafka-protocol.md
// §4) exactly: join/sync phases, generations, leader, protocol vote, MEMBER_ID_REQUIRED by
// version, heartbeat answers by state, leave, session and sync timeouts, OffsetCommit checks,
// views and deletion, static members, bounds.
// Method: scenarios with explicit nowMs against one GroupCoordinator with deterministic member
// ids (`<clientId>-<n>`); every held reply is captured and the test asserts when it arrives and
// what it says; no real time passes.
import { describe, expect, it } from 'vitest';
import { KAFKA_ERROR } from '../../control/kafka-error-codes.ts';
import type { GroupCoordinatorConfig } from './group-config.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { voteProtocol } from './group-protocol.ts';
import {
  leaveGroupTopLevelError, type GroupProtocol, type JoinGroupRequest, type JoinGroupResult, type SyncGroupResult,
} from './group-types.ts';

const GROUP = 'g';
const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

function coordinator(config: Partial<GroupCoordinatorConfig> = {}): GroupCoordinator {
  let n = 0;
  return new GroupCoordinator({ newMemberId: (clientId) => `${clientId}-${++n}`, ...config });
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const range = (meta = 'm'): GroupProtocol => ({ name: 'range', metadata: bytes(`range:${meta}`) });
const roundrobin = (meta = 'm'): GroupProtocol => ({ name: 'roundrobin', metadata: bytes(`rr:${meta}`) });

function joinRequest(clientId: string, fields: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    apiVersion: 2, groupId: GROUP, memberId: '', groupInstanceId: null, clientId, clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS, protocolType: 'consumer',
    protocols: [range(clientId)], ...fields,
  };
}

/** A held reply: `value` is set once the coordinator answers; answering twice fails the test. */
class Pending<T> {
  value: T | undefined;
  calls = 0;
  readonly reply = (result: T): void => {
    this.calls += 1;
    expect(this.calls, 'a reply was delivered twice').toBe(1);
    this.value = result;
  };

  get result(): T {
    if (this.value === undefined) throw new Error('no reply yet');
    return this.value;
  }
}

function join(c: GroupCoordinator, request: JoinGroupRequest, nowMs: number): Pending<JoinGroupResult> {
  const pending = new Pending<JoinGroupResult>();
  c.joinGroup(request, nowMs, pending.reply);
  return pending;
}

function sync(
  c: GroupCoordinator, memberId: string, generationId: number, nowMs: number,
  assignments: Record<string, string> = {},
): Pending<SyncGroupResult> {
  const pending = new Pending<SyncGroupResult>();
  c.syncGroup({
    groupId: GROUP, memberId, generationId, groupInstanceId: null,
    assignments: Object.entries(assignments).map(([id, value]) => ({ memberId: id, assignment: bytes(value) })),
  }, nowMs, pending.reply);
  return pending;
}

const heartbeat = (c: GroupCoordinator, memberId: string, generationId: number, nowMs: number): number =>
  c.heartbeat({ groupId: GROUP, memberId, generationId, groupInstanceId: null }, nowMs);

/** One member joins alone (v2) and syncs: a Stable group of one at generation 1. */
function stableGroupOfOne(c: GroupCoordinator, nowMs = 0, fields: Partial<JoinGroupRequest> = {}): string {
  const a = join(c, joinRequest('a', fields), nowMs).result;
  sync(c, a.memberId, a.generationId, nowMs, { [a.memberId]: 'p0' });
  return a.memberId;
}

/** Three members (v2) join within the initial delay and sync; returns their ids and the time. */
function stableGroupOfThree(c: GroupCoordinator): { ids: string[]; nowMs: number } {
  const joins = ['a', 'b', 'c'].map((clientId, i) => join(c, joinRequest(clientId), i * 100));
  c.tick(3_200);
  const ids = joins.map((pending) => pending.result.memberId);
  const [a, b, cId] = ids as [string, string, string];
  const generation = joins[0]?.result.generationId ?? -1;
  const followers = [sync(c, b, generation, 3_200), sync(c, cId, generation, 3_200)];
  sync(c, a, generation, 3_200, { [a]: 'p0', [b]: 'p1', [cId]: 'p2' });
  for (const follower of followers) expect(follower.result.errorCode).toBe(KAFKA_ERROR.NONE);
  return { ids, nowMs: 3_200 };
}

describe('join and sync', () => {
  it('holds three joins through the initial delay, then one generation with one leader', () => {
    const c = coordinator({ initialRebalanceDelayMs: 3_000 });
    const joins = ['a', 'b', 'c'].map((clientId, i) => join(c, joinRequest(clientId), i * 100));
    expect(c.group(GROUP)?.state).toBe('PreparingRebalance');
    c.tick(3_199); // c joined at 200 and extended the delay to 3200
    expect(joins.map((pending) => pending.calls)).toEqual([0, 0, 0]);
    c.tick(3_200);
    const [a, b, cc] = joins.map((pending) => pending.result);
    expect([a?.memberId, b?.memberId, cc?.memberId]).toEqual(['a-1', 'b-2', 'c-3']);
    for (const result of [a, b, cc]) {
      expect(result).toMatchObject({ errorCode: 0, generationId: 1, leaderId: 'a-1', protocolName: 'range' });
    }
    expect(a?.members.map((m) => [m.memberId, text(m.metadata)])).toEqual([
      ['a-1', 'range:a'], ['b-2', 'range:b'], ['c-3', 'range:c'],
    ]);
    expect(b?.members).toEqual([]);
    expect(cc?.members).toEqual([]);
    expect(c.group(GROUP)?.state).toBe('CompletingRebalance');
    expect(heartbeat(c, 'b-2', 1, 3_300)).toBe(KAFKA_ERROR.NONE); // allowed between join and sync

    const followerSyncs = [sync(c, 'b-2', 1, 3_400), sync(c, 'c-3', 1, 3_400)];
    expect(followerSyncs.map((pending) => pending.calls)).toEqual([0, 0]); // wait for the leader
    const leaderSync = sync(c, 'a-1', 1, 3_500, { 'a-1': 'p0', 'b-2': 'p1', 'c-3': 'p2' });
    expect(text(leaderSync.result.assignment)).toBe('p0');
    expect(followerSyncs.map((pending) => text(pending.result.assignment))).toEqual(['p1', 'p2']);
    expect(c.group(GROUP)?.state).toBe('Stable');
    expect(sync(c, 'b-2', 1, 3_600).result).toMatchObject({ errorCode: 0, protocolName: 'range' });
  });

  it('a 4th member triggers a rebalance: everyone gets REBALANCE_IN_PROGRESS, rejoins, generation 2', () => {
    const c = coordinator({ initialRebalanceDelayMs: 3_000 });
    const { ids } = stableGroupOfThree(c);
    const d = join(c, joinRequest('d'), 4_000);
    expect(d.calls).toBe(0);
    expect(c.group(GROUP)?.state).toBe('PreparingRebalance');
    for (const id of ids) expect(heartbeat(c, id, 1, 4_100)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    const offsetCheck = { groupId: GROUP, memberId: 'b-2', generationId: 1, groupInstanceId: null };
    expect(c.validateOffsetCommit(offsetCheck, 4_100)).toBe(KAFKA_ERROR.NONE); // commit before rejoining
    const rejoins = ids.map((memberId) => join(c, joinRequest(memberId.slice(0, 1), { memberId }), 4_200));
    const results = [...rejoins, d].map((pending) => pending.result);
    expect(results.map((r) => r.generationId)).toEqual([2, 2, 2, 2]);
    expect(results.map((r) => r.leaderId)).toEqual(['a-1', 'a-1', 'a-1', 'a-1']);
    expect(results[0]?.members.map((m) => m.memberId)).toEqual(['a-1', 'b-2', 'c-3', 'd-4']);
    expect(heartbeat(c, 'b-2', 1, 4_300)).toBe(KAFKA_ERROR.ILLEGAL_GENERATION);
    expect(c.validateOffsetCommit(offsetCheck, 4_300)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
  });

  it('drops members that do not rejoin before the largest rebalance timeout', () => {
    const c = coordinator();
    const a = stableGroupOfOne(c, 0, { sessionTimeoutMs: 60_000 }); // a's session outlives the phase
    const b = join(c, joinRequest('b', { rebalanceTimeoutMs: 5_000 }), 1_000);
    c.tick(1_000 + REBALANCE_MS - 1);
    expect(b.calls).toBe(0);
    c.tick(1_000 + REBALANCE_MS); // a's timeout (30 s) is the largest
    expect(b.result).toMatchObject({ errorCode: 0, generationId: 2, leaderId: 'b-2' });
    expect(b.result.members.map((m) => m.memberId)).toEqual(['b-2']);
    expect(heartbeat(c, a, 1, 31_001)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('a member whose join is held outlives its session timeout (the phase deadline bounds it)', () => {
    const c = coordinator();
    const a = stableGroupOfOne(c, 0, { sessionTimeoutMs: 60_000 });
    const b = join(c, joinRequest('b', { sessionTimeoutMs: 6_000 }), 0); // held until a rejoins
    c.tick(20_000);
    expect(c.group(GROUP)?.memberIds).toEqual([a, 'b-2']);
    const aRejoin = join(c, joinRequest('a', { memberId: a }), 20_000);
    expect(aRejoin.result.members.map((m) => m.memberId)).toEqual([a, 'b-2']);
    expect(b.result.generationId).toBe(2);
  });

  it('uses the session timeout as the rebalance timeout for JoinGroup v0', () => {
    const c = coordinator();
    const v0 = { apiVersion: 0, rebalanceTimeoutMs: -1 };
    const a = stableGroupOfOne(c, 0, { ...v0, sessionTimeoutMs: 20_000 });
    const b = join(c, joinRequest('b', { ...v0, sessionTimeoutMs: 6_000 }), 0);
    expect(heartbeat(c, a, 1, 10_000)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS); // a stays alive
    c.tick(19_999);
    expect(b.calls).toBe(0);
    c.tick(20_000); // a's session timeout is the largest rebalance timeout
    expect(b.result).toMatchObject({ generationId: 2, leaderId: 'b-2' });
  });

  it('takes a rebalance timeout of 0 as the session timeout: the member has time to sync', () => {
    const c = coordinator({ initialRebalanceDelayMs: 0 });
    const a = join(c, joinRequest('a', { rebalanceTimeoutMs: 0 }), 0);
    c.tick(0);
    expect(a.result).toMatchObject({ errorCode: 0, generationId: 1, leaderId: 'a-1' });
    c.tick(150); // with a sync deadline of now + 0, a-1 was forgotten here
    expect(sync(c, 'a-1', 1, 150, { 'a-1': 'all' }).result).toMatchObject({ errorCode: 0 });
    expect(c.group(GROUP)?.state).toBe('Stable');
    // The sync phase still ends, at the session timeout: nobody syncs generation 2.
    join(c, joinRequest('b', { rebalanceTimeoutMs: 0 }), 200);
    join(c, joinRequest('a', { memberId: 'a-1', rebalanceTimeoutMs: 0 }), 200);
    expect(c.group(GROUP)?.state).toBe('CompletingRebalance');
    c.tick(200 + SESSION_MS - 1);
    expect(c.group(GROUP)?.memberIds).toEqual(['a-1', 'b-2']);
    c.tick(200 + SESSION_MS);
    expect(c.group(GROUP)?.memberIds).toEqual([]);
  });

  it('answers a repeated join of a settled member with the current generation, no rebalance', () => {
    const c = coordinator({ initialRebalanceDelayMs: 3_000 });
    stableGroupOfThree(c);
    const again = join(c, joinRequest('b', { memberId: 'b-2', protocols: [range('b')] }), 5_000);
    expect(again.result).toMatchObject({ errorCode: 0, generationId: 1, leaderId: 'a-1', members: [] });
    expect(c.group(GROUP)?.state).toBe('Stable');
    const changed = join(c, joinRequest('b', { memberId: 'b-2', protocols: [range('new')] }), 5_000);
    expect(changed.calls).toBe(0);
    expect(c.group(GROUP)?.state).toBe('PreparingRebalance');
  });

  it('a leader rejoining a Stable group starts a rebalance', () => {
    const c = coordinator();
    const a = stableGroupOfOne(c);
    const rejoin = join(c, joinRequest('a', { memberId: a }), 100);
    expect(rejoin.result).toMatchObject({ generationId: 2, leaderId: a });
  });
});

describe('MEMBER_ID_REQUIRED', () => {
  it('v4+ with an empty member id gets 79 and an id, parked for one session timeout', () => {
    const c = coordinator();
    const first = join(c, joinRequest('kafkajs', { apiVersion: 5 }), 0).result;
    expect(first).toMatchObject({ errorCode: KAFKA_ERROR.MEMBER_ID_REQUIRED, memberId: 'kafkajs-1', generationId: -1 });
    expect(c.group(GROUP)?.pendingMemberIds).toEqual(['kafkajs-1']);
    const second = join(c, joinRequest('kafkajs', { apiVersion: 5, memberId: 'kafkajs-1' }), 10);
    expect(second.result)
      .toMatchObject({ errorCode: 0, memberId: 'kafkajs-1', generationId: 1, leaderId: 'kafkajs-1' });
    expect(c.group(GROUP)?.pendingMemberIds).toEqual([]);
  });

  it('a parked id expires after the session timeout and is then unknown', () => {
    const c = coordinator();
    join(c, joinRequest('x', { apiVersion: 4 }), 0);
    c.tick(SESSION_MS - 1);
    expect(c.group(GROUP)?.pendingMemberIds).toEqual(['x-1']);
    c.tick(SESSION_MS);
    expect(c.group(GROUP)?.pendingMemberIds).toEqual([]);
    const late = join(c, joinRequest('x', { apiVersion: 4, memberId: 'x-1' }), SESSION_MS);
    expect(late.result.errorCode).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('v0-v3 (kafka-python uses v2) never get 79; static members (v5) skip it too', () => {
    for (const apiVersion of [0, 1, 2, 3]) {
      const c = coordinator();
      const result = join(c, joinRequest('py', { apiVersion, rebalanceTimeoutMs: apiVersion === 0 ? -1 : 1 }), 0);
      expect(result.result).toMatchObject({ errorCode: 0, memberId: 'py-1', generationId: 1 });
    }
    const c = coordinator();
    const result = join(c, joinRequest('s', { apiVersion: 5, groupInstanceId: 'host-1' }), 0);
    expect(result.result).toMatchObject({ errorCode: 0, memberId: 's-1' });
  });

  it('a parked id holds the join phase until it joins or expires', () => {
    const c = coordinator();
    const a = stableGroupOfOne(c);
    join(c, joinRequest('b', { apiVersion: 4 }), 100); // parked, no rebalance yet
    expect(c.group(GROUP)?.state).toBe('Stable');
    const b = join(c, joinRequest('b', { apiVersion: 4, memberId: 'b-2' }), 200);
    join(c, joinRequest('c', { apiVersion: 4 }), 300); // parked during the rebalance
    const aRejoin = join(c, joinRequest('a', { memberId: a }), 400);
    expect(aRejoin.calls).toBe(0); // c-3 may still come
    c.tick(300 + SESSION_MS);
    expect(aRejoin.result.members.map((m) => m.memberId)).toEqual([a, 'b-2']);
    expect(b.result.generationId).toBe(2);
  });
});

describe('protocols', () => {
  it('chooses by vote among protocols every member supports', () => {
    expect(voteProtocol([[range(), roundrobin()], [roundrobin(), range()], [roundrobin(), range()]]))
      .toBe('roundrobin');
    expect(voteProtocol([[range(), roundrobin()], [roundrobin(), range()]])).toBe('range'); // tie: first member
    expect(voteProtocol([[range()], [roundrobin()]])).toBeNull();
    const c = coordinator({ initialRebalanceDelayMs: 1_000 });
    const joins = [
      join(c, joinRequest('a', { protocols: [range('a'), roundrobin('a')] }), 0),
      join(c, joinRequest('b', { protocols: [roundrobin('b'), range('b')] }), 0),
      join(c, joinRequest('c', { protocols: [roundrobin('c')] }), 0),
    ];
    c.tick(1_000);
    expect(joins.map((pending) => pending.result.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    expect(joins[0]?.result.members.map((m) => text(m.metadata))).toEqual(['rr:a', 'rr:b', 'rr:c']);
  });

  it('refuses a joiner with no common protocol, an empty list or another type: 23', () => {
    const c = coordinator();
    stableGroupOfOne(c);
    const cases: Array<Partial<JoinGroupRequest>> = [
      { protocols: [roundrobin()] }, { protocols: [] }, { protocolType: 'connect' }, { protocolType: '' },
    ];
    for (const fields of cases) {
      expect(join(c, joinRequest('z', fields), 10).result.errorCode).toBe(KAFKA_ERROR.INCONSISTENT_GROUP_PROTOCOL);
    }
    expect(c.group(GROUP)?.state).toBe('Stable');
  });

  it('stores metadata and assignments as copies, returned verbatim', () => {
    const c = coordinator();
    const metadata = bytes('orig');
    const a = join(c, joinRequest('a', { protocols: [{ name: 'range', metadata }] }), 0).result;
    metadata[0] = 0x58; // the gateway reuses its request buffer
    const assignment = bytes('assign');
    c.syncGroup({
      groupId: GROUP, memberId: a.memberId, generationId: 1, groupInstanceId: null,
      assignments: [{ memberId: a.memberId, assignment }],
    }, 0, () => undefined);
    assignment[0] = 0x58;
    const [described] = c.describeGroups([GROUP]);
    expect(described?.members.map((m) => [text(m.metadata), text(m.assignment)])).toEqual([['orig', 'assign']]);
    expect(text(a.members[0]?.metadata ?? new Uint8Array())).toBe('orig');
  });
});

describe('sync', () => {
  it('refuses wrong generation (22), unknown member (25), a rebalancing group (27)', () => {
    const c = coordinator();
    const a = join(c, joinRequest('a'), 0).result.memberId;
    expect(sync(c, a, 7, 0).result.errorCode).toBe(KAFKA_ERROR.ILLEGAL_GENERATION);
    expect(sync(c, 'nobody', 1, 0).result.errorCode).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    join(c, joinRequest('b'), 0); // group now PreparingRebalance
    expect(sync(c, a, 1, 0).result.errorCode).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    const other = new Pending<SyncGroupResult>();
    const otherGroup = { groupId: 'other', memberId: a, generationId: 1, groupInstanceId: null, assignments: [] };
    c.syncGroup(otherGroup, 0, other.reply);
    expect(other.result.errorCode).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('gives a member the leader left out an empty assignment', () => {
    const c = coordinator({ initialRebalanceDelayMs: 100 });
    const joins = [join(c, joinRequest('a'), 0), join(c, joinRequest('b'), 0)];
    c.tick(100);
    const bSync = sync(c, 'b-2', 1, 100);
    sync(c, 'a-1', 1, 100, { 'a-1': 'everything', 'ghost-9': 'ignored' });
    expect(joins[0]?.result.leaderId).toBe('a-1');
    expect(bSync.result).toMatchObject({ errorCode: 0 });
    expect(bSync.result.assignment.length).toBe(0);
  });

  it('removes members that do not sync within the rebalance timeout and rebalances the rest', () => {
    const c = coordinator({ initialRebalanceDelayMs: 100 });
    join(c, joinRequest('a', { sessionTimeoutMs: 60_000 }), 0); // sessions outlive the sync phase
    join(c, joinRequest('b', { sessionTimeoutMs: 60_000 }), 0);
    c.tick(100); // generation 1, leader a-1, sync deadline 100 + 30 s
    const bSync = sync(c, 'b-2', 1, 200);
    c.tick(100 + REBALANCE_MS - 1);
    expect(bSync.calls).toBe(0);
    c.tick(100 + REBALANCE_MS);
    expect(bSync.result.errorCode).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    expect(c.group(GROUP)?.memberIds).toEqual(['b-2']);
    expect(heartbeat(c, 'a-1', 1, 100 + REBALANCE_MS)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    const rejoin = join(c, joinRequest('b', { memberId: 'b-2' }), 100 + REBALANCE_MS);
    expect(rejoin.result).toMatchObject({ generationId: 2, leaderId: 'b-2' });
  });
});

describe('heartbeat', () => {
  it('answers by state: Empty 25, PreparingRebalance 27, CompletingRebalance 0, Stable 0', () => {
    const c = coordinator({ initialRebalanceDelayMs: 100 });
    const simple = { groupId: GROUP, memberId: '', generationId: -1, groupInstanceId: null };
    expect(c.validateOffsetCommit(simple, 0)).toBe(0);
    expect(c.group(GROUP)?.state).toBe('Empty');
    expect(heartbeat(c, '', -1, 0)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    join(c, joinRequest('a'), 0);
    expect(c.group(GROUP)?.state).toBe('PreparingRebalance');
    // a-1 is a member already, generation 0 is the group's until the phase completes
    expect(heartbeat(c, 'a-1', 0, 50)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    c.tick(100);
    expect(c.group(GROUP)?.state).toBe('CompletingRebalance');
    expect(heartbeat(c, 'a-1', 1, 150)).toBe(KAFKA_ERROR.NONE);
    sync(c, 'a-1', 1, 160, { 'a-1': 'x' });
    expect(heartbeat(c, 'a-1', 1, 170)).toBe(KAFKA_ERROR.NONE);
    expect(heartbeat(c, 'a-1', 0, 170)).toBe(KAFKA_ERROR.ILLEGAL_GENERATION);
    expect(heartbeat(c, 'z-9', 1, 170)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat({ groupId: 'nope', memberId: 'a-1', generationId: 1, groupInstanceId: null }, 170))
      .toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('keeps a session alive; a lapsed session removes the member and rebalances the rest', () => {
    const c = coordinator({ initialRebalanceDelayMs: 100 });
    join(c, joinRequest('a'), 0);
    join(c, joinRequest('b'), 0);
    c.tick(100); // sessions now end at 100 + 10 s
    sync(c, 'b-2', 1, 100);
    sync(c, 'a-1', 1, 100, { 'a-1': 'x', 'b-2': 'y' });
    expect(heartbeat(c, 'b-2', 1, 6_000)).toBe(KAFKA_ERROR.NONE); // b's session now ends at 16 s
    c.tick(10_099);
    expect(c.group(GROUP)?.memberIds).toEqual(['a-1', 'b-2']);
    c.tick(10_100); // a's session lapsed
    expect(c.group(GROUP)?.memberIds).toEqual(['b-2']);
    expect(heartbeat(c, 'b-2', 1, 10_200)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    const rejoin = join(c, joinRequest('b', { memberId: 'b-2' }), 10_300);
    expect(rejoin.result).toMatchObject({ generationId: 2, leaderId: 'b-2' });
    expect(rejoin.result.members.map((m) => m.memberId)).toEqual(['b-2']);
  });

  it('refuses session timeouts outside the configured bounds with 26', () => {
    const c = coordinator({ sessionTimeoutMsMin: 5_000, sessionTimeoutMsMax: 60_000 });
    for (const sessionTimeoutMs of [4_999, 60_001]) {
      expect(join(c, joinRequest('a', { sessionTimeoutMs }), 0).result.errorCode)
        .toBe(KAFKA_ERROR.INVALID_SESSION_TIMEOUT);
    }
    expect(join(c, joinRequest('a', { sessionTimeoutMs: 5_000 }), 0).result.errorCode).toBe(KAFKA_ERROR.NONE);
    expect(coordinator().config.sessionTimeoutMsMin).toBeLessThanOrEqual(5_000);
    expect(() => coordinator({ sessionTimeoutMsMin: 10, sessionTimeoutMsMax: 5 }))
      .toThrow('group session timeout bounds: [10, 5] is not a range of milliseconds');
    expect(() => coordinator({ initialRebalanceDelayMs: -1 })).toThrow('initial rebalance delay: -1 ms');
    expect(() => coordinator({ groupMemberCountMax: 0 })).toThrow('group size limit: 0 is not allowed');
  });
});

describe('leave', () => {
  it('the leader leaving hands leadership to the first remaining member after a rebalance', () => {
    const c = coordinator({ initialRebalanceDelayMs: 3_000 });
    const { ids } = stableGroupOfThree(c);
    const left = c.leaveGroup({ groupId: GROUP, members: [{ memberId: 'a-1', groupInstanceId: null }] }, 4_000);
    expect(left).toEqual({ errorCode: 0, members: [{ memberId: 'a-1', groupInstanceId: null, errorCode: 0 }] });
    expect(heartbeat(c, 'b-2', 1, 4_100)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
    const rejoins = ids.slice(1).map((memberId) => join(c, joinRequest('x', { memberId }), 4_200));
    expect(rejoins.map((pending) => pending.result.leaderId)).toEqual(['b-2', 'b-2']);
    expect(rejoins[0]?.result.members.map((m) => m.memberId)).toEqual(['b-2', 'c-3']);
    expect(rejoins[1]?.result.members).toEqual([]);
  });

  it('v3 leaves a batch with per-member errors; the last member leaving empties the group', () => {
    const c = coordinator({ initialRebalanceDelayMs: 3_000 });
    stableGroupOfThree(c);
    const result = c.leaveGroup({
      groupId: GROUP,
      members: [
        { memberId: 'a-1', groupInstanceId: null }, { memberId: 'zz', groupInstanceId: null },
        { memberId: 'b-2', groupInstanceId: null }, { memberId: 'c-3', groupInstanceId: null },
      ],
    }, 5_000);
    expect(result.members.map((m) => m.errorCode)).toEqual([0, KAFKA_ERROR.UNKNOWN_MEMBER_ID, 0, 0]);
    expect(c.group(GROUP)).toMatchObject({ state: 'Empty', generationId: 2, leaderId: null, memberIds: [] });
    const unknown = c.leaveGroup({ groupId: 'none', members: [{ memberId: 'a', groupInstanceId: null }] }, 0);
    expect(unknown.members[0]?.errorCode).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('v0-2 carry the one member\'s error at the top level; v3 keeps it per member', () => {
    const c = coordinator();
    const unknown = c.leaveGroup({ groupId: GROUP, members: [{ memberId: 'zz', groupInstanceId: null }] }, 0);
    expect([0, 1, 2].map((version) => leaveGroupTopLevelError(unknown, version)))
      .toEqual([KAFKA_ERROR.UNKNOWN_MEMBER_ID, KAFKA_ERROR.UNKNOWN_MEMBER_ID, KAFKA_ERROR.UNKNOWN_MEMBER_ID]);
    expect(leaveGroupTopLevelError(unknown, 3)).toBe(KAFKA_ERROR.NONE);
    const a = stableGroupOfOne(c);
    const left = c.leaveGroup({ groupId: GROUP, members: [{ memberId: a, groupInstanceId: null }] }, 0);
    expect(leaveGroupTopLevelError(left, 1)).toBe(KAFKA_ERROR.NONE);
  });

  it('a member leaving while its join is held gets UNKNOWN_MEMBER_ID on that join', () => {
    const c = coordinator({ initialRebalanceDelayMs: 1_000 });
    const a = join(c, joinRequest('a'), 0);
    const b = join(c, joinRequest('b'), 0);
    c.leaveGroup({ groupId: GROUP, members: [{ memberId: 'a-1', groupInstanceId: null }] }, 10);
    expect(a.result.errorCode).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    c.tick(1_000);
    expect(b.result).toMatchObject({ errorCode: 0, leaderId: 'b-2', generationId: 1 });
  });
});

describe('offset commit checks', () => {
  const check = (c: GroupCoordinator, memberId: string, generationId: number, groupId = GROUP): number =>
    c.validateOffsetCommit({ groupId, memberId, generationId, groupInstanceId: null }, 0);

  it('simple commits only while the group is Empty or unknown', () => {
    const c = coordinator();
    expect(check(c, '', -1, 'simple')).toBe(KAFKA_ERROR.NONE);
    expect(c.listGroups()).toEqual([{ groupId: 'simple', protocolType: '', state: 'Empty' }]);
    expect(check(c, '', -1, 'simple')).toBe(KAFKA_ERROR.NONE);
    expect(check(c, 'x', 4, 'unknown-group')).toBe(KAFKA_ERROR.ILLEGAL_GENERATION);
    expect(check(c, '', -1, '')).toBe(KAFKA_ERROR.INVALID_GROUP_ID);
    const a = stableGroupOfOne(c);
    expect(check(c, '', -1)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    expect(check(c, a, 1)).toBe(KAFKA_ERROR.NONE);
    expect(check(c, a, 0)).toBe(KAFKA_ERROR.ILLEGAL_GENERATION);
    expect(check(c, 'zz', 1)).toBe(KAFKA_ERROR.UNKNOWN_MEMBER_ID);
  });

  it('REBALANCE_IN_PROGRESS while the group waits for assignments', () => {
    const c = coordinator();
    const a = join(c, joinRequest('a'), 0).result.memberId; // CompletingRebalance
    expect(check(c, a, 1)).toBe(KAFKA_ERROR.REBALANCE_IN_PROGRESS);
  });
});

describe('views and deletion', () => {
  it('describes and lists groups with Kafka state strings', () => {
    const c = coordinator();
    const a = join(c, joinRequest('a'), 0).result.memberId;
    expect(c.describeGroups([GROUP])[0]).toMatchObject({ state: 'CompletingRebalance', protocolName: '' });
    sync(c, a, 1, 0, { [a]: 'p' });
    const [described, missing, offsetsOnly] = c.describeGroups([GROUP, 'missing', 'old'], new Set(['old']));
    expect(described).toMatchObject({
      errorCode: 0, groupId: GROUP, state: 'Stable', protocolType: 'consumer', protocolName: 'range',
    });
    expect(described?.members.map((m) => [m.memberId, m.clientId, m.clientHost, text(m.assignment)]))
      .toEqual([['a-1', 'a', '/127.0.0.1', 'p']]);
    expect(missing).toMatchObject({ errorCode: 0, state: 'Dead', members: [] });
    expect(offsetsOnly).toMatchObject({ state: 'Empty' });
    expect(c.listGroups(['old'])).toEqual([
      { groupId: GROUP, protocolType: 'consumer', state: 'Stable' },
      { groupId: 'old', protocolType: '', state: 'Empty' },
    ]);
  });

  it('deletes only Empty groups: 68 with members, 69 when unknown', () => {
    const c = coordinator();
    stableGroupOfOne(c);
    check(c);
    function check(co: GroupCoordinator): void {
      co.validateOffsetCommit({ groupId: 'idle', memberId: '', generationId: -1, groupInstanceId: null }, 0);
    }
    const results = c.deleteGroups([GROUP, 'idle', 'nope', 'offsets-only'], new Set(['offsets-only']));
    expect(results.map((r) => r.errorCode)).toEqual([
      KAFKA_ERROR.NON_EMPTY_GROUP, KAFKA_ERROR.NONE, KAFKA_ERROR.GROUP_ID_NOT_FOUND, KAFKA_ERROR.NONE,
    ]);
    expect(c.group('idle')).toBeUndefined();
    expect(c.group(GROUP)?.state).toBe('Stable');
  });
});

describe('bounds, static members, resign', () => {
  it('refuses a member past the group size with GROUP_MAX_SIZE_REACHED (81), parked ids included', () => {
    const c = coordinator({ groupMemberCountMax: 2, initialRebalanceDelayMs: 100 });
    join(c, joinRequest('a'), 0);
    join(c, joinRequest('b', { apiVersion: 4 }), 0); // parked
    expect(join(c, joinRequest('c'), 0).result.errorCode).toBe(KAFKA_ERROR.GROUP_MAX_SIZE_REACHED);
  });

  it('a static member rejoining with a new id fences the old id (82)', () => {
    const c = coordinator();
    const first = join(c, joinRequest('s', { apiVersion: 5, groupInstanceId: 'host-1' }), 0).result;
    sync(c, first.memberId, 1, 0, { [first.memberId]: 'p' });
    const second = join(c, joinRequest('s', { apiVersion: 5, groupInstanceId: 'host-1' }), 100).result;
    expect(second).toMatchObject({ errorCode: 0, memberId: 's-2', generationId: 2 });
    expect(c.group(GROUP)?.memberIds).toEqual(['s-2']);
    const stale = { groupId: GROUP, memberId: first.memberId, generationId: 2, groupInstanceId: 'host-1' };
    expect(c.heartbeat(stale, 200)).toBe(KAFKA_ERROR.FENCED_INSTANCE_ID);
    const left = c.leaveGroup({ groupId: GROUP, members: [{ memberId: '', groupInstanceId: 'host-1' }] }, 300);
    expect(left.members[0]?.errorCode).toBe(0);
    expect(c.group(GROUP)?.state).toBe('Empty');
  });

  it('resign of some groups answers only their held replies and keeps the others', () => {
    const c = coordinator({ initialRebalanceDelayMs: 1_000 });
    const kept = join(c, joinRequest('a', { groupId: 'kept' }), 0);
    const moved = join(c, joinRequest('b', { groupId: 'moved' }), 0);
    c.resign((groupId) => groupId === 'moved');
    expect(moved.result.errorCode).toBe(KAFKA_ERROR.NOT_COORDINATOR);
    expect(kept.calls).toBe(0);
    expect(c.group('moved')).toBeUndefined();
    c.tick(1_000);
    expect(kept.result).toMatchObject({ errorCode: 0, generationId: 1 });
  });

  it('resign answers every held reply with NOT_COORDINATOR and forgets the groups', () => {
    const c = coordinator({ initialRebalanceDelayMs: 1_000 });
    const held = [join(c, joinRequest('a'), 0), join(c, joinRequest('b'), 0)];
    expect(c.hasPendingReplies()).toBe(true);
    c.resign();
    expect(held.map((pending) => pending.result.errorCode))
      .toEqual([KAFKA_ERROR.NOT_COORDINATOR, KAFKA_ERROR.NOT_COORDINATOR]);
    expect(c.hasPendingReplies()).toBe(false);
    expect(c.groupCount()).toBe(0);
  });

  it('delivers replies after the state settles, even when a reply calls back in', () => {
    const c = coordinator();
    const seen: string[] = [];
    c.joinGroup(joinRequest('a'), 0, (result) => {
      seen.push(`join ${result.generationId} ${c.group(GROUP)?.state}`);
      c.syncGroup({
        groupId: GROUP, memberId: result.memberId, generationId: result.generationId, groupInstanceId: null,
        assignments: [{ memberId: result.memberId, assignment: bytes('p') }],
      }, 0, (synced) => seen.push(`sync ${text(synced.assignment)} ${c.group(GROUP)?.state}`));
    });
    expect(seen).toEqual(['join 1 CompletingRebalance', 'sync p Stable']);
  });
});
