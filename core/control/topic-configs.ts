/**
 * Per-topic configs: the keys x2 knows, their defaults, and the validation that turns a bad
 * value into Kafka's INVALID_CONFIG (40) with a message naming the key, the value and what is
 * allowed. Configs are strings on the wire (Kafka's model); they are stored as the client sent
 * them once valid, and DescribeConfigs answers with the stored value or the cluster default.
 *
 * Only keys x2 honours are accepted. Kafka keys that would be a promise x2 does not keep are
 * refused rather than silently ignored: cleanup.policy=compact (x2 never compacts),
 * compression.type other than "producer" (batches are stored as the producer sent them), and
 * segment.* (a commit writes one fat file for all streams, there are no per-topic segments).
 * Where each accepted key is kept: retention.* by the controller gateway's retention check,
 * max.message.bytes and message.timestamp.type (LogAppendTime stamping) and min.insync.replicas
 * (above the write quorum: NOT_ENOUGH_REPLICAS) by the gateway's Produce.
 */
import { X2Error } from '../base/errors.ts';

export type TopicConfigs = Readonly<Record<string, string>>;

type ConfigSpec =
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'choice'; readonly allowed: readonly string[] };

const INT32_MAX = 2 ** 31 - 1;
const LONG_SAFE_MAX = Number.MAX_SAFE_INTEGER;

export const TOPIC_CONFIG_SPECS: Readonly<Record<string, ConfigSpec>> = {
  'retention.ms': { type: 'integer', min: -1, max: LONG_SAFE_MAX },
  'retention.bytes': { type: 'integer', min: -1, max: LONG_SAFE_MAX },
  'max.message.bytes': { type: 'integer', min: 0, max: INT32_MAX },
  'min.insync.replicas': { type: 'integer', min: 1, max: INT32_MAX },
  'cleanup.policy': { type: 'choice', allowed: ['delete'] },
  'message.timestamp.type': { type: 'choice', allowed: ['CreateTime', 'LogAppendTime'] },
  'compression.type': { type: 'choice', allowed: ['producer'] },
};

/** Kafka's defaults (retention 7 days, unbounded bytes, 1 MiB + record overhead messages). */
export const TOPIC_CONFIG_DEFAULTS: TopicConfigs = {
  'retention.ms': '604800000',
  'retention.bytes': '-1',
  'max.message.bytes': '1048588',
  'min.insync.replicas': '1',
  'cleanup.policy': 'delete',
  'message.timestamp.type': 'CreateTime',
  'compression.type': 'producer',
};

/**
 * The broker config each topic config falls back to, as DescribeConfigs names it in a topic
 * config's synonyms (Kafka's LogConfig.TopicConfigSynonyms), and whether Kafka lists that broker
 * config's default there. retention.ms falls back to log.retention.ms, which has no default of its
 * own (the 7 days come from log.retention.hours, which Kafka leaves out), so it lists none.
 */
export const BROKER_SYNONYMS: Readonly<Record<string, { readonly name: string; readonly listsDefault: boolean }>> = {
  'retention.ms': { name: 'log.retention.ms', listsDefault: false },
  'retention.bytes': { name: 'log.retention.bytes', listsDefault: true },
  'max.message.bytes': { name: 'message.max.bytes', listsDefault: true },
  'min.insync.replicas': { name: 'min.insync.replicas', listsDefault: true },
  'cleanup.policy': { name: 'log.cleanup.policy', listsDefault: true },
  'message.timestamp.type': { name: 'log.message.timestamp.type', listsDefault: true },
  'compression.type': { name: 'compression.type', listsDefault: true },
};

/** Kafka's DescribeConfigs config_source values that x2 reports. */
export const CONFIG_SOURCE = { topic: 1, default: 5 } as const;

/** Why `value` is not acceptable for config `name`, or null when it is. */
export function topicConfigProblem(name: string, value: string | null): string | null {
  const spec = TOPIC_CONFIG_SPECS[name];
  if (spec === undefined) {
    const known = Object.keys(TOPIC_CONFIG_SPECS).join(', ');
    return `unknown or unsupported topic config "${name}"; x2 knows ${known}`;
  }
  if (value === null) return `${name}: a value is required (got null)`;
  if (spec.type === 'choice') {
    if (spec.allowed.includes(value)) return null;
    return `${name}: "${value}" is not supported, allowed: ${spec.allowed.join(', ')}`;
  }
  const number = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < spec.min || number > spec.max) {
    return `${name}: "${value}" is not an integer in [${spec.min}, ${spec.max}]`;
  }
  return null;
}

/** The first problem among `configs`, or null when all are valid. */
export function topicConfigsProblem(configs: Readonly<Record<string, string | null>>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const problem = topicConfigProblem(name, value);
    if (problem !== null) return problem;
  }
  return null;
}

/** Cluster defaults = Kafka's defaults overridden by `overrides`; a bad override is a usage error. */
export function resolveConfigDefaults(overrides: TopicConfigs = {}): TopicConfigs {
  const problem = topicConfigsProblem(overrides);
  if (problem !== null) throw new X2Error('X2_ERR_USAGE', `topic config default: ${problem}`);
  return { ...TOPIC_CONFIG_DEFAULTS, ...overrides };
}
