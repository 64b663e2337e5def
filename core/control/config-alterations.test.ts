// Goal: AlterConfigs replaces a topic's whole set of configs and IncrementalAlterConfigs applies
// one operation per config, each refused with the Kafka error a client expects.
// Method: plan through ControlState, apply the record as a gateway would, and read the topic's
// configs back; refusals are checked by code and message.
import { describe, expect, it } from 'vitest';
import { CONFIG_OPERATION } from './config-alterations.ts';
import { ControlState, type PlanResult } from './control-state.ts';
import { KAFKA_ERROR } from './kafka-error-codes.ts';

const { set, delete: remove, append, subtract } = CONFIG_OPERATION;

function withTopic(configs: Record<string, string>): ControlState {
  const state = new ControlState();
  apply(state, state.planCreateTopic({ topic: 't', partitionCount: 1, replicationFactor: -1, configs },
    { commitCount: 1 }));
  return state;
}

function apply(state: ControlState, plan: PlanResult): void {
  if (!plan.ok) throw new Error(`plan refused: ${plan.errorMessage}`);
  expect(state.apply(plan.record)).toEqual({ ok: true });
}

function refusal(plan: PlanResult): [number, string] | null {
  return plan.ok ? null : [plan.errorCode, plan.errorMessage];
}

describe('AlterConfigs (planReplaceConfigs)', () => {
  it('sets what it names and puts every other config back to its default', () => {
    const state = withTopic({ 'retention.ms': '5', 'retention.bytes': '9' });
    apply(state, state.planReplaceConfigs('t', [{ name: 'retention.ms', value: '60000' },
      { name: 'max.message.bytes', value: '2048' }]));
    expect(state.topic('t')?.configs).toEqual({ 'retention.ms': '60000', 'max.message.bytes': '2048' });
    expect(state.configOf('t', 'retention.bytes')).toBe('-1');
    apply(state, state.planReplaceConfigs('t', []));
    expect(state.topic('t')?.configs).toEqual({});
  });

  it('leaves exactly its keys, also when another gateway set one between the plan and the apply', () => {
    const state = withTopic({ 'retention.ms': '5' });
    const replace = state.planReplaceConfigs('t', [{ name: 'retention.ms', value: '60000' }]);
    // Another gateway's change is sequenced first; the replace, applied after it, still wins whole.
    apply(state, state.planIncrementalAlterConfigs('t',
      [{ name: 'retention.bytes', value: '7', configOperation: set }]));
    apply(state, replace);
    expect(state.topic('t')?.configs).toEqual({ 'retention.ms': '60000' });
  });

  it('refuses a key named twice or a null value (42) before looking at the topic', () => {
    const state = withTopic({});
    expect(refusal(state.planReplaceConfigs('nope', [{ name: 'retention.ms', value: '1' },
      { name: 'retention.ms', value: '2' }])))
      .toEqual([KAFKA_ERROR.INVALID_REQUEST, 'config "retention.ms" is named more than once']);
    expect(refusal(state.planReplaceConfigs('t', [{ name: 'retention.ms', value: null }])))
      .toEqual([KAFKA_ERROR.INVALID_REQUEST,
        'config "retention.ms" has a null value; leave it out to put it back to its default']);
  });

  it('refuses unknown topics (3), internal topics (17) and bad values (40), changing nothing', () => {
    const state = withTopic({ 'retention.ms': '5' });
    expect(refusal(state.planReplaceConfigs('u', []))?.[0]).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    expect(refusal(state.planReplaceConfigs('__consumer_offsets', []))?.[0]).toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(refusal(state.planReplaceConfigs('t', [{ name: 'retention.ms', value: 'soon' }])))
      .toEqual([KAFKA_ERROR.INVALID_CONFIG, 'retention.ms: "soon" is not an integer in [-1, 9007199254740991]']);
    expect(refusal(state.planReplaceConfigs('t', [{ name: 'segment.ms', value: '1' }]))?.[0])
      .toBe(KAFKA_ERROR.INVALID_CONFIG);
    expect(state.topic('t')?.configs).toEqual({ 'retention.ms': '5' });
  });
});

describe('IncrementalAlterConfigs (planIncrementalAlterConfigs)', () => {
  it('sets and deletes only the configs it names', () => {
    const state = withTopic({ 'retention.ms': '5', 'retention.bytes': '9' });
    apply(state, state.planIncrementalAlterConfigs('t', [
      { name: 'max.message.bytes', configOperation: set, value: '2048' },
      { name: 'retention.ms', configOperation: remove, value: null },
    ]));
    expect(state.topic('t')?.configs).toEqual({ 'retention.bytes': '9', 'max.message.bytes': '2048' });
  });

  it('appends to and subtracts from cleanup.policy as a list, then validates what is left', () => {
    const state = withTopic({});
    apply(state, state.planIncrementalAlterConfigs('t', [{ name: 'cleanup.policy', configOperation: append,
      value: 'delete' }]));
    expect(state.topic('t')?.configs).toEqual({ 'cleanup.policy': 'delete' });
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'cleanup.policy', configOperation: append,
      value: 'compact' }]))).toEqual([KAFKA_ERROR.INVALID_CONFIG,
      'cleanup.policy: "delete,compact" is not supported, allowed: delete']);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'cleanup.policy', configOperation: subtract,
      value: 'delete' }]))).toEqual([KAFKA_ERROR.INVALID_CONFIG,
      'cleanup.policy: "" is not supported, allowed: delete']);
  });

  it('refuses append and subtract on a config that is not a list (40)', () => {
    const state = withTopic({});
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'retention.ms', configOperation: append,
      value: '1' }]))).toEqual([KAFKA_ERROR.INVALID_CONFIG,
      'config "retention.ms" is not a list: append applies to list-valued configs only (cleanup.policy)']);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'retention.ms', configOperation: subtract,
      value: '1' }]))?.[0]).toBe(KAFKA_ERROR.INVALID_CONFIG);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'no.such', configOperation: append,
      value: '1' }]))?.[1]).toMatch(/^unknown or unsupported topic config "no.such"/);
  });

  it('refuses a malformed request (42): a key twice, a null value to set, an unknown operation', () => {
    const state = withTopic({});
    expect(refusal(state.planIncrementalAlterConfigs('t', [
      { name: 'retention.ms', configOperation: set, value: '1' },
      { name: 'retention.ms', configOperation: remove, value: null },
    ]))).toEqual([KAFKA_ERROR.INVALID_REQUEST, 'config "retention.ms" is named more than once']);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'retention.ms', configOperation: set,
      value: null }]))).toEqual([KAFKA_ERROR.INVALID_REQUEST, 'config "retention.ms": set needs a value (got null)']);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'retention.ms', configOperation: 7,
      value: '1' }]))).toEqual([KAFKA_ERROR.INVALID_REQUEST,
      'config "retention.ms": operation 7 is unknown (0 set, 1 delete, 2 append, 3 subtract)']);
  });

  it('refuses unknown and internal topics, bad values, and deleting an unknown config', () => {
    const state = withTopic({});
    expect(refusal(state.planIncrementalAlterConfigs('u', []))?.[0]).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    expect(refusal(state.planIncrementalAlterConfigs('__x2_control', []))?.[0])
      .toBe(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'retention.ms', configOperation: set,
      value: '-2' }]))?.[0]).toBe(KAFKA_ERROR.INVALID_CONFIG);
    expect(refusal(state.planIncrementalAlterConfigs('t', [{ name: 'no.such', configOperation: remove,
      value: null }]))?.[0]).toBe(KAFKA_ERROR.INVALID_CONFIG);
  });
});
