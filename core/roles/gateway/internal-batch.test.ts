/**
 * Internal batches: x2's own records travel as Kafka RecordBatch v2. Method: build batches of
 * a few values and check that record-batch.ts accepts them as a producer's (valid CRC, counts)
 * and that the values read back are the ones written, for empty and large values too.
 */
import { describe, expect, it } from 'vitest';
import { splitRecordBatches } from '../../kafka/record-batch.ts';
import { buildInternalBatch, internalBatchValues } from './internal-batch.ts';

describe('internal batches', () => {
  it('are valid RecordBatch v2 and give their values back', () => {
    const values = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last')];
    const batch = buildInternalBatch(values, 1_700_000_000_000);
    const split = splitRecordBatches(batch, { batchBytesMax: 1 << 20, fromProducer: true });
    expect(split.failure).toBeNull();
    expect(split.batches[0]!.header).toMatchObject({ recordCount: 4, lastOffsetDelta: 3, producerId: -1,
      maxTimestamp: 1_700_000_000_000 });
    const hex = (value: Buffer): string => value.toString('hex');
    expect(internalBatchValues(batch).map(hex)).toEqual(values.map(hex));
  });
});
