/**
 * The records of the `__consumer_offsets` stream: committed consumer-group offsets. The group
 * coordinator (on the gateway that owns the group) validates an OffsetCommit, appends one record
 * per partition, and answers the client once the append is committed; any gateway that takes a
 * group over rebuilds the offsets by replaying this stream into an OffsetsState.
 *
 * Encoding (record-codec.ts): [version u8 = 1][kind u8][msgpack array of fields]:
 *   1 offset-committed  [group, topic, partition, offset, leaderEpoch, metadata|null, commitTimeMs]
 *   2 offset-deleted    [group, topic, partition]        (a tombstone: OffsetDelete, topic deleted)
 *   3 group-deleted     [group]                           (DeleteGroups: every offset of the group)
 * leaderEpoch is -1 when the client did not send one (OffsetCommit < v6).
 * offset and leaderEpoch are kept as the client sent them, as Kafka does: every int64 that is a
 * safe integer (the codec refuses others), every int32. Clients commit sentinels: kafkajs commits -2
 * ("earliest") for resetOffsets and after OFFSET_OUT_OF_RANGE, and resolves it when it reads it
 * back. Decoding once refused offsets below -1: such a commit was acknowledged, then skipped by
 * every gateway, and a kafkajs consumer past the end looped on it for good.
 */
import { decodeEnvelope, encodeEnvelope, formatError } from './record-codec.ts';

export const OFFSETS_FORMAT_VERSION = 1;
const OFFSETS_VERSIONS_KNOWN = [OFFSETS_FORMAT_VERSION] as const;
const STREAM = '__consumer_offsets';
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

export type OffsetsRecord =
  | {
    kind: 'offset-committed'; group: string; topic: string; partition: number; offset: number;
    leaderEpoch: number; metadata: string | null; commitTimeMs: number;
  }
  | { kind: 'offset-deleted'; group: string; topic: string; partition: number }
  | { kind: 'group-deleted'; group: string };

const KIND_CODES = {
  'offset-committed': 1,
  'offset-deleted': 2,
  'group-deleted': 3,
} as const satisfies Record<OffsetsRecord['kind'], number>;

export function encodeOffsetsRecord(record: OffsetsRecord): Buffer {
  const code = KIND_CODES[record.kind];
  switch (record.kind) {
    case 'offset-committed':
      return encodeEnvelope(OFFSETS_FORMAT_VERSION, code, [
        record.group, record.topic, record.partition, record.offset,
        record.leaderEpoch, record.metadata, record.commitTimeMs,
      ]);
    case 'offset-deleted':
      return encodeEnvelope(OFFSETS_FORMAT_VERSION, code, [record.group, record.topic, record.partition]);
    case 'group-deleted':
      return encodeEnvelope(OFFSETS_FORMAT_VERSION, code, [record.group]);
  }
}

export function decodeOffsetsRecord(bytes: Uint8Array): OffsetsRecord {
  const { kindCode, fields } = decodeEnvelope(STREAM, bytes, OFFSETS_VERSIONS_KNOWN);
  let record: OffsetsRecord;
  switch (kindCode) {
    case KIND_CODES['offset-committed']:
      record = {
        kind: 'offset-committed', group: fields.string('group'), topic: fields.string('topic'),
        partition: fields.integer('partition', 0, INT32_MAX), offset: fields.integer('offset', Number.MIN_SAFE_INTEGER),
        leaderEpoch: fields.integer('leaderEpoch', INT32_MIN, INT32_MAX), metadata: fields.stringOrNull('metadata'),
        commitTimeMs: fields.integer('commitTimeMs', 0),
      };
      break;
    case KIND_CODES['offset-deleted']:
      record = {
        kind: 'offset-deleted', group: fields.string('group'), topic: fields.string('topic'),
        partition: fields.integer('partition', 0, INT32_MAX),
      };
      break;
    case KIND_CODES['group-deleted']:
      record = { kind: 'group-deleted', group: fields.string('group') };
      break;
    default:
      throw formatError(STREAM, `record kind ${kindCode} is unknown in format version ${OFFSETS_FORMAT_VERSION}`);
  }
  fields.end();
  return record;
}
