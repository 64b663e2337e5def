/**
 * Record-level timestamp lookup inside one stored Kafka RecordBatch v2, for ListOffsets by
 * timestamp: the index finds the first batch whose max timestamp reaches the target, and this
 * finds the first record in it that does.
 *
 * Only uncompressed CreateTime batches are walked (records: varint length, attributes,
 * varint timestampDelta, varint offsetDelta, ...). For compressed or LogAppendTime batches, or
 * bytes that do not parse as exactly recordCount records, the answer is the batch's base offset,
 * which is never later than the true answer. Bounded: one pass over the batch, no allocation.
 */
import { readI64 } from './format.ts';

const BATCH_BASE_TIMESTAMP_POSITION = 27;
const BATCH_ATTRIBUTES_POSITION = 21;
const BATCH_RECORD_COUNT_POSITION = 57;
const BATCH_RECORDS_POSITION = 61;
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME_FLAG = 0x08;

/** Reads a zigzag varint at cursor[0]; advances it; returns null past `end` or when too long. */
function readVarint(bytes: Uint8Array, cursor: number[], end: number): number | null {
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    const position = cursor[0] ?? end;
    if (position >= end) return null;
    const byte = bytes[position] ?? 0;
    cursor[0] = position + 1;
    value += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    factor *= 128;
  }
  return null;
}

/**
 * The offset delta of the first record with timestamp >= `timestampMs` and offset delta >=
 * `offsetDeltaMin`, or 0 when the batch cannot be walked (see the header).
 */
export function firstOffsetDeltaAtOrAfter(batch: Uint8Array, timestampMs: number, offsetDeltaMin: number): number {
  if (batch.length < BATCH_RECORDS_POSITION) return 0;
  const attributes = batch[BATCH_ATTRIBUTES_POSITION + 1] ?? 0;
  if ((attributes & (COMPRESSION_MASK | LOG_APPEND_TIME_FLAG)) !== 0) return 0;
  const baseTimestampMs = readI64(batch, BATCH_BASE_TIMESTAMP_POSITION);
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const recordCount = view.getInt32(BATCH_RECORD_COUNT_POSITION);
  const cursor = [BATCH_RECORDS_POSITION];
  let found: number | null = null;
  for (let i = 0; i < recordCount; i++) {
    const length = readVarint(batch, cursor, batch.length);
    const start = cursor[0] ?? batch.length;
    if (length === null || length < 0 || start + length > batch.length) return 0;
    cursor[0] = start + 1; // attributes
    const timestampDelta = readVarint(batch, cursor, start + length);
    const offsetDelta = readVarint(batch, cursor, start + length);
    if (timestampDelta === null || offsetDelta === null) return 0;
    if (found === null && offsetDelta >= offsetDeltaMin && baseTimestampMs + timestampDelta >= timestampMs) {
      found = offsetDelta;
    }
    cursor[0] = start + length;
  }
  return cursor[0] === batch.length && found !== null ? found : 0;
}
