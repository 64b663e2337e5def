/**
 * Builds the RecordBatch v2 that carries x2's own records (`__x2_control`, `__consumer_offsets`,
 * gateway membership) through the sequencer, and reads their values back. The sequencer accepts
 * only Kafka batches, so internal records travel as ordinary uncompressed batches: one record per
 * value, key null, no headers, CreateTime = now. Applying them on every gateway in river order is
 * what makes cluster state agree (DESIGN §7).
 *
 * Bounds: a batch holds at most INTERNAL_VALUES_MAX values; callers split larger sets.
 */
import { assert } from '../../base/assert.ts';
import { decodeRecords } from '../../kafka/record-batch.ts';
import { BATCH_HEADER_BYTES, RecordBatchWriter, type RecordHeader, type WriterRecord } from
  '../../records/record-batch-writer.ts';

export const INTERNAL_VALUES_MAX = 10_000;

const NO_HEADERS: readonly RecordHeader[] = [];

/** One uncompressed batch of `values` (each one record), baseOffset 0, no producer id. */
export function buildInternalBatch(values: readonly Uint8Array[], timestampMs = Date.now()): Buffer {
  assert(values.length >= 1 && values.length <= INTERNAL_VALUES_MAX,
    `an internal batch holds 1..${INTERNAL_VALUES_MAX} values`);
  const records: WriterRecord[] = values.map((value) => ({ key: null, value, headers: NO_HEADERS, timestampMs }));
  let bytes = BATCH_HEADER_BYTES;
  records.forEach((record, index) => { bytes += RecordBatchWriter.recordBytes(record, index, 0); });
  // A writer of exactly this size, used once: the batch it finishes is not overwritten later.
  const writer = new RecordBatchWriter(bytes, bytes);
  for (const record of records) assert(writer.add(record), 'internal batch size mismatch');
  return writer.finish();
}

/** The values of an internal batch; throws KafkaDecodeError on a malformed one. */
export function internalBatchValues(batch: Buffer): Buffer[] {
  const decoded = decodeRecords(batch, 64 * 1024 * 1024);
  if (!decoded.decoded) return [];
  const values: Buffer[] = [];
  for (const record of decoded.records) if (record.value !== null) values.push(record.value);
  return values;
}
