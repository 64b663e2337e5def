/**
 * Goal: a caller that gives a batch's CRC-32C (EntryInput.batchCrc, a commit that derived it from
 * checked river fragments) gets the very same stored bytes as one that does not: the frame CRC
 * joined from it (crc32cCombine) equals the one read from the batch, on the copy path and the
 * gathered (view) path. And the given CRC is really what is stored: a wrong one is refused on read.
 * Method: fast-check runs append the same entries to two stores, one with batchCrc and one
 * without, then compare their segment files byte for byte.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { crc32c } from '../../native/index.ts';
import { GATHER_BATCH_BYTES_MIN, Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const seed = testSeed('store batch crc');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function storeOf(batches: Buffer[],
  batchCrcs: Array<number | undefined>): Promise<{ dir: string; files: Buffer[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'x2-store-batch-crc-'));
  dirs.push(dir);
  const store = await Store.open({ dir, sync: { kind: 'entry-set' }, writeBufferBytes: 8 * 1024 * 1024 });
  batches.forEach((batch, i) => store.append({ seq: i + 1, epoch: 1, streamId: 3, baseOffset: i, recordCount: 1,
    batch, batchCrc: batchCrcs[i] }));
  await store.sync();
  const files = store.segmentFiles().map((segment) => readFileSync(segment.file));
  await store.close();
  return { dir, files };
}

describe('Store with the caller\'s batch CRC', () => {
  it('stores the same bytes as without it, copied or gathered', async () => {
    const large = fc.integer({ min: GATHER_BATCH_BYTES_MIN - 2, max: 3 * GATHER_BATCH_BYTES_MIN });
    const sizes = fc.array(fc.oneof(fc.integer({ min: 80, max: 3000 }), large), { minLength: 1, maxLength: 12 });
    await fc.assert(fc.asyncProperty(sizes, async (batchBytes) => {
      const batches = batchBytes.map((bytes, i) => syntheticBatch({ baseOffset: i, recordCount: 1,
        baseTimestampMs: 1000 + i, maxTimestampMs: 1000 + i, bytes, fill: i % 251 }));
      const given = await storeOf(batches, batches.map((batch) => crc32c(batch)));
      const computed = await storeOf(batches, batches.map(() => undefined));
      expect(given.files.length).toBe(computed.files.length);
      given.files.forEach((file, i) => expect(file.equals(computed.files[i]!)).toBe(true));
    }), { seed, numRuns: 20 });
  });

  it('stores what it is given: a wrong batch CRC makes a frame that fails its check on read', async () => {
    for (const bytes of [2000, GATHER_BATCH_BYTES_MIN + 10]) {
      const batches = [0, 1, 2].map((i) => syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1,
        maxTimestampMs: 1, bytes, fill: 7 }));
      const { dir } = await storeOf(batches, [undefined, (crc32c(batches[1]!) ^ 1) >>> 0, undefined]);
      const store = await Store.open({ dir, sync: { kind: 'entry-set' } });
      try {
        await expect(store.readBySeq(1, 1024 * 1024)).rejects.toMatchObject({ code: 'X2_ERR_SEGMENT_CRC',
          message: expect.stringMatching(new RegExp(`position ${32 + 40 + bytes} `)) }); // the second frame
        expect(store.metrics.corruptEntriesDetected).toBeGreaterThan(0);
      } finally {
        await store.close();
      }
    }
  });
});
