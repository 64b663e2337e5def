/**
 * Builds the RecordBatch v2 that carries x2's own records (`__x2_control`, `__consumer_offsets`,
 * gateway membership) through the sequencer, and reads their values back. The sequencer accepts
 * only Kafka batches, so internal records travel as ordinary uncompressed batches: one record per
 * value, key null, no headers, CreateTime = now. Applying them on every gateway in river order is
 * what makes cluster state agree (DESIGN §7).
 *
 * Bounds: a batch holds at most INTERNAL_VALUES_MAX values; callers split larger sets.
 */
import { crc32c } from '../../../native/index.ts';
import { assert } from '../../base/assert.ts';
import {
  BATCH_ATTRIBUTES_POSITION, BATCH_CRC_POSITION, BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, decodeRecords,
} from '../../kafka/record-batch.ts';

export const INTERNAL_VALUES_MAX = 10_000;

function zigzagVarintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes += 1;
  }
  return bytes;
}

function writeZigzagVarint(target: Buffer, position: number, value: number): number {
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

/** One uncompressed batch of `values` (each one record), baseOffset 0, no producer id. */
export function buildInternalBatch(values: readonly Uint8Array[], timestampMs = Date.now()): Buffer {
  assert(values.length >= 1 && values.length <= INTERNAL_VALUES_MAX,
    `an internal batch holds 1..${INTERNAL_VALUES_MAX} values`);
  const bodySizes = values.map((value, index) =>
    1 + 1 + zigzagVarintBytes(index) + 1 + zigzagVarintBytes(value.length) + value.length + 1);
  let bytes = BATCH_HEADER_BYTES;
  for (const size of bodySizes) bytes += zigzagVarintBytes(size) + size;
  const batch = Buffer.alloc(bytes);
  batch.writeInt32BE(bytes - BATCH_LOG_OVERHEAD_BYTES, 8);
  batch.writeInt8(2, 16);
  batch.writeInt32BE(values.length - 1, 23);
  writeInt64(batch, 27, timestampMs);
  writeInt64(batch, 35, timestampMs);
  writeInt64(batch, 43, -1);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(values.length, 57);
  let position = BATCH_HEADER_BYTES;
  values.forEach((value, index) => {
    position = writeZigzagVarint(batch, position, bodySizes[index]!);
    batch[position++] = 0; // attributes
    position = writeZigzagVarint(batch, position, 0); // timestamp delta
    position = writeZigzagVarint(batch, position, index); // offset delta
    position = writeZigzagVarint(batch, position, -1); // key: null
    position = writeZigzagVarint(batch, position, value.length);
    batch.set(value, position);
    position += value.length;
    position = writeZigzagVarint(batch, position, 0); // no headers
  });
  assert(position === bytes, 'internal batch size mismatch');
  batch.writeUInt32BE(crc32c(batch, 0, BATCH_ATTRIBUTES_POSITION, bytes), BATCH_CRC_POSITION);
  return batch;
}

/** The values of an internal batch; throws KafkaDecodeError on a malformed one. */
export function internalBatchValues(batch: Buffer): Buffer[] {
  const decoded = decodeRecords(batch, 64 * 1024 * 1024);
  if (!decoded.decoded) return [];
  const values: Buffer[] = [];
  for (const record of decoded.records) if (record.value !== null) values.push(record.value);
  return values;
}
