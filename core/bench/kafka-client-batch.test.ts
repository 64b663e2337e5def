/**
 * BatchBuilder and forEachRecordValue: batches the bench writes must be valid RecordBatch v2
 * for x2's own validator (sizes, magic, CRC-32C, counts) and decode back to the same keys,
 * values, timestamps and offsets, uncompressed, gzip and zstd; reading must skip records below
 * the fetch offset and ignore a truncated tail as Kafka clients do. Method: seeded random
 * records (fast-check) through build, validate (core/kafka/record-batch.ts), patch, read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { decodeRecords, patchRecordBatch, splitRecordBatches } from '../kafka/record-batch.ts';
import { BatchBuilder, forEachRecordValue } from './kafka-client-batch.ts';
import type { Compression } from './workload.ts';

const seed = testSeed('bench kafka batch');

const recordArbitrary = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.uint8Array({ maxLength: 3000 }),
  timestampDeltaMs: fc.integer({ min: 0, max: 100_000 }),
});

function build(records: Array<{ key: Uint8Array | null; value: Uint8Array; timestampDeltaMs: number }>,
  compression: Compression): Buffer {
  const builder = new BatchBuilder(64);
  const baseMs = 1_790_000_000_000;
  for (const record of records) {
    builder.append(record.key === null ? null : Buffer.from(record.key), Buffer.from(record.value),
      baseMs + record.timestampDeltaMs, 0);
  }
  return Buffer.from(builder.seal(compression));
}

describe('BatchBuilder', () => {
  for (const compression of ['none', 'gzip', 'zstd'] as const) {
    it(`builds valid ${compression} batches that read back record for record`, () => {
      fc.assert(fc.property(fc.array(recordArbitrary, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 2 ** 40 }), (records, baseOffset) => {
          const batch = build(records, compression);
          const split = splitRecordBatches(batch, { batchBytesMax: 16 * 1024 * 1024, fromProducer: true });
          expect(split.failure).toBeNull();
          expect(split.batches).toHaveLength(1);
          expect(split.batches[0]!.header.recordCount).toBe(records.length);
          patchRecordBatch(batch, baseOffset, 3);
          if (compression !== 'zstd') {
            const decoded = decodeRecords(batch, 64 * 1024 * 1024);
            expect(decoded.decoded).toBe(true);
            if (!decoded.decoded) return;
            decoded.records.forEach((record, index) => {
              const input = records[index]!;
              expect(record.offset).toBe(baseOffset + index);
              expect(record.timestamp).toBe(1_790_000_000_000 + input.timestampDeltaMs);
              expect(record.key === null ? null : [...record.key]).toEqual(input.key === null ? null : [...input.key]);
              expect([...(record.value ?? [])]).toEqual([...input.value]);
            });
          }
          const seen: Array<{ offset: number; value: number[] }> = [];
          const next = forEachRecordValue(batch, baseOffset, 64 * 1024 * 1024, (buffer, start, end, offset) => {
            seen.push({ offset, value: [...buffer.subarray(start, end)] });
          });
          expect(next).toBe(baseOffset + records.length);
          const expected = records.map((record, index) => ({ offset: baseOffset + index, value: [...record.value] }));
          expect(seen).toEqual(expected);
        }), { seed, numRuns: 60 });
    });
  }

  it('skips records below the fetch offset and ignores a truncated trailing batch', () => {
    const values = Array.from({ length: 10 },
      (_, index) => ({ key: null, value: Buffer.from([index]), timestampDeltaMs: 0 }));
    const first = build(values, 'none');
    patchRecordBatch(first, 0, 0);
    const second = build(values, 'none');
    patchRecordBatch(second, 10, 0);
    const records = Buffer.concat([first, second.subarray(0, second.length - 3)]);
    const seen: number[] = [];
    const next = forEachRecordValue(records, 4, 1 << 20, (buffer, start) => seen.push(buffer[start]!));
    expect(seen).toEqual([4, 5, 6, 7, 8, 9]);
    expect(next).toBe(10);
  });
});
