/**
 * Key and value layouts of the store's LSM index (classic-level/LevelDB, binary keys).
 *
 * Data path: the store's background indexer writes these in batches after entries are durable;
 * reads, timestamp lookups, retention and recovery read them. Keys sort bytewise, so every
 * number in a key is big-endian and fixed width; a one-byte tag separates the tables:
 *
 *   'o' streamId u32, baseOffset u64  -> a run: count u32, stream sizeBytes u64 and maxTimestampMs i64
 *                                        after the run, then per batch (48 bytes) baseOffset u64,
 *                                        recordCount u32, frameBytes u32, segment u64, position u64,
 *                                        seq u64, maxTimestampMs i64
 *                                        (consecutive batches of one stream indexed together; the key
 *                                        is the first batch's base offset; at most RUN_BATCHES_MAX)
 *   't' streamId u32, timestamp i64*  -> baseOffset u64   (one per run whose running max grows: the
 *                                        first batch reaching that timestamp is in the run at that key)
 *   'm' streamId u32                  -> logStartOffset u64, nextOffset u64, sizeBytes u64,
 *                                        maxTimestampMs i64   (written when the stream is first
 *                                        indexed and by control operations; a later run's header
 *                                        carries the newer size and max timestamp)
 *   's' seq u64                       -> segment u64, position u64   (sparse: ~every 64 KiB)
 *   'g' segment u64, streamId u32     -> version byte only   (which streams a segment holds)
 *   'h' segment u64                   -> maxTimestampMs i64
 *   'c'                               -> segment u64, position u64, seq u64   (indexed up to here)
 *   'r'                               -> first retained seq u64
 * `segment` is the segment's first seq. *i64 in keys: sign bit flipped so negatives sort first.
 * Every value starts with a version byte (1).
 */
import { FRAME_HEADER_BYTES, readU64, writeU64 } from './format.ts';

export const INDEX_VALUE_VERSION = 1;
const TWO_TO_32 = 2 ** 32;

export const TAG = {
  offset: 0x6f, time: 0x74, stream: 0x6d, seq: 0x73, segmentStream: 0x67, segment: 0x68,
  checkpoint: 0x63, retained: 0x72,
} as const;

function writeI64(bytes: Buffer, value: number, position: number): void {
  bytes.writeInt32BE(Math.floor(value / TWO_TO_32), position);
  bytes.writeUInt32BE(((value % TWO_TO_32) + TWO_TO_32) % TWO_TO_32, position + 4);
}

function readI64(bytes: Buffer, position: number): number {
  return bytes.readInt32BE(position) * TWO_TO_32 + bytes.readUInt32BE(position + 4);
}

export function offsetKey(streamId: number, baseOffset: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = TAG.offset;
  key.writeUInt32BE(streamId, 1);
  writeU64(key, baseOffset, 5);
  return key;
}

/** The first key after every key of `streamId` in a table keyed by (streamId, ...). */
export function streamEndKey(tag: number, streamId: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = tag;
  key.writeUInt32BE(streamId + 1, 1);
  return key;
}

/** Every key of `streamId` in a table keyed by (streamId, ...). */
export function streamRange(tag: number, streamId: number): { gte: Buffer; lt: Buffer } {
  return { gte: streamStartKey(tag, streamId), lt: streamEndKey(tag, streamId) };
}

export function streamStartKey(tag: number, streamId: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = tag;
  key.writeUInt32BE(streamId, 1);
  return key;
}

export type Location = {
  seq: number; streamId: number; baseOffset: number; recordCount: number;
  segment: number; position: number; frameBytes: number; maxTimestampMs: number;
};

/** Runs group many batches in one LevelDB value: LevelDB's per-operation cost dominates otherwise. */
export const RUN_BATCHES_MAX = 1024;
const RUN_HEADER_BYTES = 21;
const RUN_RECORD_BYTES = 48;

export function encodeRun(locations: Location[], start: number, end: number, sizeBytesAfter: number,
  maxTimestampMsAfter: number): Buffer {
  const value = Buffer.allocUnsafe(RUN_HEADER_BYTES + (end - start) * RUN_RECORD_BYTES);
  value[0] = INDEX_VALUE_VERSION;
  value.writeUInt32BE(end - start, 1);
  writeU64(value, sizeBytesAfter, 5);
  writeI64(value, maxTimestampMsAfter, 13);
  let position = RUN_HEADER_BYTES;
  for (let i = start; i < end; i++) {
    const location = locations[i]!;
    writeU64(value, location.baseOffset, position);
    value.writeUInt32BE(location.recordCount, position + 8);
    value.writeUInt32BE(location.frameBytes, position + 12);
    writeU64(value, location.segment, position + 16);
    writeU64(value, location.position, position + 24);
    writeU64(value, location.seq, position + 32);
    writeI64(value, location.maxTimestampMs, position + 40);
    position += RUN_RECORD_BYTES;
  }
  return value;
}

export function runCount(value: Buffer): number {
  return value.readUInt32BE(1);
}

/** The stream's size and max timestamp right after this run was indexed. */
export function runStreamAfter(value: Buffer): { sizeBytes: number; maxTimestampMs: number } {
  return { sizeBytes: readU64(value, 5), maxTimestampMs: readI64(value, 13) };
}

export function runBaseOffset(value: Buffer, i: number): number {
  return readU64(value, RUN_HEADER_BYTES + i * RUN_RECORD_BYTES);
}

export function runEndOffset(value: Buffer, i: number): number {
  const position = RUN_HEADER_BYTES + i * RUN_RECORD_BYTES;
  return readU64(value, position) + value.readUInt32BE(position + 8);
}

export function runSegment(value: Buffer, i: number): number {
  return readU64(value, RUN_HEADER_BYTES + i * RUN_RECORD_BYTES + 16);
}

export function runBatchBytes(value: Buffer, i: number): number {
  return value.readUInt32BE(RUN_HEADER_BYTES + i * RUN_RECORD_BYTES + 12) - FRAME_HEADER_BYTES;
}

export function runLocation(streamId: number, value: Buffer, i: number): Location {
  const position = RUN_HEADER_BYTES + i * RUN_RECORD_BYTES;
  return {
    streamId, baseOffset: readU64(value, position), recordCount: value.readUInt32BE(position + 8),
    frameBytes: value.readUInt32BE(position + 12), segment: readU64(value, position + 16),
    position: readU64(value, position + 24), seq: readU64(value, position + 32), maxTimestampMs: readI64(value,
      position + 40),
  };
}

/** The index in a run of the batch containing `offset`, or -1 (binary search). */
export function runIndexOf(value: Buffer, offset: number): number {
  let low = 0;
  let high = runCount(value) - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (offset < runBaseOffset(value, middle)) high = middle - 1;
    else if (offset >= runEndOffset(value, middle)) low = middle + 1;
    else return middle;
  }
  return -1;
}

/** A run holding only batches [start, end) of `value` (log start moves, truncation). */
export function sliceRun(value: Buffer, start: number, end: number): Buffer {
  const slice = Buffer.allocUnsafe(RUN_HEADER_BYTES + (end - start) * RUN_RECORD_BYTES);
  value.copy(slice, 0, 0, RUN_HEADER_BYTES);
  slice.writeUInt32BE(end - start, 1);
  value.copy(slice, RUN_HEADER_BYTES, RUN_HEADER_BYTES + start * RUN_RECORD_BYTES,
    RUN_HEADER_BYTES + end * RUN_RECORD_BYTES);
  return slice;
}

export function timeKey(streamId: number, timestampMs: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = TAG.time;
  key.writeUInt32BE(streamId, 1);
  key.writeUInt32BE((Math.floor(timestampMs / TWO_TO_32) + 0x80000000) >>> 0, 5);
  key.writeUInt32BE(((timestampMs % TWO_TO_32) + TWO_TO_32) % TWO_TO_32, 9);
  return key;
}

export function timeKeyTimestampMs(key: Buffer): number {
  return ((key.readUInt32BE(5) - 0x80000000) | 0) * TWO_TO_32 + key.readUInt32BE(9);
}

export function u64Value(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(9);
  bytes[0] = INDEX_VALUE_VERSION;
  writeU64(bytes, value, 1);
  return bytes;
}

export function readU64Value(value: Buffer): number {
  return readU64(value, 1);
}

export function i64Value(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(9);
  bytes[0] = INDEX_VALUE_VERSION;
  writeI64(bytes, value, 1);
  return bytes;
}

export function readI64Value(value: Buffer): number {
  return readI64(value, 1);
}

export function streamKey(streamId: number): Buffer {
  return streamStartKey(TAG.stream, streamId);
}

export type StreamMeta = {
  logStartOffset: number; nextOffset: number; sizeBytes: number; maxTimestampMs: number;
};

export function encodeStreamMeta(meta: StreamMeta): Buffer {
  const value = Buffer.allocUnsafe(33);
  value[0] = INDEX_VALUE_VERSION;
  writeU64(value, meta.logStartOffset, 1);
  writeU64(value, meta.nextOffset, 9);
  writeU64(value, meta.sizeBytes, 17);
  writeI64(value, meta.maxTimestampMs, 25);
  return value;
}

export function decodeStreamMeta(value: Buffer): StreamMeta {
  return {
    logStartOffset: readU64(value, 1), nextOffset: readU64(value, 9),
    sizeBytes: readU64(value, 17), maxTimestampMs: readI64(value, 25),
  };
}

export function seqKey(seq: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = TAG.seq;
  writeU64(key, seq, 1);
  return key;
}

export function positionValue(segment: number, position: number): Buffer {
  const value = Buffer.allocUnsafe(17);
  value[0] = INDEX_VALUE_VERSION;
  writeU64(value, segment, 1);
  writeU64(value, position, 9);
  return value;
}

export function decodePositionValue(value: Buffer): { segment: number; position: number } {
  return { segment: readU64(value, 1), position: readU64(value, 9) };
}

export function segmentStreamKey(segment: number, streamId: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = TAG.segmentStream;
  writeU64(key, segment, 1);
  key.writeUInt32BE(streamId, 9);
  return key;
}

export function segmentStreamRange(segment: number): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(9);
  gte[0] = TAG.segmentStream;
  writeU64(gte, segment, 1);
  const lt = Buffer.allocUnsafe(9);
  lt[0] = TAG.segmentStream;
  writeU64(lt, segment + 1, 1);
  return { gte, lt };
}

export function segmentKey(segment: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = TAG.segment;
  writeU64(key, segment, 1);
  return key;
}

export function tagOnlyKey(tag: number): Buffer {
  return Buffer.from([tag]);
}

export type Checkpoint = { segment: number; position: number; seq: number };

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const value = Buffer.allocUnsafe(25);
  value[0] = INDEX_VALUE_VERSION;
  writeU64(value, checkpoint.segment, 1);
  writeU64(value, checkpoint.position, 9);
  writeU64(value, checkpoint.seq, 17);
  return value;
}

export function decodeCheckpoint(value: Buffer): Checkpoint {
  return { segment: readU64(value, 1), position: readU64(value, 9), seq: readU64(value, 17) };
}
