/**
 * Goal: batches of GATHER_BATCH_BYTES_MIN or more are written from the caller's bytes (no copy),
 * and the store hands each one back (onBatchesWritten) exactly once, only after its bytes are in
 * the file: a caller that reuses a handed-back buffer at once (the commit recycles river frames)
 * must never change what is stored.
 * Method: fast-check runs of mixed small and large batches, across segment rolls, small write
 * buffers (backpressure, several regions per write) and epoch changes. Every batch is
 * overwritten with garbage the moment it is handed back; after a reopen (recovery reads and
 * checks every frame's CRC) every batch must read back as appended, and each large batch must
 * have been handed back once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { X2Error } from '../base/errors.ts';
import { GATHER_BATCH_BYTES_MIN, Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const seed = testSeed('store gathered writes');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('Store gathered writes', () => {
  it('writes large batches from the caller\'s bytes and hands each back once, after its write', async () => {
    const large = fc.integer({ min: GATHER_BATCH_BYTES_MIN - 2, max: 3 * GATHER_BATCH_BYTES_MIN });
    const sizes = fc.array(fc.oneof(fc.integer({ min: 80, max: 3000 }), large), { minLength: 1, maxLength: 40 });
    await fc.assert(fc.asyncProperty(sizes, fc.integer({ min: 0, max: 2 }), async (batchBytes, setup) => {
      const dir = mkdtempSync(join(tmpdir(), 'x2-store-gather-'));
      dirs.push(dir);
      const handedBack = new Map<Uint8Array, number>();
      const options = {
        dir, sync: { kind: 'entry-set' } as const,
        writeBufferBytes: [512 * 1024, 1024 * 1024, 8 * 1024 * 1024][setup]!,
        segmentBytesMax: [400 * 1024, 2 * 1024 * 1024, 1024 ** 3][setup]!,
      };
      const store = await Store.open({
        ...options,
        onBatchesWritten: (batches) => {
          for (const batch of batches) {
            handedBack.set(batch, (handedBack.get(batch) ?? 0) + 1);
            batch.fill(0xee); // the caller reuses the bytes at once
          }
        },
      });
      const expected: Buffer[] = [];
      const appended: Buffer[] = [];
      for (let i = 0; i < batchBytes.length; i++) {
        const batch = syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1000 + i,
          maxTimestampMs: 1000 + i, bytes: batchBytes[i]!, fill: i % 251 });
        expected.push(Buffer.from(batch));
        appended.push(batch);
        const entry = { seq: i + 1, epoch: i < batchBytes.length / 2 ? 1 : 2, streamId: 5, baseOffset: i,
          recordCount: 1, batch };
        for (;;) {
          try {
            store.append(entry);
            break;
          } catch (error) {
            if (!(error instanceof X2Error && error.retriable)) throw error;
            await store.sync();
          }
        }
      }
      await store.sync();
      await store.close();
      for (const batch of appended) {
        expect(handedBack.get(batch) ?? 0).toBe(batch.length >= GATHER_BATCH_BYTES_MIN ? 1 : 0);
      }
      const reopened = await Store.open(options);
      try {
        expect(reopened.lastSeq).toBe(batchBytes.length);
        expect(await reopened.read(5, 0, 64 * 1024 * 1024)).toEqual(expected);
        const bySeq = await reopened.readBySeq(1, 64 * 1024 * 1024);
        expect(bySeq.map((entry) => entry.batch)).toEqual(expected);
        expect(reopened.metrics.corruptEntriesDetected).toBe(0);
      } finally {
        await reopened.close();
      }
    }), { seed, numRuns: 25 });
  });
});
