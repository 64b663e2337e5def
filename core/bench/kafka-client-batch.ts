/**
 * RecordBatch v2 building and reading for the bench's Kafka client. A producer appends records
 * straight into one growable buffer per open batch (header space reserved, varints written in
 * place, no per-record objects); `seal` writes the 61-byte header and the CRC-32C, compressing
 * the record area first when asked (gzip or zstd from node:zlib). `forEachRecordValue` walks a
 * fetched batch and hands out value views without decoding keys or headers into objects.
 *
 * Bounds: a batch never grows past `batchBytesMax` of record data (the caller seals first);
 * reading inflates at most `recordsBytesMax` per compressed batch.
 */
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { crc32c } from '../../native/index.ts';
import {
  BATCH_ATTRIBUTES_POSITION, BATCH_CRC_POSITION, BATCH_HEADER_BYTES, BATCH_LENGTH_POSITION, BATCH_LOG_OVERHEAD_BYTES,
  BATCH_MAGIC_POSITION, ATTRIBUTE_CODEC_MASK, ATTRIBUTE_CONTROL, codecOf,
} from '../kafka/record-batch.ts';
import type { Compression } from './workload.ts';

const CODEC_ATTRIBUTE: Record<Compression, number> = { none: 0, gzip: 1, zstd: 4 };

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Bytes of a zig-zag varint/varlong (values up to 2^53). */
export function varintBytes(value: number): number {
  let rest = zigzag(value);
  let bytes = 1;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(buffer: Buffer, position: number, value: number): number {
  let rest = zigzag(value);
  while (rest >= 0x80) {
    buffer[position++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  buffer[position++] = rest;
  return position;
}

function readVarint(buffer: Buffer, cursor: { position: number }): number {
  let result = 0;
  let factor = 1;
  let position = cursor.position;
  for (;;) {
    const byte = buffer[position++];
    if (byte === undefined) throw new Error('record varint runs past the batch end');
    result += (byte & 0x7f) * factor;
    if (byte < 0x80) break;
    factor *= 128;
    if (factor > 2 ** 56) throw new Error('record varint is too long');
  }
  cursor.position = position;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** One open batch: records appended in place after a reserved header. */
export class BatchBuilder {
  buffer: Buffer;
  position = BATCH_HEADER_BYTES;
  recordCount = 0;
  baseTimestampMs = 0;
  maxTimestampMs = 0;
  /** Buffer bytes the producer counts against its limit for this batch. */
  reservedBytes = 0;
  /** Scheduled send time (µs) of each record, for produce-ack latency. */
  readonly scheduledUs: number[] = [];

  /** `reuse`: a buffer of an earlier batch that nothing references any more (grown already). */
  constructor(initialBytes: number, reuse?: Buffer) {
    const bytes = Math.max(initialBytes, BATCH_HEADER_BYTES + 64);
    this.buffer = reuse !== undefined && reuse.length >= bytes ? reuse : Buffer.allocUnsafe(bytes);
  }

  get recordBytes(): number {
    return this.position - BATCH_HEADER_BYTES;
  }

  /** Bytes the next record will take at most (for the caller's size check). */
  static recordBytesMax(key: Buffer | null, valueBytes: number): number {
    return 5 + 1 + 10 + 5 + 5 + (key?.length ?? 0) + 5 + valueBytes + 1;
  }

  append(key: Buffer | null, value: Buffer, timestampMs: number, scheduledUs: number): void {
    if (this.recordCount === 0) {
      this.baseTimestampMs = timestampMs;
      this.maxTimestampMs = timestampMs;
    } else if (timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
    const timestampDelta = timestampMs - this.baseTimestampMs;
    const offsetDelta = this.recordCount;
    const keyBytes = key === null ? 0 : key.length;
    const bodyBytes = 1 + varintBytes(timestampDelta) + varintBytes(offsetDelta) +
      varintBytes(key === null ? -1 : keyBytes) + keyBytes + varintBytes(value.length) + value.length + 1;
    const needed = this.position + varintBytes(bodyBytes) + bodyBytes;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.position);
      this.buffer = grown;
    }
    const b = this.buffer;
    let p = writeVarint(b, this.position, bodyBytes);
    b[p++] = 0;
    p = writeVarint(b, p, timestampDelta);
    p = writeVarint(b, p, offsetDelta);
    if (key === null) p = writeVarint(b, p, -1);
    else {
      p = writeVarint(b, p, keyBytes);
      b.set(key, p);
      p += keyBytes;
    }
    p = writeVarint(b, p, value.length);
    // set() is a builtin memmove; Buffer#copy goes through a native binding call per record.
    b.set(value, p);
    p += value.length;
    b[p++] = 0;
    this.position = p;
    this.recordCount++;
    this.scheduledUs.push(scheduledUs);
  }

  /**
   * Writes header and CRC and returns the whole batch (a view of this builder's buffer, or a
   * new buffer when compressed). The builder must not be appended to afterwards.
   */
  seal(compression: Compression): Buffer {
    let batch: Buffer;
    if (compression === 'none') batch = this.buffer.subarray(0, this.position);
    else {
      const area = this.buffer.subarray(BATCH_HEADER_BYTES, this.position);
      const compressed = compression === 'gzip' ? gzipSync(area, { level: 1 }) : zstdCompressSync(area);
      batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
      compressed.copy(batch, BATCH_HEADER_BYTES);
    }
    batch.writeInt32BE(0, 0);
    batch.writeInt32BE(0, 4);
    batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD_BYTES, BATCH_LENGTH_POSITION);
    batch.writeInt32BE(-1, 12);
    batch.writeInt8(2, BATCH_MAGIC_POSITION);
    batch.writeInt16BE(CODEC_ATTRIBUTE[compression], BATCH_ATTRIBUTES_POSITION);
    batch.writeInt32BE(this.recordCount - 1, 23);
    writeInt64(batch, 27, this.baseTimestampMs);
    writeInt64(batch, 35, this.maxTimestampMs);
    writeInt64(batch, 43, -1);
    batch.writeInt16BE(-1, 51);
    batch.writeInt32BE(-1, 53);
    batch.writeInt32BE(this.recordCount, 57);
    batch.writeUInt32BE(crc32c(batch, 0, BATCH_ATTRIBUTES_POSITION, batch.length), BATCH_CRC_POSITION);
    return batch;
  }
}

function writeInt64(buffer: Buffer, position: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  buffer.writeInt32BE(high, position);
  buffer.writeUInt32BE(value - high * 0x1_0000_0000, position + 4);
}

function readInt64(buffer: Buffer, position: number): number {
  return buffer.readInt32BE(position) * 0x1_0000_0000 + buffer.readUInt32BE(position + 4);
}

export type RecordVisitor = (value: Buffer, start: number, end: number, offset: number) => void;

const cursor = { position: 0 };

/**
 * Calls `visit` for every record of the whole batches in `records` whose offset is at least
 * `fromOffset`, and returns the offset after the last whole batch (the next fetch offset), or
 * `fromOffset` when none is whole. Control batches are skipped; a truncated tail is ignored as
 * Kafka clients do. Null values are passed as an empty range.
 */
export function forEachRecordValue(
  records: Buffer, fromOffset: number, recordsBytesMax: number, visit: RecordVisitor,
): number {
  let next = fromOffset;
  let position = 0;
  while (records.length - position >= BATCH_HEADER_BYTES) {
    const sizeBytes = BATCH_LOG_OVERHEAD_BYTES + records.readInt32BE(position + BATCH_LENGTH_POSITION);
    if (sizeBytes < BATCH_HEADER_BYTES || position + sizeBytes > records.length) break;
    const baseOffset = readInt64(records, position);
    const attributes = records.readInt16BE(position + BATCH_ATTRIBUTES_POSITION);
    const recordCount = records.readInt32BE(position + 57);
    const lastOffset = baseOffset + records.readInt32BE(position + 23);
    if (lastOffset >= fromOffset && (attributes & ATTRIBUTE_CONTROL) === 0) {
      const codec = codecOf(attributes & ATTRIBUTE_CODEC_MASK);
      let area: Buffer;
      const raw = records.subarray(position + BATCH_HEADER_BYTES, position + sizeBytes);
      if (codec === 'none') area = raw;
      else if (codec === 'gzip') area = gunzipSync(raw, { maxOutputLength: recordsBytesMax });
      else if (codec === 'zstd') area = zstdDecompressSync(raw, { maxOutputLength: recordsBytesMax });
      else throw new Error(`fetched a ${codec} batch; this client reads none, gzip and zstd`);
      visitRecords(area, baseOffset, recordCount, fromOffset, visit);
    }
    next = Math.max(next, lastOffset + 1);
    position += sizeBytes;
  }
  return next;
}

function visitRecords(area: Buffer, baseOffset: number, recordCount: number, fromOffset: number,
  visit: RecordVisitor): void {
  cursor.position = 0;
  for (let index = 0; index < recordCount; index++) {
    const length = readVarint(area, cursor);
    const end = cursor.position + length;
    if (length < 0 || end > area.length) throw new Error(`record length ${length} runs past the batch`);
    cursor.position += 1;
    readVarint(area, cursor);
    const offset = baseOffset + readVarint(area, cursor);
    const keyBytes = readVarint(area, cursor);
    if (keyBytes > 0) cursor.position += keyBytes;
    const valueBytes = readVarint(area, cursor);
    const valueStart = cursor.position;
    const valueEnd = valueBytes > 0 ? valueStart + valueBytes : valueStart;
    if (valueEnd > end) throw new Error(`record value of ${valueBytes} bytes runs past its record`);
    if (offset >= fromOffset) visit(area, valueStart, valueEnd, offset);
    cursor.position = end;
  }
}
