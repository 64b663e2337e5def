/**
 * Writes Kafka RecordBatch v2 (magic 2, uncompressed, CreateTime or LogAppendTime, no producer id) for records
 * that x2 itself produces: sidecar outputs, dead letters and checkpoints. The batches go to the
 * sequencer as entries and are served to Kafka clients byte for byte, so they follow the format
 * exactly: big-endian header, zigzag varint record fields, CRC-32C (native/index.ts) over
 * attributes..end. baseOffset is 0 (the sequencer patches it); partitionLeaderEpoch is 0.
 *
 * Buffers: one writer owns one growable buffer, reused from batch to batch (`reset`); `finish`
 * returns a view of it that stays valid until the next `reset`. Bounds: a batch holds at most
 * `bytesMax` bytes (`add` refuses a record past it) and at most 2^31-1 records.
 */
import { crc32c } from '../../native/index.ts';
import { assert } from '../base/assert.ts';

export const BATCH_HEADER_BYTES = 61;
const BATCH_LOG_OVERHEAD_BYTES = 12;
const CRC_POSITION = 17;
const ATTRIBUTES_POSITION = 21;
const ATTRIBUTE_LOG_APPEND_TIME = 0x08;

export type RecordHeader = { key: string; value: Uint8Array | null };

export type WriterRecord = {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[];
  timestampMs: number;
};

export function varintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes += 1;
  }
  return bytes;
}

function writeVarint(target: Buffer, position: number, value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 128) {
    target[position++] = (zigzag % 128) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  target[position++] = zigzag;
  return position;
}

function writeInt64(target: Buffer, position: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  target.writeInt32BE(high, position);
  target.writeUInt32BE(value - high * 0x1_0000_0000, position + 4);
}

function bytesOrNull(target: Buffer, position: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(target, position, -1);
  position = writeVarint(target, position, bytes.length);
  target.set(bytes, position);
  return position + bytes.length;
}

export class RecordBatchWriter {
  readonly bytesMax: number;
  #buffer: Buffer;
  #position = BATCH_HEADER_BYTES;
  #count = 0;
  #firstTimestampMs = 0;
  #maxTimestampMs = 0;

  constructor(bytesMax = 8 * 1024 * 1024, initialBytes = 64 * 1024) {
    this.bytesMax = bytesMax;
    this.#buffer = Buffer.allocUnsafe(Math.min(initialBytes, bytesMax));
  }

  get recordCount(): number { return this.#count; }
  get sizeBytes(): number { return this.#position; }

  reset(): void {
    this.#position = BATCH_HEADER_BYTES;
    this.#count = 0;
  }

  /** The bytes one record adds to the batch (for callers that split by size). */
  static recordBytes(record: WriterRecord, offsetDelta: number, timestampDelta: number): number {
    const body = RecordBatchWriter.#bodyBytes(record, offsetDelta, timestampDelta);
    return varintBytes(body) + body;
  }

  static #bodyBytes(record: WriterRecord, offsetDelta: number, timestampDelta: number): number {
    let bytes = 1 + varintBytes(timestampDelta) + varintBytes(offsetDelta);
    bytes += record.key === null ? 1 : varintBytes(record.key.length) + record.key.length;
    bytes += record.value === null ? 1 : varintBytes(record.value.length) + record.value.length;
    bytes += varintBytes(record.headers.length);
    for (const header of record.headers) {
      const keyBytes = Buffer.byteLength(header.key);
      bytes += varintBytes(keyBytes) + keyBytes;
      bytes += header.value === null ? 1 : varintBytes(header.value.length) + header.value.length;
    }
    return bytes;
  }

  /** Appends one record; false (and nothing written) when it would pass `bytesMax`. */
  add(record: WriterRecord): boolean {
    if (this.#count === 0) {
      this.#firstTimestampMs = record.timestampMs;
      this.#maxTimestampMs = record.timestampMs;
    }
    const timestampDelta = record.timestampMs - this.#firstTimestampMs;
    const body = RecordBatchWriter.#bodyBytes(record, this.#count, timestampDelta);
    const total = varintBytes(body) + body;
    if (this.#position + total > this.bytesMax) return false;
    this.#ensure(this.#position + total);
    const buffer = this.#buffer;
    let position = writeVarint(buffer, this.#position, body);
    buffer[position++] = 0; // record attributes
    position = writeVarint(buffer, position, timestampDelta);
    position = writeVarint(buffer, position, this.#count);
    position = bytesOrNull(buffer, position, record.key);
    position = bytesOrNull(buffer, position, record.value);
    position = writeVarint(buffer, position, record.headers.length);
    for (const header of record.headers) {
      const keyBytes = Buffer.byteLength(header.key);
      position = writeVarint(buffer, position, keyBytes);
      buffer.write(header.key, position, 'utf8');
      position += keyBytes;
      position = bytesOrNull(buffer, position, header.value);
    }
    assert(position === this.#position + total, 'record size mismatch');
    this.#position = position;
    this.#count += 1;
    if (record.timestampMs > this.#maxTimestampMs) this.#maxTimestampMs = record.timestampMs;
    return true;
  }

  /** Completes the header and CRC; the view is valid until the next `reset`. */
  /**
   * `logAppendTimeMs`: for a topic with message.timestamp.type=LogAppendTime, the batch is written
   * as Kafka's leader stamps one: the timestamp-type attribute set and this as its max timestamp.
   */
  finish(logAppendTimeMs?: number): Buffer {
    assert(this.#count > 0, 'a batch holds at least one record');
    const buffer = this.#buffer;
    const bytes = this.#position;
    writeInt64(buffer, 0, 0);
    buffer.writeInt32BE(bytes - BATCH_LOG_OVERHEAD_BYTES, 8);
    buffer.writeInt32BE(0, 12);
    buffer.writeInt8(2, 16);
    buffer.writeInt16BE(logAppendTimeMs === undefined ? 0 : ATTRIBUTE_LOG_APPEND_TIME, ATTRIBUTES_POSITION);
    buffer.writeInt32BE(this.#count - 1, 23);
    writeInt64(buffer, 27, this.#firstTimestampMs);
    writeInt64(buffer, 35, logAppendTimeMs ?? this.#maxTimestampMs);
    writeInt64(buffer, 43, -1);
    buffer.writeInt16BE(-1, 51);
    buffer.writeInt32BE(-1, 53);
    buffer.writeInt32BE(this.#count, 57);
    buffer.writeUInt32BE(crc32c(buffer, 0, ATTRIBUTES_POSITION, bytes), CRC_POSITION);
    return buffer.subarray(0, bytes);
  }

  #ensure(bytes: number): void {
    if (bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.min(this.bytesMax, Math.max(bytes, this.#buffer.length * 2)));
    this.#buffer.copy(grown, 0, 0, this.#position);
    this.#buffer = grown;
  }
}
