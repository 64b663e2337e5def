/**
 * Goal: the record-level timestamp lookup finds the first record reaching a timestamp (and an
 * offset floor) in uncompressed batches, and falls back to the batch start (delta 0) whenever it
 * cannot be sure: compressed batches, LogAppendTime, bytes that do not parse as the records.
 * Method: synthetic batches with known record timestamps, then the same bytes altered.
 */
import { describe, expect, it } from 'vitest';
import { firstOffsetDeltaAtOrAfter } from './record-timestamps.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const spec = { baseOffset: 100, recordCount: 5, baseTimestampMs: 1000, maxTimestampMs: 1040, bytes: 300 };

describe('firstOffsetDeltaAtOrAfter', () => {
  it('finds the first record at or after the timestamp and the offset floor', () => {
    const batch = syntheticBatch(spec); // record timestamps 1000, 1010, 1020, 1030, 1040
    expect(firstOffsetDeltaAtOrAfter(batch, 999, 0)).toBe(0);
    expect(firstOffsetDeltaAtOrAfter(batch, 1000, 0)).toBe(0);
    expect(firstOffsetDeltaAtOrAfter(batch, 1001, 0)).toBe(1);
    expect(firstOffsetDeltaAtOrAfter(batch, 1035, 0)).toBe(4);
    expect(firstOffsetDeltaAtOrAfter(batch, 1005, 3)).toBe(3);
  });

  it('falls back to the batch start for compressed, LogAppendTime or malformed batches', () => {
    const compressed = syntheticBatch(spec);
    compressed[22] = 0x01;
    expect(firstOffsetDeltaAtOrAfter(compressed, 1035, 0)).toBe(0);
    const logAppendTime = syntheticBatch(spec);
    logAppendTime[22] = 0x08;
    expect(firstOffsetDeltaAtOrAfter(logAppendTime, 1035, 0)).toBe(0);
    const truncated = syntheticBatch(spec).subarray(0, 200);
    expect(firstOffsetDeltaAtOrAfter(truncated, 1035, 0)).toBe(0);
    const wrongCount = syntheticBatch(spec);
    wrongCount.writeInt32BE(4, 57);
    expect(firstOffsetDeltaAtOrAfter(wrongCount, 1035, 0)).toBe(0);
    expect(firstOffsetDeltaAtOrAfter(Buffer.alloc(20), 1035, 0)).toBe(0);
  });
});
