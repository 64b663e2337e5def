/**
 * Goal: a small write is made on the event loop's own thread, so an acknowledgement does not wait
 * for a libuv pool thread (busy with LevelDB, page-cache drops or anything else); a large write
 * still goes to the pool; either way every entry is durable and reads back after a reopen.
 * Method: real files in a temp directory. The pool's threads are kept busy with pbkdf2 jobs (which
 * run there); a small append and sync() must then finish before any of those jobs, while with
 * inline writes turned off (inlineWriteBytesMax 0) the same sync waits behind them.
 */
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INLINE_WRITE_BYTES_MAX, Store, type StoreOptions } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

function batchOf(index: number, bytes: number): Buffer {
  return syntheticBatch({ baseOffset: index, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1, bytes,
    fill: index });
}

/** pbkdf2 iterations that take about `ms` on this machine. */
function iterationsFor(ms: number): number {
  const startMs = performance.now();
  pbkdf2Sync('x', 'y', 20_000, 32, 'sha256');
  const perIterationMs = (performance.now() - startMs) / 20_000;
  return Math.ceil(ms / perIterationMs);
}

/** Occupies every pool thread for about `ms`; resolves with the time the first job ended. */
function busyPool(ms: number): Promise<number> {
  const iterations = iterationsFor(ms);
  const jobs = Array.from({ length: POOL_THREADS }, () => new Promise<number>((resolve, reject) => {
    pbkdf2('x', 'y', iterations, 32, 'sha256', (error) => (error ? reject(error) : resolve(performance.now())));
  }));
  return Promise.race(jobs).then(async (firstMs) => {
    await Promise.all(jobs);
    return firstMs;
  });
}

async function openStore(options: Partial<StoreOptions>): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'x2-store-inline-'));
  dirs.push(dir);
  const store = await Store.open({ dir, sync: { kind: 'entry-set' }, ...options });
  // The segment file is opened (in the pool) by the first write: done before the pool gets busy.
  store.append({ seq: 1, epoch: 1, streamId: 9, baseOffset: 0, recordCount: 1, batch: batchOf(0, 100) });
  await store.sync();
  return { store, dir };
}

/** Appends a small entry while the pool is busy; when did its sync end, and when did the pool free up. */
async function smallSyncUnderBusyPool(store: Store): Promise<{ syncedMs: number; poolFreeMs: number }> {
  const pool = busyPool(400);
  store.append({ seq: 2, epoch: 1, streamId: 9, baseOffset: 1, recordCount: 1, batch: batchOf(1, 1000) });
  await store.sync();
  const syncedMs = performance.now();
  return { syncedMs, poolFreeMs: await pool };
}

describe('Store inline writes', () => {
  it('a small write does not wait for the libuv pool; with inline writes off it does', async () => {
    const inline = await openStore({});
    const withInline = await smallSyncUnderBusyPool(inline.store);
    expect(withInline.syncedMs).toBeLessThan(withInline.poolFreeMs);
    expect(inline.store.metrics.inlineWrites).toBe(2);
    expect(inline.store.durableSeq).toBe(2);
    await inline.store.close();

    const pooled = await openStore({ inlineWriteBytesMax: 0 });
    const withoutInline = await smallSyncUnderBusyPool(pooled.store);
    expect(withoutInline.syncedMs).toBeGreaterThanOrEqual(withoutInline.poolFreeMs);
    expect(pooled.store.metrics.inlineWrites).toBe(0);
    await pooled.store.close();
  });

  it('small writes inline, large ones in the pool; every entry reads back after a reopen', async () => {
    const { store, dir } = await openStore({ segmentBytesMax: 256 * 1024 });
    const batches = [batchOf(0, 100)];
    let seq = 1;
    for (const bytes of [1000, 4000, INLINE_WRITE_BYTES_MAX / 2, 3 * INLINE_WRITE_BYTES_MAX, 200, 100_000, 80]) {
      const batch = batchOf(seq, bytes);
      batches.push(batch);
      seq += 1;
      store.append({ seq, epoch: 1, streamId: 9, baseOffset: seq - 1, recordCount: 1, batch });
      await store.sync();
    }
    // 6 writes fit 64 KiB (the first, 1000, 4000, 32 KiB, 200, 80); 192 KiB and 100,000 bytes do not.
    expect(store.metrics.inlineWrites).toBe(6);
    expect(store.metrics.fsyncs).toBe(8);
    expect(store.durableSeq).toBe(8);
    expect(store.segmentFiles().length).toBeGreaterThan(1);
    await store.close();
    const reopened = await Store.open({ dir, sync: { kind: 'entry-set' } });
    const read: Buffer[] = [];
    while (read.length < batches.length) read.push(...await reopened.read(9, read.length, 1 << 20));
    await reopened.close();
    expect(read.length).toBe(batches.length);
    for (let i = 0; i < batches.length; i++) expect(read[i]!.equals(batches[i]!)).toBe(true);
  });
});
