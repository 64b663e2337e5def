// Goal: ControlState answers topics, partitions, streamIds and configs exactly as the control
// history says, refuses bad requests with the Kafka error the gateway must return, never
// reuses a streamId, and is a pure function of the records it applied.
// Method: scenario tests plan a record, apply it (as the gateway will after the river returns
// it) and query; a seeded random history (plans from several simulated gateways, some stale,
// applied in one order) is replayed from its encoded bytes into a fresh state, and both states
// must agree on everything; streamIds ever handed out are checked to be unique.
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { encodeControlRecord, type ControlRecord } from './control-records.ts';
import { ControlState, type CreateTopicRequest, type PlanResult } from './control-state.ts';
import { KAFKA_ERROR } from './kafka-error-codes.ts';
import { FIRST_USER_STREAM_ID, parseSidecarTopicName, sidecarTopicName } from './topic-name.ts';

const CLUSTER = { commitCount: 2 };

function create(topic: string, partitionCount = 3, extra: Partial<CreateTopicRequest> = {}): CreateTopicRequest {
  return { topic, partitionCount, replicationFactor: -1, configs: {}, ...extra };
}

function applied(state: ControlState, plan: PlanResult): ControlRecord {
  if (!plan.ok) throw new Error(`plan refused: ${plan.errorMessage}`);
  expect(state.apply(plan.record)).toEqual({ ok: true });
  return plan.record;
}

function errorOf(plan: PlanResult): number {
  return plan.ok ? KAFKA_ERROR.NONE : plan.errorCode;
}

describe('ControlState', () => {
  it('starts with the internal topics at fixed streamIds', () => {
    const state = new ControlState();
    expect(state.topicNames()).toEqual(['__consumer_offsets', '__x2_control', '__x2_metrics']);
    expect(state.topicNames({ includeInternal: false })).toEqual([]);
    expect(state.streamIdOf('__x2_control', 0)).toBe(1);
    expect(state.streamIdOf('__consumer_offsets', 0)).toBe(2);
    expect(state.streamIdOf('__x2_metrics', 0)).toBe(3);
    expect(state.partitionOf(2)).toEqual({ topic: '__consumer_offsets', partition: 0 });
    expect(state.nextStreamId).toBe(FIRST_USER_STREAM_ID);
  });

  it('creates a topic: partitions map to fresh streamIds both ways', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('trades', 3), CLUSTER));
    expect(state.topic('trades')?.streamIds).toEqual([1024, 1025, 1026]);
    expect(state.topic('trades')?.topicId).toBe(1024);
    expect(state.streamIdOf('trades', 2)).toBe(1026);
    expect(state.streamIdOf('trades', 3)).toBeUndefined();
    expect(state.partitionOf(1025)).toEqual({ topic: 'trades', partition: 1 });
    expect(state.nextStreamId).toBe(1027);
  });

  it('uses the default partition count for -1 (auto-create)', () => {
    const state = new ControlState({ partitionCountDefault: 4 });
    applied(state, state.planCreateTopic(create('auto', -1), CLUSTER));
    expect(state.topic('auto')?.streamIds).toHaveLength(4);
  });

  it('refuses bad topic names with INVALID_TOPIC_EXCEPTION (17)', () => {
    const state = new ControlState();
    for (const name of ['', '.', '..', 'a'.repeat(250), 'bad name', 'bad/name', 'ünï', '__x2_mine']) {
      const plan = state.planCreateTopic(create(name), CLUSTER);
      expect(errorOf(plan), name).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    }
    expect(errorOf(state.planCreateTopic(create('a'.repeat(249)), CLUSTER))).toBe(KAFKA_ERROR.NONE);
    expect(errorOf(state.planCreateTopic(create('A-z_0.9'), CLUSTER))).toBe(KAFKA_ERROR.NONE);
    const plan = state.planCreateTopic(create('bad name'), CLUSTER);
    expect(plan.ok ? '' : plan.errorMessage).toBe('topic name "bad name" has characters outside [a-zA-Z0-9._-]');
  });

  it('refuses a name that collides with an existing one in metric names (17), as Kafka does', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('md.quotes'), CLUSTER));
    const plan = state.planCreateTopic(create('md_quotes'), CLUSTER);
    expect(plan.ok ? '' : plan.errorMessage).toMatch(/"md_quotes" collides with existing topic "md.quotes"/);
    expect(errorOf(plan)).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    const concurrent = state.planCreateTopic(create('x_y'), CLUSTER);
    applied(state, state.planCreateTopic(create('x.y'), CLUSTER));
    if (!concurrent.ok) throw new Error('plan refused');
    expect(state.apply(concurrent.record)).toMatchObject({ ok: false, errorCode: 17 });
    applied(state, state.planDeleteTopic('md.quotes'));
    expect(errorOf(state.planCreateTopic(create('md_quotes'), CLUSTER))).toBe(KAFKA_ERROR.NONE);
  });

  it('refuses an existing topic, internal ones included, with TOPIC_ALREADY_EXISTS (36)', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t'), CLUSTER));
    expect(errorOf(state.planCreateTopic(create('t'), CLUSTER))).toBe(KAFKA_ERROR.TOPIC_ALREADY_EXISTS);
    expect(errorOf(state.planCreateTopic(create('__consumer_offsets'), CLUSTER)))
      .toBe(KAFKA_ERROR.TOPIC_ALREADY_EXISTS);
    expect(errorOf(state.planCreateTopic(create('__x2_control'), CLUSTER))).toBe(KAFKA_ERROR.TOPIC_ALREADY_EXISTS);
  });

  it('refuses partition counts outside -1 and 1..10000 with INVALID_PARTITIONS (37)', () => {
    const state = new ControlState();
    for (const count of [0, -2, 10_001, 1.5]) {
      expect(errorOf(state.planCreateTopic(create('t', count), CLUSTER)), String(count))
        .toBe(KAFKA_ERROR.INVALID_PARTITIONS);
    }
    expect(errorOf(state.planCreateTopic(create('t', 10_000), CLUSTER))).toBe(KAFKA_ERROR.NONE);
  });

  it('accepts replication factor -1 or 1..commits, else INVALID_REPLICATION_FACTOR (38)', () => {
    const state = new ControlState();
    const withFactor = (replicationFactor: number): number =>
      errorOf(state.planCreateTopic(create('t', 1, { replicationFactor }), CLUSTER));
    expect([-1, 1, 2].map(withFactor)).toEqual([0, 0, 0]);
    expect([0, 3, -2].map(withFactor)).toEqual([38, 38, 38]);
    const plan = state.planCreateTopic(create('t', 1, { replicationFactor: 3 }), CLUSTER);
    expect(plan.ok ? '' : plan.errorMessage).toMatch(/use -1 or 1\.\.2 \(the number of commits\)/);
  });

  it('refuses unknown or unsupported configs and bad values with INVALID_CONFIG (40)', () => {
    const state = new ControlState();
    const withConfigs = (configs: Record<string, string | null>): PlanResult =>
      state.planCreateTopic(create('t', 1, { configs }), CLUSTER);
    const cases: Array<Record<string, string | null>> = [
      { 'segment.bytes': '1000' }, { 'retention.ms': 'soon' }, { 'retention.ms': '-2' },
      { 'cleanup.policy': 'compact' }, { 'compression.type': 'gzip' }, { 'min.insync.replicas': '0' },
      { 'message.timestamp.type': 'Now' }, { 'retention.ms': null }, { 'max.message.bytes': '2147483648' },
    ];
    for (const configs of cases) {
      expect(errorOf(withConfigs(configs)), JSON.stringify(configs)).toBe(KAFKA_ERROR.INVALID_CONFIG);
    }
    const plan = withConfigs({ 'cleanup.policy': 'compact' });
    expect(plan.ok ? '' : plan.errorMessage).toBe('cleanup.policy: "compact" is not supported, allowed: delete');
    expect(errorOf(withConfigs({ 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime' }))).toBe(0);
  });

  it('describes configs: explicit values as topic config, the rest as defaults', () => {
    const state = new ControlState({ configDefaults: { 'retention.ms': '3600000' } });
    applied(state, state.planCreateTopic(create('t', 1, { configs: { 'retention.bytes': '1000' } }), CLUSTER));
    const entries = state.describeConfigs('t') ?? [];
    expect(entries.map((entry) => entry.name)).toEqual([
      'cleanup.policy', 'compression.type', 'max.message.bytes', 'message.timestamp.type',
      'min.insync.replicas', 'retention.bytes', 'retention.ms',
    ]);
    expect(entries.find((entry) => entry.name === 'retention.bytes'))
      .toMatchObject({ value: '1000', source: 1, isDefault: false, defaultValue: '-1' });
    expect(entries.find((entry) => entry.name === 'retention.ms'))
      .toMatchObject({ value: '3600000', source: 5, isDefault: true, defaultValue: '3600000' });
    expect(state.configOf('t', 'max.message.bytes')).toBe('1048588');
    expect(state.describeConfigs('missing')).toBeUndefined();
  });

  it('refuses a bad cluster default when it is configured', () => {
    expect(() => new ControlState({ configDefaults: { 'retention.ms': 'x' } }))
      .toThrow('topic config default: retention.ms: "x" is not an integer');
    expect(() => new ControlState({ partitionCountDefault: 0 }))
      .toThrow('default partition count: 0 is not allowed, use 1..10000');
  });

  it('alters configs: set and removed, refused for unknown topics (3) and bad values (40)', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 1, { configs: { 'retention.ms': '5' } }), CLUSTER));
    applied(state, state.planAlterConfigs('t', { 'retention.bytes': '9' }, ['retention.ms']));
    expect(state.topic('t')?.configs).toEqual({ 'retention.bytes': '9' });
    expect(errorOf(state.planAlterConfigs('u', {}, []))).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    expect(errorOf(state.planAlterConfigs('t', { 'retention.ms': 'x' }, []))).toBe(KAFKA_ERROR.INVALID_CONFIG);
    expect(errorOf(state.planAlterConfigs('t', {}, ['no.such']))).toBe(KAFKA_ERROR.INVALID_CONFIG);
  });

  it('deletes a topic; recreating it gives new streamIds, the old ones stay retired', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 2), CLUSTER));
    applied(state, state.planDeleteTopic('t'));
    expect(state.topic('t')).toBeUndefined();
    expect(state.partitionOf(1024)).toBeUndefined();
    expect(errorOf(state.planDeleteTopic('t'))).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    applied(state, state.planCreateTopic(create('t', 2), CLUSTER));
    expect(state.topic('t')?.streamIds).toEqual([1026, 1027]);
    expect(errorOf(state.planDeleteTopic('__consumer_offsets'))).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
  });

  it('refuses a record planned for an earlier incarnation of the topic', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 1), CLUSTER));
    const stalePlan = state.planAlterConfigs('t', { 'retention.ms': '1' }, []);
    applied(state, state.planDeleteTopic('t'));
    applied(state, state.planCreateTopic(create('t', 1), CLUSTER));
    if (!stalePlan.ok) throw new Error('plan refused');
    expect(state.apply(stalePlan.record)).toMatchObject({ ok: false, errorCode: 3, stale: false });
    expect(state.topic('t')?.configs).toEqual({});
  });

  it('refuses the second of two concurrent creates that picked the same streamIds, as stale', () => {
    const state = new ControlState();
    const first = state.planCreateTopic(create('a', 2), CLUSTER);
    const second = state.planCreateTopic(create('b', 2), CLUSTER);
    applied(state, first);
    if (!second.ok) throw new Error('plan refused');
    expect(state.apply(second.record)).toMatchObject({ ok: false, stale: true });
    expect(state.topic('b')).toBeUndefined();
    applied(state, state.planCreateTopic(create('b', 2), CLUSTER));
    expect(state.topic('b')?.streamIds).toEqual([1026, 1027]);
  });

  it('adds partitions: only upwards, with fresh streamIds', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 2), CLUSTER));
    applied(state, state.planCreateTopic(create('u', 1), CLUSTER));
    applied(state, state.planCreatePartitions('t', 4));
    expect(state.topic('t')?.streamIds).toEqual([1024, 1025, 1027, 1028]);
    expect(state.partitionOf(1028)).toEqual({ topic: 't', partition: 3 });
    expect(errorOf(state.planCreatePartitions('t', 4))).toBe(KAFKA_ERROR.INVALID_PARTITIONS);
    expect(errorOf(state.planCreatePartitions('t', 1))).toBe(KAFKA_ERROR.INVALID_PARTITIONS);
    expect(errorOf(state.planCreatePartitions('x', 9))).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('moves the log start forward only (DeleteRecords)', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 2), CLUSTER));
    expect(state.logStartOffset(1025)).toBe(0);
    applied(state, state.planDeleteRecords('t', 1, 50));
    applied(state, state.planDeleteRecords('t', 1, 20));
    expect(state.logStartOffset(1025)).toBe(50);
    expect(state.logStartOffset(1024)).toBe(0);
    expect(errorOf(state.planDeleteRecords('t', 2, 1))).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    expect(errorOf(state.planDeleteRecords('t', 0, -1))).toBe(KAFKA_ERROR.INVALID_REQUEST);
  });

  it('creates sidecar fence topics: internal, one partition, fresh streamId, never changed by clients', () => {
    const state = new ControlState();
    applied(state, state.planCreateTopic(create('t', 2), CLUSTER));
    const name = sidecarTopicName('aapl.filter', 1025);
    expect(parseSidecarTopicName(name)).toEqual({ sidecarName: 'aapl.filter', inputStreamId: 1025 });
    applied(state, state.planCreateSidecarTopic(name));
    expect(state.topic(name)).toMatchObject({ streamIds: [1026], isInternal: true });
    expect(state.partitionOf(1026)).toEqual({ topic: name, partition: 0 });
    expect(state.topicNames({ includeInternal: false })).toEqual(['t']);
    expect(errorOf(state.planCreateSidecarTopic(name))).toBe(KAFKA_ERROR.TOPIC_ALREADY_EXISTS);
    expect(errorOf(state.planCreateSidecarTopic('__x2_sidecar.a.12'))).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(errorOf(state.planCreateSidecarTopic('plain'))).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(errorOf(state.planCreateTopic(create(sidecarTopicName('b', 1024), 1), CLUSTER)))
      .toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(errorOf(state.planDeleteTopic(name))).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(errorOf(state.planDeleteRecords(name, 0, 1))).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(state.apply({ kind: 'log-start-moved', streamId: 1026, logStartOffset: 5 }).ok).toBe(false);
    const wide = { kind: 'topic-created' as const, topic: sidecarTopicName('c', 1024), streamIds: [2000, 2001],
      configs: {} };
    expect(state.apply(wide).ok).toBe(false);
  });
});

/** Everything a query can observe, in a comparable form. */
function snapshotOf(state: ControlState): unknown {
  return {
    nextStreamId: state.nextStreamId,
    topics: state.topicNames().map((name) => ({
      view: state.topic(name),
      configs: state.describeConfigs(name),
      logStarts: state.topic(name)?.streamIds.map((streamId) => state.logStartOffset(streamId)),
      back: state.topic(name)?.streamIds.map((streamId) => state.partitionOf(streamId)),
    })),
  };
}

describe('ControlState replay', () => {
  it('replaying the encoded history gives the same state; streamIds are never reused', () => {
    const random = prng(testSeed('control-state replay'));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const live = new ControlState();
    const history: Buffer[] = [];
    const outcomes: boolean[] = [];
    const everHanded = new Set<number>();
    const names = ['a', 'b', 'c', 'd'];
    for (let step = 0; step < 400; step++) {
      // Two gateways plan from the same state; both records are ordered, the second may be stale.
      const plans = [0, 1].map(() => {
        const name = pick(names);
        switch (pick(['create', 'create', 'delete', 'grow', 'alter', 'trim'] as const)) {
          case 'create': return live.planCreateTopic(create(name, 1 + Math.floor(random() * 3)), CLUSTER);
          case 'delete': return live.planDeleteTopic(name);
          case 'grow': return live.planCreatePartitions(name, (live.topic(name)?.streamIds.length ?? 0) + 1);
          case 'alter': return live.planAlterConfigs(name, { 'retention.ms': String(step) }, []);
          case 'trim': return live.planDeleteRecords(name, 0, Math.floor(random() * 100));
        }
      });
      for (const plan of plans) {
        if (!plan.ok) continue;
        const bytes = encodeControlRecord(plan.record);
        history.push(bytes);
        const outcome = live.applyBytes(bytes);
        outcomes.push(outcome.ok);
        if (outcome.ok && 'streamIds' in plan.record) {
          for (const streamId of plan.record.streamIds) {
            expect(everHanded.has(streamId), `streamId ${streamId} reused`).toBe(false);
            everHanded.add(streamId);
          }
        }
      }
    }
    const replayed = new ControlState();
    const replayOutcomes = history.map((bytes) => replayed.applyBytes(bytes).ok);
    expect(replayOutcomes).toEqual(outcomes);
    expect(snapshotOf(replayed)).toEqual(snapshotOf(live));
    expect(outcomes.filter((ok) => !ok).length).toBeGreaterThan(0); // some concurrent plans went stale
    expect(everHanded.size).toBeGreaterThan(20);
  });
});
