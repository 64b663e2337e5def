/**
 * The records of the `__x2_control` stream (DESIGN §7): every change to the set of topics, their
 * partitions (each one a stream with a numeric streamId) and their configs. Gateways append them
 * through the sequencer like user data, so every node sees the same changes in the same order and
 * rebuilds the same ControlState by replaying them.
 *
 * A topic is identified by its name plus its topicId, the streamId of its partition 0. streamIds
 * are never reused, so the topicId also names one incarnation of a topic: a record planned for
 * a topic that was deleted and created again since carries the old topicId and is refused on
 * apply, identically on every node.
 *
 * Encoding (record-codec.ts): [version u8 = 1][kind u8][msgpack array of fields]:
 *   1 topic-created     [topic, streamIds[], configs as sorted k,v list]
 *   2 topic-deleted     [topic, topicId]
 *   3 partitions-added  [topic, topicId, streamIds[] of the new partitions, in partition order]
 *   4 configs-altered   [topic, topicId, set as sorted k,v list, removed names[]]
 *   5 log-start-moved   [streamId, logStartOffset]   (DeleteRecords)
 *   6 configs-replaced  [topic, topicId, configs as sorted k,v list]   (AlterConfigs: exactly
 *                       these keys afterwards, whatever another gateway changed since the plan)
 */
import { decodeEnvelope, encodeEnvelope, flattenStringMap, formatError } from './record-codec.ts';
import type { TopicConfigs } from './topic-configs.ts';

export const CONTROL_FORMAT_VERSION = 1;
const CONTROL_VERSIONS_KNOWN = [CONTROL_FORMAT_VERSION] as const;
const STREAM = '__x2_control';
const STREAM_ID_MAX = 0xffff_ffff; // river entries carry streamId as u32

export type ControlRecord =
  | { kind: 'topic-created'; topic: string; streamIds: readonly number[]; configs: TopicConfigs }
  | { kind: 'topic-deleted'; topic: string; topicId: number }
  | { kind: 'partitions-added'; topic: string; topicId: number; streamIds: readonly number[] }
  | {
    kind: 'configs-altered'; topic: string; topicId: number;
    set: TopicConfigs; removed: readonly string[];
  }
  | { kind: 'log-start-moved'; streamId: number; logStartOffset: number }
  | { kind: 'configs-replaced'; topic: string; topicId: number; configs: TopicConfigs };

const KIND_CODES = {
  'topic-created': 1,
  'topic-deleted': 2,
  'partitions-added': 3,
  'configs-altered': 4,
  'log-start-moved': 5,
  'configs-replaced': 6,
} as const satisfies Record<ControlRecord['kind'], number>;

export function encodeControlRecord(record: ControlRecord): Buffer {
  const code = KIND_CODES[record.kind];
  switch (record.kind) {
    case 'topic-created':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code,
        [record.topic, record.streamIds, flattenStringMap(record.configs)]);
    case 'topic-deleted':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code, [record.topic, record.topicId]);
    case 'partitions-added':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code, [record.topic, record.topicId, record.streamIds]);
    case 'configs-altered':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code,
        [record.topic, record.topicId, flattenStringMap(record.set), [...record.removed].sort()]);
    case 'log-start-moved':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code, [record.streamId, record.logStartOffset]);
    case 'configs-replaced':
      return encodeEnvelope(CONTROL_FORMAT_VERSION, code,
        [record.topic, record.topicId, flattenStringMap(record.configs)]);
  }
}

/** Decodes one record; anything unknown or malformed is an X2_ERR_FORMAT error naming it. */
export function decodeControlRecord(bytes: Uint8Array): ControlRecord {
  const { kindCode, fields } = decodeEnvelope(STREAM, bytes, CONTROL_VERSIONS_KNOWN);
  let record: ControlRecord;
  switch (kindCode) {
    case KIND_CODES['topic-created']:
      record = {
        kind: 'topic-created', topic: fields.string('topic'),
        streamIds: fields.integers('streamIds', 0, STREAM_ID_MAX), configs: fields.stringMap('configs'),
      };
      break;
    case KIND_CODES['topic-deleted']:
      record = { kind: 'topic-deleted', topic: fields.string('topic'), topicId: fields.integer('topicId', 0) };
      break;
    case KIND_CODES['partitions-added']:
      record = {
        kind: 'partitions-added', topic: fields.string('topic'), topicId: fields.integer('topicId', 0),
        streamIds: fields.integers('streamIds', 0, STREAM_ID_MAX),
      };
      break;
    case KIND_CODES['configs-altered']:
      record = {
        kind: 'configs-altered', topic: fields.string('topic'), topicId: fields.integer('topicId', 0),
        set: fields.stringMap('set'), removed: fields.strings('removed'),
      };
      break;
    case KIND_CODES['log-start-moved']:
      record = {
        kind: 'log-start-moved', streamId: fields.integer('streamId', 0, STREAM_ID_MAX),
        logStartOffset: fields.integer('logStartOffset', 0),
      };
      break;
    case KIND_CODES['configs-replaced']:
      record = {
        kind: 'configs-replaced', topic: fields.string('topic'), topicId: fields.integer('topicId', 0),
        configs: fields.stringMap('configs'),
      };
      break;
    default:
      throw formatError(STREAM, `record kind ${kindCode} is unknown in format version ${CONTROL_FORMAT_VERSION}`);
  }
  fields.end();
  return record;
}
