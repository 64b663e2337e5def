// Goal: whatever members do and whenever time moves, the group coordinator keeps its
// invariants: at most one leader per generation, and it is a member; only the leader's join
// reply lists members; every member of a Stable group holds the assignment its leader made for
// the current generation; the generation never decreases; no reply is delivered twice; and
// once time has moved past every deadline, no reply is still held (none leaked).
// Method: fast-check generates sequences of join/sync/heartbeat/leave/commit/tick actions for 4
// simulated clients (each with its own JoinGroup version 0-5, session and rebalance timeouts,
// sometimes sending a stale generation or a forgotten member id); clients react to replies the
// way real ones do (keep the id from 79, drop it on 25). The leader assigns `<gen>:<member>`
// to every member its join reply listed. The fast-check seed comes from testSeed (X2_SEED).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../../test/harness/seed.ts';
import { KAFKA_ERROR } from '../../control/kafka-error-codes.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import type { JoinGroupResult, SyncGroupResult } from './group-types.ts';

const GROUP = 'model';
const CLIENT_COUNT = 4;
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);

interface Client {
  readonly clientId: string;
  readonly protocols: readonly string[];
  readonly apiVersion: number;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  memberId: string;
  generationId: number;
  /** The member list of this client's last join reply, when it was the leader. */
  leaderOf: { generationId: number; memberIds: string[] } | null;
  /** Whether it holds an assignment for its generation (a real client then only heartbeats). */
  synced: boolean;
  joinInFlight: boolean;
  syncInFlight: boolean;
}

type Action =
  | { type: 'react' | 'join' | 'sync' | 'heartbeat' | 'leave' | 'commit'; client: number; stale: boolean }
  | { type: 'tick'; advanceMs: number };

const memberAction = (types: ReadonlyArray<'react' | 'join' | 'sync' | 'heartbeat' | 'leave' | 'commit'>) =>
  fc.record({
    type: fc.constantFrom(...types),
    client: fc.integer({ min: 0, max: CLIENT_COUNT - 1 }),
    // stale: an old generation, or a retry while the first request is still held.
    stale: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  }) as fc.Arbitrary<Action>;

const tickAction = (advanceMsMax: number): fc.Arbitrary<Action> =>
  fc.record({ type: fc.constant('tick' as const), advanceMs: fc.integer({ min: 0, max: advanceMsMax }) });

const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  // 'react': the client does what a real one does next (join, sync, heartbeat, rejoin on 27).
  { arbitrary: memberAction(['react']), weight: 24 },
  { arbitrary: memberAction(['join', 'sync', 'heartbeat', 'leave', 'commit']), weight: 2 },
  { arbitrary: tickAction(1_000), weight: 3 },
  { arbitrary: tickAction(40_000), weight: 1 },
);

interface ClientSetting {
  apiVersion: number; sessionTimeoutMs: number; rebalanceTimeoutMs: number; protocols: readonly string[];
}

const clientArbitrary: fc.Arbitrary<ClientSetting> = fc.record({
  apiVersion: fc.integer({ min: 0, max: 5 }),
  sessionTimeoutMs: fc.integer({ min: 5_000, max: 30_000 }),
  rebalanceTimeoutMs: fc.integer({ min: 1_000, max: 60_000 }),
  // Mostly compatible lists; a roundrobin-only client cannot join a group with a range-only one.
  protocols: fc.oneof(
    { arbitrary: fc.constantFrom(['range'], ['range', 'roundrobin'], ['roundrobin', 'range']), weight: 9 },
    { arbitrary: fc.constant(['roundrobin']), weight: 1 },
  ),
});

class Model {
  readonly coordinator: GroupCoordinator;
  readonly clients: Client[];
  nowMs = 0;
  issued = 0;
  delivered = 0;
  generationSeen = 0;
  /** The leader and members of the last completed generation, to check leader continuity. */
  lastCompleted: { generationId: number; leaderId: string | null; memberIds: readonly string[] } | null = null;
  /** generation -> leaderId reported by successful join replies */
  readonly leaders = new Map<number, string>();
  /** generation -> member ids of join replies that carried a member list */
  readonly listedBy = new Map<number, Set<string>>();

  constructor(initialRebalanceDelayMs: number, settings: readonly ClientSetting[]) {
    let n = 0;
    this.coordinator = new GroupCoordinator({
      initialRebalanceDelayMs, newMemberId: (clientId) => `${clientId}-${++n}`,
    });
    this.clients = settings.map((setting, i) => ({
      clientId: `c${i}`, ...setting, rebalanceTimeoutMs: setting.apiVersion === 0 ? -1 : setting.rebalanceTimeoutMs,
      memberId: '', generationId: -1, leaderOf: null, synced: false, joinInFlight: false, syncInFlight: false,
    }));
  }

  /** A reply wrapper that counts and fails on a second delivery. */
  once<T>(handle: (result: T) => void): (result: T) => void {
    this.issued += 1;
    let calls = 0;
    return (result) => {
      calls += 1;
      expect(calls, 'a reply was delivered twice').toBe(1);
      this.delivered += 1;
      handle(result);
    };
  }

  run(action: Action): void {
    if (action.type === 'tick') {
      this.nowMs += action.advanceMs;
      this.coordinator.tick(this.nowMs);
      return;
    }
    const client = this.clients[action.client];
    if (client === undefined) throw new Error('no such client');
    const generationId = action.stale ? client.generationId - 1 : client.generationId;
    const identity = { groupId: GROUP, memberId: client.memberId, generationId, groupInstanceId: null };
    switch (action.type) {
      case 'react': return this.react(client);
      // stale: a client that timed out locally and retries while its first request is held.
      case 'join': return this.join(client, action.stale);
      case 'sync': return this.sync(client, generationId, action.stale);
      case 'heartbeat': {
        this.onHeartbeat(client, this.coordinator.heartbeat(identity, this.nowMs));
        return;
      }
      case 'commit':
        this.coordinator.validateOffsetCommit(identity, this.nowMs);
        return;
      case 'leave':
        this.coordinator.leaveGroup({ groupId: GROUP, members: [{ memberId: client.memberId, groupInstanceId: null }] },
          this.nowMs);
        client.memberId = '';
        client.generationId = -1;
    }
  }

  react(client: Client): void {
    if (client.joinInFlight || client.syncInFlight) return;
    if (client.memberId === '' || client.generationId < 0) return this.join(client, false);
    if (!client.synced) return this.sync(client, client.generationId, false);
    const identity = {
      groupId: GROUP, memberId: client.memberId, generationId: client.generationId, groupInstanceId: null,
    };
    this.onHeartbeat(client, this.coordinator.heartbeat(identity, this.nowMs));
  }

  onHeartbeat(client: Client, errorCode: number): void {
    if (errorCode === KAFKA_ERROR.UNKNOWN_MEMBER_ID) client.memberId = '';
    if (errorCode !== KAFKA_ERROR.NONE) client.generationId = -1; // rejoin on the next react
  }

  join(client: Client, retry: boolean): void {
    if (client.joinInFlight && !retry) return;
    client.joinInFlight = true;
    this.coordinator.joinGroup({
      apiVersion: client.apiVersion, groupId: GROUP, memberId: client.memberId, groupInstanceId: null,
      clientId: client.clientId, clientHost: '/10.0.0.1', sessionTimeoutMs: client.sessionTimeoutMs,
      rebalanceTimeoutMs: client.rebalanceTimeoutMs, protocolType: 'consumer',
      protocols: client.protocols.map((name) => ({ name, metadata: bytes(`${name}:${client.clientId}`) })),
    }, this.nowMs, this.once((result: JoinGroupResult) => this.onJoined(client, result)));
  }

  onJoined(client: Client, result: JoinGroupResult): void {
    client.joinInFlight = false;
    if (result.errorCode === KAFKA_ERROR.MEMBER_ID_REQUIRED) {
      expect(client.apiVersion).toBeGreaterThanOrEqual(4);
      client.memberId = result.memberId;
      return;
    }
    if (result.errorCode === KAFKA_ERROR.UNKNOWN_MEMBER_ID) client.memberId = '';
    if (result.errorCode !== KAFKA_ERROR.NONE) return;
    const leader = this.leaders.get(result.generationId) ?? result.leaderId;
    expect(result.leaderId, `generation ${result.generationId} has two leaders`).toBe(leader);
    this.leaders.set(result.generationId, leader);
    if (result.members.length > 0) {
      expect(result.memberId, 'a follower got the member list').toBe(result.leaderId);
      const listed = this.listedBy.get(result.generationId) ?? new Set<string>();
      listed.add(result.memberId);
      expect(listed.size, 'two member lists in one generation').toBe(1);
      this.listedBy.set(result.generationId, listed);
      expect(result.members.map((m) => m.memberId)).toContain(result.leaderId);
      for (const member of result.members) {
        expect(text(member.metadata).startsWith(`${result.protocolName}:`), 'metadata of another protocol').toBe(true);
      }
    }
    client.memberId = result.memberId;
    client.generationId = result.generationId;
    client.synced = false;
    client.leaderOf = result.members.length === 0 ? null
      : { generationId: result.generationId, memberIds: result.members.map((m) => m.memberId) };
  }

  sync(client: Client, generationId: number, retry: boolean): void {
    if (client.syncInFlight && !retry) return;
    client.syncInFlight = true;
    const leaderOf = client.leaderOf?.generationId === generationId ? client.leaderOf : null;
    const assignments = (leaderOf?.memberIds ?? [])
      .map((memberId) => ({ memberId, assignment: bytes(`${generationId}:${memberId}`) }));
    const request = { groupId: GROUP, memberId: client.memberId, generationId, groupInstanceId: null, assignments };
    this.coordinator.syncGroup(request, this.nowMs, this.once((result: SyncGroupResult) => {
        client.syncInFlight = false;
        if (result.errorCode === KAFKA_ERROR.UNKNOWN_MEMBER_ID) client.memberId = '';
        if (result.errorCode !== KAFKA_ERROR.NONE) {
          client.generationId = -1;
          return;
        }
        client.synced = generationId === client.generationId;
        const got = text(result.assignment);
        expect(got === '' || got === `${generationId}:${client.memberId}`, `assignment ${got}`).toBe(true);
      }));
  }

  checkInvariants(): void {
    const view = this.coordinator.group(GROUP);
    if (view === undefined) return;
    expect(view.generationId).toBeGreaterThanOrEqual(this.generationSeen);
    this.generationSeen = view.generationId;
    const settled = view.state === 'CompletingRebalance' || view.state === 'Stable';
    if (settled) {
      expect(view.leaderId !== null && view.memberIds.includes(view.leaderId), 'leader is not a member').toBe(true);
      const last = this.lastCompleted;
      if (last !== null && last.generationId < view.generationId && last.leaderId !== null
        && view.memberIds.includes(last.leaderId)) {
        expect(view.leaderId, 'a leader that stayed lost its leadership').toBe(last.leaderId);
      }
      this.lastCompleted = { generationId: view.generationId, leaderId: view.leaderId, memberIds: view.memberIds };
    }
    if (view.state === 'Stable') {
      for (const memberId of view.memberIds) {
        expect(text(view.assignments.get(memberId) ?? new Uint8Array()), `assignment of ${memberId}`)
          .toBe(`${view.generationId}:${memberId}`);
      }
    }
    if (view.state === 'Empty') expect(view.memberIds).toEqual([]);
    if (settled) {
      // The chosen protocol is one every member lists.
      const byMember = new Map(this.clients.map((client) => [client.memberId, client.protocols]));
      for (const memberId of view.memberIds) {
        const listed = byMember.get(memberId);
        if (listed !== undefined) expect(listed).toContain(view.protocolName);
      }
    }
  }
}

describe('group coordinator model', () => {
  it('keeps its invariants under random member behaviour and time', () => {
    const seed = testSeed('group coordinator model');
    const stats = { stable: 0, generations: 0 };
    fc.assert(fc.property(
      fc.constantFrom(0, 3_000),
      fc.array(clientArbitrary, { minLength: CLIENT_COUNT, maxLength: CLIENT_COUNT }),
      fc.array(actionArbitrary, { minLength: 100, maxLength: 400, size: 'max' }),
      (delayMs, settings, actions) => {
        const model = new Model(delayMs, settings);
        for (const action of actions) {
          model.run(action);
          model.checkInvariants();
          if (model.coordinator.group(GROUP)?.state === 'Stable') stats.stable += 1;
        }
        // Past every deadline nothing may still be held: each reply was delivered exactly once.
        for (let i = 0; i < 4; i++) {
          model.nowMs += 200_000;
          model.coordinator.tick(model.nowMs);
          model.checkInvariants();
        }
        expect(model.coordinator.hasPendingReplies()).toBe(false);
        expect(model.delivered).toBe(model.issued);
        stats.generations += model.generationSeen;
      },
    ), { seed, numRuns: 300 });
    // The generated runs must reach the interesting states, or the invariants prove little.
    expect(stats.stable).toBeGreaterThan(1_000);
    expect(stats.generations).toBeGreaterThan(1_000);
  });

  it('long seeded runs with well-behaved clients reach Stable again and again', () => {
    const random = prng(testSeed('group coordinator long run'));
    const settings = Array.from({ length: CLIENT_COUNT }, (_, i) => ({
      apiVersion: [0, 2, 4, 5][i] ?? 5, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000,
      protocols: i % 2 === 0 ? ['range', 'roundrobin'] : ['roundrobin', 'range'],
    }));
    const model = new Model(0, settings);
    let stableSteps = 0;
    for (let step = 0; step < 20_000; step++) {
      const client = Math.floor(random() * CLIENT_COUNT);
      const roll = random();
      const action: Action = roll < 0.85 ? { type: 'react', client, stale: false }
        : roll < 0.86 ? { type: 'leave', client, stale: false }
          : { type: 'tick', advanceMs: Math.floor(random() * 3_000) };
      model.run(action);
      model.checkInvariants();
      if (model.coordinator.group(GROUP)?.state === 'Stable') stableSteps += 1;
    }
    model.coordinator.tick(model.nowMs + 1_000_000);
    expect(model.coordinator.hasPendingReplies()).toBe(false);
    expect(model.delivered).toBe(model.issued);
    expect(stableSteps).toBeGreaterThan(1_000);
  });
});
