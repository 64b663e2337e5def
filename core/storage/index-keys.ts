/**
 * Key and value layouts of the store's LSM index (classic-level/LevelDB, binary keys), format 2.
 *
 * Data path: the store's background indexer writes these in batches after entries are durable;
 * reads, timestamp lookups, retention and recovery read them. Keys sort bytewise, so every
 * number in a key is big-endian and fixed width; a one-byte tag separates the tables.
 *
 * The cost of an index write must not grow with the number of streams it touches, so batch
 * locations are not stored per stream: each index write (never spanning two segments) sorts its
 * entries by (streamId, baseOffset) and packs them into parts of at most PART_ENTRIES, keyed by
 * the write's first seq and the part's LAST entry, so a forward seek to (write, stream, offset)
 * lands on the part holding that batch if the write holds it. A sparse per-stream directory
 * ('d') names the write where a span of the stream's batches starts; a span is closed (a new 'd'
 * key) after SPAN_WRITES index writes or SPAN_ENTRIES entries, so a lookup costs one directory
 * seek plus at most SPAN_WRITES + 1 part seeks, and an index write puts about
 * entries / PART_ENTRIES + touched streams / SPAN_WRITES values.
 *
 *   'o' writeSeq u64, streamId u32, offset u64 -> a part: count u32, then per batch (52 bytes)
 *                                        streamId u32, baseOffset u64, recordCount u32, frameBytes u32,
 *                                        segment u64, position u64, seq u64, maxTimestampMs i64
 *                                        (key: the write's first seq and the last record of the
 *                                        part's last batch)
 *   'd' streamId u32, offset u64       -> writeSeq u64, appendedBytes u64, maxTimestampMs i64: a span
 *                                        of the stream starts at `offset`, in write `writeSeq` or a
 *                                        later one; the stream's bytes and max timestamp before it
 *   't' streamId u32, timestamp i64*   -> offset u64   (one per closed span whose running max grows:
 *                                        the first batch reaching that timestamp is in the span from
 *                                        `offset`; a lookup past the last key starts at the open span)
 *   'w' writeSeq u64                   -> per touched stream (28 bytes) streamId u32, nextOffset u64,
 *                                        appendedBytes u64, maxTimestampMs i64 after the write (kept
 *                                        for the last SPAN_WRITES + 1 writes: open spans' latest state)
 *   'm' streamId u32                   -> logStartOffset u64, nextOffset u64, appendedBytes u64,
 *                                        maxTimestampMs i64, bytesBelowLogStart u64 (written when the
 *                                        stream is first indexed and by control operations)
 *   's' seq u64                        -> segment u64, position u64   (sparse: ~every 64 KiB)
 *   'g' segment u64, writeSeq u64      -> streamId u32 ... (the streams whose first batch in the
 *                                        segment this index write holds: one value per write)
 *   'h' segment u64                    -> maxTimestampMs i64
 *   'c'                                -> segment u64, position u64, seq u64   (indexed up to here)
 *   'r'                                -> first retained seq u64
 *   'v'                                -> index format u64 (INDEX_FORMAT; absent in format 1)
 * `segment` is the segment's first seq; appendedBytes counts every batch byte the stream ever had
 * (its size is appendedBytes - bytesBelowLogStart). *i64 in keys: sign bit flipped so negatives
 * sort first. Every value starts with a version byte (1).
 */
import { FRAME_HEADER_BYTES, readU64, writeU64 } from './format.ts';

export const INDEX_VALUE_VERSION = 1;
/** Format 1 stored one run value per stream per index write; format 2 stores shared parts. */
export const INDEX_FORMAT = 2;
const TWO_TO_32 = 2 ** 32;

export const TAG = {
  part: 0x6f, directory: 0x64, time: 0x74, summary: 0x77, stream: 0x6d, seq: 0x73, membership: 0x67,
  segment: 0x68, checkpoint: 0x63, retained: 0x72, format: 0x76,
} as const;

/**
 * Batches per part value (3.3 KiB): LevelDB's cost is per operation, so about 16,000 puts per
 * million entries whatever the number of streams; a lookup copies one part out of LevelDB, so small.
 */
export const PART_ENTRIES = 64;
/** A span of a stream closes after this many index writes (bounds the part seeks of a lookup). */
export const SPAN_WRITES = 8;
/** ... or once it holds this many batches (bounds the walk of a log start move or a truncation). */
export const SPAN_ENTRIES = 4096;

function writeI64(bytes: Buffer, value: number, position: number): void {
  bytes.writeInt32BE(Math.floor(value / TWO_TO_32), position);
  bytes.writeUInt32BE(((value % TWO_TO_32) + TWO_TO_32) % TWO_TO_32, position + 4);
}

function readI64(bytes: Buffer, position: number): number {
  return bytes.readInt32BE(position) * TWO_TO_32 + bytes.readUInt32BE(position + 4);
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

/** Every key of a table. */
export function tagRange(tag: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([tag]), lt: Buffer.from([tag + 1]) };
}

export type Location = {
  seq: number; streamId: number; baseOffset: number; recordCount: number;
  segment: number; position: number; frameBytes: number; maxTimestampMs: number;
};

const PART_HEADER_BYTES = 5;
const PART_RECORD_BYTES = 52;

export function partKey(writeSeq: number, streamId: number, offset: number): Buffer {
  const key = Buffer.allocUnsafe(21);
  key[0] = TAG.part;
  writeU64(key, writeSeq, 1);
  key.writeUInt32BE(streamId, 9);
  writeU64(key, offset, 13);
  return key;
}

/** The first part key of writes at or after `writeSeq`. */
export function partWriteKey(writeSeq: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = TAG.part;
  writeU64(key, writeSeq, 1);
  return key;
}

export function partKeyWriteSeq(key: Buffer): number {
  return readU64(key, 1);
}

export function partBytes(count: number): number {
  return PART_HEADER_BYTES + count * PART_RECORD_BYTES;
}

/** Writes the header of a part of `count` batches at `position` of `target`. */
export function writePartHeader(target: Buffer, position: number, count: number): void {
  target[position] = INDEX_VALUE_VERSION;
  target.writeUInt32BE(count, position + 1);
}

/** Writes batch `i` of the part starting at `partPosition` (fields as numbers: no Location object per entry). */
export function writePartEntry(target: Buffer, partPosition: number, i: number, streamId: number, baseOffset: number,
  recordCount: number, frameBytes: number, segment: number, filePosition: number, seq: number,
  maxTimestampMs: number): void {
  const position = partPosition + PART_HEADER_BYTES + i * PART_RECORD_BYTES;
  target.writeUInt32BE(streamId, position);
  writeU64(target, baseOffset, position + 4);
  target.writeUInt32BE(recordCount, position + 12);
  target.writeUInt32BE(frameBytes, position + 16);
  writeU64(target, segment, position + 20);
  writeU64(target, filePosition, position + 28);
  writeU64(target, seq, position + 36);
  writeI64(target, maxTimestampMs, position + 44);
}

export function partCount(value: Buffer): number {
  return value.readUInt32BE(1);
}

export function partStreamId(value: Buffer, i: number): number {
  return value.readUInt32BE(PART_HEADER_BYTES + i * PART_RECORD_BYTES);
}

export function partBaseOffset(value: Buffer, i: number): number {
  return readU64(value, PART_HEADER_BYTES + i * PART_RECORD_BYTES + 4);
}

export function partEndOffset(value: Buffer, i: number): number {
  const position = PART_HEADER_BYTES + i * PART_RECORD_BYTES;
  return readU64(value, position + 4) + value.readUInt32BE(position + 12);
}

export function partSeq(value: Buffer, i: number): number {
  return readU64(value, PART_HEADER_BYTES + i * PART_RECORD_BYTES + 36);
}

export function partBatchBytes(value: Buffer, i: number): number {
  return value.readUInt32BE(PART_HEADER_BYTES + i * PART_RECORD_BYTES + 16) - FRAME_HEADER_BYTES;
}

export function partMaxTimestampMs(value: Buffer, i: number): number {
  return readI64(value, PART_HEADER_BYTES + i * PART_RECORD_BYTES + 44);
}

export function partLocation(value: Buffer, i: number): Location {
  const position = PART_HEADER_BYTES + i * PART_RECORD_BYTES;
  return {
    streamId: value.readUInt32BE(position), baseOffset: readU64(value, position + 4),
    recordCount: value.readUInt32BE(position + 12), frameBytes: value.readUInt32BE(position + 16),
    segment: readU64(value, position + 20), position: readU64(value, position + 28), seq: readU64(value, position + 36),
    maxTimestampMs: readI64(value, position + 44),
  };
}

/** The index in a part of the batch of `streamId` containing `offset`, or -1 (binary search). */
export function partIndexOf(value: Buffer, streamId: number, offset: number): number {
  let low = 0;
  let high = partCount(value) - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const middleStreamId = partStreamId(value, middle);
    if (streamId < middleStreamId || (streamId === middleStreamId && offset < partBaseOffset(value, middle))) {
      high = middle - 1;
    } else if (streamId > middleStreamId || offset >= partEndOffset(value, middle)) low = middle + 1;
    else return middle;
  }
  return -1;
}

/** A part holding only the batches of `value` that `keep` accepts (truncation), or null if none. */
export function filterPart(value: Buffer, keep: (i: number) => boolean): Buffer | null {
  const count = partCount(value);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) if (keep(i)) kept.push(i);
  if (kept.length === 0) return null;
  const part = Buffer.allocUnsafe(partBytes(kept.length));
  writePartHeader(part, 0, kept.length);
  kept.forEach((from, to) => value.copy(part, PART_HEADER_BYTES + to * PART_RECORD_BYTES,
    PART_HEADER_BYTES + from * PART_RECORD_BYTES, PART_HEADER_BYTES + (from + 1) * PART_RECORD_BYTES));
  return part;
}

export function directoryKey(streamId: number, offset: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  key[0] = TAG.directory;
  key.writeUInt32BE(streamId, 1);
  writeU64(key, offset, 5);
  return key;
}

export function directoryKeyOffset(key: Buffer): number {
  return readU64(key, 5);
}

/** A span start: the write to seek from, and the stream's bytes and max timestamp before `offset`. */
export type SpanStart = { offset: number; writeSeq: number; appendedBytes: number; maxTimestampMs: number };

export function encodeSpanStart(span: SpanStart): Buffer {
  const value = Buffer.allocUnsafe(25);
  value[0] = INDEX_VALUE_VERSION;
  writeU64(value, span.writeSeq, 1);
  writeU64(value, span.appendedBytes, 9);
  writeI64(value, span.maxTimestampMs, 17);
  return value;
}

export function decodeSpanStart(key: Buffer, value: Buffer): SpanStart {
  return { offset: directoryKeyOffset(key), writeSeq: readU64(value, 1), appendedBytes: readU64(value, 9),
    maxTimestampMs: readI64(value, 17) };
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

export function summaryKey(writeSeq: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = TAG.summary;
  writeU64(key, writeSeq, 1);
  return key;
}

/** A stream's indexed state: after a write (summary), or as stored in its 'm' key. */
export type StreamStats = { nextOffset: number; appendedBytes: number; maxTimestampMs: number };

const SUMMARY_RECORD_BYTES = 28;

export function summaryBytes(streams: number): number {
  return 1 + streams * SUMMARY_RECORD_BYTES;
}

export function writeSummaryRecord(target: Buffer, i: number, streamId: number, stats: StreamStats): void {
  const position = 1 + i * SUMMARY_RECORD_BYTES;
  target.writeUInt32BE(streamId, position);
  writeU64(target, stats.nextOffset, position + 4);
  writeU64(target, stats.appendedBytes, position + 12);
  writeI64(target, stats.maxTimestampMs, position + 20);
}

export function forEachSummaryRecord(value: Buffer, visit: (streamId: number, stats: StreamStats) => void): void {
  for (let position = 1; position + SUMMARY_RECORD_BYTES <= value.length; position += SUMMARY_RECORD_BYTES) {
    visit(value.readUInt32BE(position), { nextOffset: readU64(value, position + 4),
      appendedBytes: readU64(value, position + 12), maxTimestampMs: readI64(value, position + 20) });
  }
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

export type StreamMeta = StreamStats & { logStartOffset: number; bytesBelowLogStart: number };

export function encodeStreamMeta(meta: StreamMeta): Buffer {
  const value = Buffer.allocUnsafe(41);
  value[0] = INDEX_VALUE_VERSION;
  writeU64(value, meta.logStartOffset, 1);
  writeU64(value, meta.nextOffset, 9);
  writeU64(value, meta.appendedBytes, 17);
  writeI64(value, meta.maxTimestampMs, 25);
  writeU64(value, meta.bytesBelowLogStart, 33);
  return value;
}

export function decodeStreamMeta(value: Buffer): StreamMeta {
  return {
    logStartOffset: readU64(value, 1), nextOffset: readU64(value, 9), appendedBytes: readU64(value, 17),
    maxTimestampMs: readI64(value, 25), bytesBelowLogStart: readU64(value, 33),
  };
}

/** The log start of a format-1 'm' value (kept when an old index is rebuilt). */
export function formatOneLogStartOffset(value: Buffer): number {
  return readU64(value, 1);
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

export function membershipKey(segment: number, writeSeq: number): Buffer {
  const key = Buffer.allocUnsafe(17);
  key[0] = TAG.membership;
  writeU64(key, segment, 1);
  writeU64(key, writeSeq, 9);
  return key;
}

/** Membership keys of `segment` from write `writeSeqMin` on. */
export function membershipRange(segment: number, writeSeqMin = 0): { gte: Buffer; lt: Buffer } {
  return { gte: membershipKey(segment, writeSeqMin), lt: membershipKey(segment + 1, 0) };
}

export function encodeMembership(streamIds: number[]): Buffer {
  const value = Buffer.allocUnsafe(1 + streamIds.length * 4);
  value[0] = INDEX_VALUE_VERSION;
  streamIds.forEach((streamId, i) => value.writeUInt32BE(streamId, 1 + i * 4));
  return value;
}

export function forEachMember(value: Buffer, visit: (streamId: number) => void): void {
  for (let position = 1; position + 4 <= value.length; position += 4) visit(value.readUInt32BE(position));
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
