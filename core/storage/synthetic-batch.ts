/**
 * Synthetic Kafka RecordBatch v2 bytes for benchmarks and tests of the store: a valid batch
 * header (offsets, timestamps, record count, CRC32C over attributes..end) and `recordCount`
 * valid uncompressed records whose timestamps spread evenly from baseTimestampMs to
 * maxTimestampMs; the last record's value fills the batch to exactly `bytes` with seeded bytes.
 */
import { crc32c } from '../../native/index.ts';
import { assert } from '../base/assert.ts';
import { RECORD_BATCH_HEADER_BYTES, writeU64 } from './format.ts';

export type SyntheticBatch = {
  baseOffset: number; recordCount: number; baseTimestampMs: number; maxTimestampMs: number; bytes: number;
  /** Filler seed: different seeds give different bytes. */
  fill?: number;
};

/** The smallest `bytes` a synthetic batch of `recordCount` records can have. */
export function syntheticBatchBytesMin(recordCount: number): number {
  return RECORD_BATCH_HEADER_BYTES + recordCount * 16;
}

/** Timestamp delta of record `index`: evenly spread, the last one at maxTimestampMs. */
export function syntheticRecordTimestampMs(spec: SyntheticBatch, index: number): number {
  if (spec.recordCount === 1) return spec.maxTimestampMs;
  const spanMs = spec.maxTimestampMs - spec.baseTimestampMs;
  return spec.baseTimestampMs + Math.round((spanMs * index) / (spec.recordCount - 1));
}

function writeI64(target: Buffer, value: number, position: number): void {
  target.writeInt32BE(Math.floor(value / 2 ** 32), position);
  target.writeUInt32BE(((value % 2 ** 32) + 2 ** 32) % 2 ** 32, position + 4);
}

function varintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes += 1;
  }
  return bytes;
}

/** Writes a zigzag varint; `padBytes` extra continuation bytes (a valid, non-minimal encoding). */
function writeVarint(target: Buffer, value: number, position: number, padBytes = 0): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let at = position;
  let pad = padBytes;
  while (zigzag >= 128 || pad > 0) {
    if (zigzag < 128) pad -= 1;
    target[at++] = (zigzag % 128) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  target[at++] = zigzag;
  return at;
}

/** lengthPad: a record of one size cannot be built minimally (63 -> 64 body bytes grows the prefix). */
type RecordShape = {
  timestampDelta: number; offsetDelta: number; keyBytes: number; valueBytes: number; lengthPad: number;
};

function recordBodyBytes(r: RecordShape): number {
  const key = r.keyBytes < 0 ? varintBytes(-1) : varintBytes(r.keyBytes) + r.keyBytes;
  return 1 + varintBytes(r.timestampDelta) + varintBytes(r.offsetDelta) + key + varintBytes(r.valueBytes) +
    r.valueBytes + varintBytes(0);
}

function recordBytes(r: RecordShape): number {
  const body = recordBodyBytes(r);
  return varintBytes(body) + r.lengthPad + body;
}

/** The last record's value size (and length padding) that make it exactly `bytes` long. */
function fitLastRecord(timestampDelta: number, offsetDelta: number, bytes: number): RecordShape {
  for (const lengthPad of [0, 1]) {
    for (let valueBytes = Math.max(0, bytes - 24); valueBytes <= bytes; valueBytes++) {
      const shape = { timestampDelta, offsetDelta, keyBytes: -1, valueBytes, lengthPad };
      if (recordBytes(shape) === bytes) return shape;
    }
  }
  assert(false, `no record of exactly ${bytes} bytes`);
}

function writeRecord(target: Buffer, r: RecordShape, position: number, fill: () => number): number {
  let at = writeVarint(target, recordBodyBytes(r), position, r.lengthPad);
  target[at++] = 0; // attributes
  at = writeVarint(target, r.timestampDelta, at);
  at = writeVarint(target, r.offsetDelta, at);
  at = writeVarint(target, r.keyBytes < 0 ? -1 : r.keyBytes, at);
  for (let i = 0; i < r.keyBytes; i++) target[at++] = fill();
  at = writeVarint(target, r.valueBytes, at);
  for (let i = 0; i < r.valueBytes; i++) target[at++] = fill();
  return writeVarint(target, 0, at); // no headers
}

export function syntheticBatch(spec: SyntheticBatch): Buffer {
  assert(spec.recordCount >= 1 && spec.bytes >= syntheticBatchBytesMin(spec.recordCount),
    `a synthetic batch of ${spec.recordCount} records is at least ${syntheticBatchBytesMin(spec.recordCount)} bytes`);
  const batch = Buffer.alloc(spec.bytes);
  writeU64(batch, spec.baseOffset, 0);
  batch.writeInt32BE(spec.bytes - 12, 8); // batchLength: bytes after this field
  batch.writeInt32BE(0, 12); // partitionLeaderEpoch
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(0, 21); // attributes: no compression, CreateTime
  batch.writeInt32BE(spec.recordCount - 1, 23); // lastOffsetDelta
  writeI64(batch, spec.baseTimestampMs, 27);
  writeI64(batch, spec.maxTimestampMs, 35);
  writeI64(batch, -1, 43); // producerId
  batch.writeInt16BE(-1, 51); // producerEpoch
  batch.writeInt32BE(-1, 53); // baseSequence
  batch.writeInt32BE(spec.recordCount, 57);
  let state = (spec.fill ?? spec.baseOffset) >>> 0;
  const fill = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 24;
  };
  let position = RECORD_BATCH_HEADER_BYTES;
  for (let i = 0; i < spec.recordCount; i++) {
    const timestampDelta = syntheticRecordTimestampMs(spec, i) - spec.baseTimestampMs;
    const shape = i < spec.recordCount - 1
      ? { timestampDelta, offsetDelta: i, keyBytes: -1, valueBytes: 0, lengthPad: 0 }
      : fitLastRecord(timestampDelta, i, spec.bytes - position);
    position = writeRecord(batch, shape, position, fill);
  }
  assert(position === spec.bytes, 'synthetic batch size');
  batch.writeUInt32BE(crc32c(batch, 0, 21, spec.bytes), 17);
  return batch;
}
