/**
 * Synthetic Kafka RecordBatch v2 bytes for benchmarks and tests of the store: a valid batch
 * header (offsets, timestamps, record count, CRC32C over attributes..end) followed by filler
 * bytes in place of records. The store treats batches as opaque bytes, so only the header
 * fields it reads (maxTimestamp) and the length matter; the CRC keeps the bytes honest.
 */
import { crc32c } from '../../native/index.ts';
import { assert } from '../base/assert.ts';
import { RECORD_BATCH_HEADER_BYTES, writeU64 } from './format.ts';

export type SyntheticBatch = {
  baseOffset: number; recordCount: number; baseTimestampMs: number; maxTimestampMs: number; bytes: number;
  /** Filler seed: different seeds give different bytes. */
  fill?: number;
};

function writeI64(target: Buffer, value: number, position: number): void {
  target.writeInt32BE(Math.floor(value / 2 ** 32), position);
  target.writeUInt32BE(((value % 2 ** 32) + 2 ** 32) % 2 ** 32, position + 4);
}

export function syntheticBatch(spec: SyntheticBatch): Buffer {
  assert(spec.bytes >= RECORD_BATCH_HEADER_BYTES, `a batch is at least ${RECORD_BATCH_HEADER_BYTES} bytes`);
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
  for (let i = RECORD_BATCH_HEADER_BYTES; i < spec.bytes; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    batch[i] = state >>> 24;
  }
  batch.writeUInt32BE(crc32c(batch, 0, 21, spec.bytes), 17);
  return batch;
}
