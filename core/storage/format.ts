/**
 * The on-disk format of commit segments: fat append-only files shared by every stream of a store.
 *
 * Data path: the store appends one frame per sequenced entry into the active segment; recovery and
 * reads parse the same frames back. A frame is only trusted after its CRC32C matches.
 *
 * Segment file `<firstSeq, 20 digits>-<epoch>-v<format>.seg`:
 *   header (32 bytes): magic "X2SG" u32 | format version u16 | header bytes u16 | firstSeq u64 |
 *                      epoch u32 | reserved u32 (0) | reserved u32 (0) | CRC32C of bytes 0..27 u32
 *   frames, back to back, each (40-byte header + batch):
 *     frameBytes u32 | CRC32C u32 | seq u64 | epoch u32 | streamId u32 | baseOffset u64 |
 *     recordCount u32 | reserved u32 (0) | batch (Kafka RecordBatch v2, byte for byte)
 *   The CRC covers the whole frame except its own four bytes (bytes 0..3 then 8..frameBytes).
 * All integers are big-endian; u64 values are safe integers (< 2^53) split in two u32 halves.
 *
 * Invariants: seq strictly increases along the frames of a store; a frame never spans two segments.
 * Version policy: read and write version 1; any other version stops with X2_ERR_FORMAT.
 */
import { crc32c } from '../../native/index.ts';
import { crc32cCombine } from '../base/crc32c.ts';
import { X2Error } from '../base/errors.ts';

export const SEGMENT_MAGIC = 0x58325347; // "X2SG"
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 40;
/** Kafka RecordBatch v2 header: every stored batch is at least this long. */
export const RECORD_BATCH_HEADER_BYTES = 61;
const RECORD_BATCH_MAX_TIMESTAMP_POSITION = 35;

const FRAME_CRC_POSITION = 4;
const FRAME_SEQ_POSITION = 8;
const FRAME_EPOCH_POSITION = 16;
const FRAME_STREAM_ID_POSITION = 20;
const FRAME_BASE_OFFSET_POSITION = 24;
const FRAME_RECORD_COUNT_POSITION = 32;

const SEGMENT_NAME_PATTERN = /^(\d{20})-(\d+)-v(\d+)\.seg$/;
const TWO_TO_32 = 2 ** 32;

export function writeU64(bytes: Buffer, value: number, position: number): void {
  bytes.writeUInt32BE(Math.floor(value / TWO_TO_32), position);
  bytes.writeUInt32BE(value % TWO_TO_32, position + 4);
}

export function readU64(bytes: Buffer, position: number): number {
  return bytes.readUInt32BE(position) * TWO_TO_32 + bytes.readUInt32BE(position + 4);
}

/** A signed 64-bit value read as a number (timestamps in ms are far below 2^53). */
export function readI64(bytes: Uint8Array, position: number): number {
  const high = (bytes[position]! << 24) | (bytes[position + 1]! << 16) | (bytes[position + 2]! << 8) |
    bytes[position + 3]!;
  const low = ((bytes[position + 4]! << 24) | (bytes[position + 5]! << 16) | (bytes[position + 6]! << 8) |
    bytes[position + 7]!) >>> 0;
  return high * TWO_TO_32 + low;
}

export function segmentFileName(firstSeq: number, epoch: number): string {
  return `${String(firstSeq).padStart(20, '0')}-${epoch}-v${SEGMENT_FORMAT_VERSION}.seg`;
}

export function parseSegmentFileName(name: string): { firstSeq: number; epoch: number; version: number } | null {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (!match) return null;
  return { firstSeq: Number(match[1]), epoch: Number(match[2]), version: Number(match[3]) };
}

export function encodeSegmentHeader(firstSeq: number, epoch: number, target: Buffer, position: number): void {
  target.fill(0, position, position + SEGMENT_HEADER_BYTES);
  target.writeUInt32BE(SEGMENT_MAGIC, position);
  target.writeUInt16BE(SEGMENT_FORMAT_VERSION, position + 4);
  target.writeUInt16BE(SEGMENT_HEADER_BYTES, position + 6);
  writeU64(target, firstSeq, position + 8);
  target.writeUInt32BE(epoch, position + 16);
  target.writeUInt32BE(crc32c(target, 0, position, position + 28), position + 28);
}

/** Checks a segment header; throws X2_ERR_FORMAT naming the file when it is not ours. */
export function checkSegmentHeader(header: Buffer, file: string): { firstSeq: number; epoch: number } {
  if (header.length < SEGMENT_HEADER_BYTES || header.readUInt32BE(0) !== SEGMENT_MAGIC) {
    throw new X2Error('X2_ERR_FORMAT', `${file}: not an x2 segment (bad magic), expected "X2SG"`);
  }
  const version = header.readUInt16BE(4);
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw new X2Error('X2_ERR_FORMAT',
      `${file}: unknown segment format version (got ${version}), supported: ${SEGMENT_FORMAT_VERSION}`);
  }
  if (header.readUInt32BE(28) !== crc32c(header, 0, 0, 28)) {
    throw new X2Error('X2_ERR_SEGMENT_CRC', `${file}: segment header failed its CRC32C check`);
  }
  return { firstSeq: readU64(header, 8), epoch: header.readUInt32BE(16) };
}

export type FrameFields = {
  seq: number; epoch: number; streamId: number; baseOffset: number; recordCount: number;
};

function writeFrameFields(fields: FrameFields, frameBytes: number, target: Buffer, position: number): void {
  target.writeUInt32BE(frameBytes, position);
  writeU64(target, fields.seq, position + FRAME_SEQ_POSITION);
  target.writeUInt32BE(fields.epoch, position + FRAME_EPOCH_POSITION);
  target.writeUInt32BE(fields.streamId, position + FRAME_STREAM_ID_POSITION);
  writeU64(target, fields.baseOffset, position + FRAME_BASE_OFFSET_POSITION);
  target.writeUInt32BE(fields.recordCount, position + FRAME_RECORD_COUNT_POSITION);
  target.writeUInt32BE(0, position + 36);
}

/**
 * Writes the frame header for `batch` at `position` and copies the batch after it. `batchCrc`:
 * the batch's CRC-32C if known (see encodeFrameHeader).
 */
export function encodeFrame(fields: FrameFields, batch: Uint8Array, target: Buffer, position: number,
  batchCrc?: number): number {
  const frameBytes = FRAME_HEADER_BYTES + batch.length;
  target.set(batch, position + FRAME_HEADER_BYTES);
  if (batchCrc !== undefined) {
    encodeFrameHeader(fields, batch, target, position, batchCrc);
    return frameBytes;
  }
  writeFrameFields(fields, frameBytes, target, position);
  target.writeUInt32BE(frameCrc(target, position, frameBytes), position + FRAME_CRC_POSITION);
  return frameBytes;
}

/**
 * Writes only the frame header for `batch` at `position` (the batch is written after it by the
 * caller). The frame CRC covers the header then the batch: with `batchCrc` (the batch's CRC-32C,
 * checked by the caller) it is joined from the two (crc32cCombine) instead of reading the batch.
 */
export function encodeFrameHeader(fields: FrameFields, batch: Uint8Array, target: Buffer, position: number,
  batchCrc?: number): void {
  writeFrameFields(fields, FRAME_HEADER_BYTES + batch.length, target, position);
  const head = crc32c(target, 0, position, position + FRAME_CRC_POSITION);
  const header = crc32c(target, head, position + FRAME_SEQ_POSITION, position + FRAME_HEADER_BYTES);
  const crc = batchCrc === undefined
    ? crc32c(batch, header, 0, batch.length)
    : crc32cCombine(header, batchCrc, batch.length);
  target.writeUInt32BE(crc, position + FRAME_CRC_POSITION);
}

export function frameCrc(bytes: Buffer, position: number, frameBytes: number): number {
  const head = crc32c(bytes, 0, position, position + FRAME_CRC_POSITION);
  return crc32c(bytes, head, position + FRAME_SEQ_POSITION, position + frameBytes);
}

/**
 * What sits at `position`: a whole valid frame, a frame cut short by the end of the bytes
 * (`short`: read more, or a torn tail at the end of a file), or bytes that are not a frame.
 */
export type FrameCheck = 'valid' | 'short' | 'invalid';

export function checkFrame(bytes: Buffer, position: number, end: number, frameBytesMax: number): FrameCheck {
  if (end - position < FRAME_HEADER_BYTES) return 'short';
  const frameBytes = bytes.readUInt32BE(position);
  if (frameBytes < FRAME_HEADER_BYTES + RECORD_BATCH_HEADER_BYTES || frameBytes > frameBytesMax) return 'invalid';
  if (end - position < frameBytes) return 'short';
  return bytes.readUInt32BE(position + FRAME_CRC_POSITION) === frameCrc(bytes, position, frameBytes)
    ? 'valid' : 'invalid';
}

/** Frame fields read from a checked frame (a caller-supplied object, no allocation per frame). */
export function decodeFrameFields(bytes: Buffer, position: number, into: FrameFields): number {
  into.seq = readU64(bytes, position + FRAME_SEQ_POSITION);
  into.epoch = bytes.readUInt32BE(position + FRAME_EPOCH_POSITION);
  into.streamId = bytes.readUInt32BE(position + FRAME_STREAM_ID_POSITION);
  into.baseOffset = readU64(bytes, position + FRAME_BASE_OFFSET_POSITION);
  into.recordCount = bytes.readUInt32BE(position + FRAME_RECORD_COUNT_POSITION);
  return bytes.readUInt32BE(position);
}

/** The batch's maxTimestamp (RecordBatch v2 bytes 35..42). */
export function batchMaxTimestampMs(batch: Uint8Array, position = 0): number {
  return readI64(batch, position + RECORD_BATCH_MAX_TIMESTAMP_POSITION);
}
