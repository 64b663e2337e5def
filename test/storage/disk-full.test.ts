/**
 * Goal: when the disk fills, appends fail with a clear, retriable X2_ERR_DISK_FULL, nothing
 * already durable is harmed, and appends work again once space is freed (without a restart);
 * every accepted entry ends up durable and readable, also after a reopen.
 * Method: mount a 4 MiB tmpfs (the test runs as root), fill it with a ballast file and a store
 * until the store reports the disk full, check what was durable, delete the ballast, wait
 * until appends are accepted again, then verify everything through the public API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X2Error } from '../../core/base/errors.ts';
import { Store, type StoreOptions } from '../../core/storage/store.ts';
import { syntheticBatch } from '../../core/storage/synthetic-batch.ts';
import { waitFor } from '../harness/wait-for.ts';

let mountDir = '';
let openStore: Store | null = null;

beforeAll(() => {
  mountDir = mkdtempSync(join(tmpdir(), 'x2s-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountDir]);
});

afterAll(async () => {
  if (!mountDir) return;
  await openStore?.close().catch(() => undefined);
  execFileSync('umount', ['--lazy', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});

const BATCH_BYTES = 4096;

function batchFor(seq: number, baseOffset: number): Buffer {
  return syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: seq, maxTimestampMs: seq, bytes: BATCH_BYTES,
    fill: seq });
}

function isCode(error: unknown, code: string): error is X2Error {
  return error instanceof X2Error && error.code === code;
}

describe('store on a full disk', () => {
  it('fails appends with a retriable X2_ERR_DISK_FULL and resumes once space is back', { timeout: 60_000 },
    async () => {
    const ballast = join(mountDir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(1024 * 1024));
    const options: StoreOptions = { dir: join(mountDir, 'store'), sync: { kind: 'entry-set' },
      segmentBytesMax: 512 * 1024, writeBufferBytes: 64 * 1024, diskFullRetryMs: 20 };
    const store = await Store.open(options);
    openStore = store;
    let durableSeq = 0;
    store.onDurable((seq) => { durableSeq = seq; });
    let seq = 0;
    let fullError: X2Error | null = null;
    const append = (): void => {
      store.append({ seq: seq + 1, epoch: 1, streamId: seq % 3, baseOffset: Math.floor(seq / 3), recordCount: 1,
        batch: batchFor(seq + 1, Math.floor(seq / 3)) });
      seq += 1;
    };
    while (fullError === null) {
      try {
        append();
      } catch (error) {
        if (isCode(error, 'X2_ERR_DISK_FULL')) fullError = error;
        else if (!isCode(error, 'X2_ERR_STORE_BACKPRESSURE')) throw error;
        else {
          try {
            await store.sync();
          } catch (syncError) {
            if (!isCode(syncError, 'X2_ERR_DISK_FULL')) throw syncError;
            fullError = syncError;
          }
        }
      }
      expect(seq).toBeLessThan(2000);
    }
    expect(fullError.retriable).toBe(true);
    expect(fullError.message).toMatch(/no space left on device; appends resume once space is freed/);
    expect(store.metrics.diskFullErrors).toBeGreaterThan(0);
    const acceptedBeforeFull = seq;
    expect(durableSeq).toBeGreaterThan(100);
    // Everything reported durable reads back while the disk is still full.
    const durableEntries = await store.readBySeq(1, durableSeq * BATCH_BYTES);
    expect(durableEntries.length).toBeGreaterThanOrEqual(durableSeq);
    for (const entry of durableEntries.slice(0, durableSeq)) expect(entry.batch.equals(batchFor(entry.seq,
      entry.baseOffset))).toBe(true);
    // Still full: appends keep failing clearly, nothing is accepted.
    expect(() => append()).toThrow(/no space left on device/);
    await expect(store.sync()).rejects.toThrow(/no space left on device/);
    expect(seq).toBe(acceptedBeforeFull);

    rmSync(ballast);
    await waitFor(() => {
      try {
        append();
        return true;
      } catch (error) {
        if (isCode(error, 'X2_ERR_DISK_FULL') || isCode(error, 'X2_ERR_STORE_BACKPRESSURE')) return false;
        throw error;
      }
    }, { timeoutMs: 20_000, what: 'appends accepted again after freeing space' });
    for (let i = 0; i < 20; i++) {
      try {
        append();
      } catch (error) {
        if (!isCode(error, 'X2_ERR_STORE_BACKPRESSURE')) throw error;
        await store.sync();
      }
    }
    expect(await store.sync()).toBe(seq);
    const all = await store.readBySeq(1, 1 << 30);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    for (const entry of all) expect(entry.batch.equals(batchFor(entry.seq, entry.baseOffset))).toBe(true);
    await store.close();

    const reopened = await Store.open(options);
    openStore = reopened;
    expect(reopened.lastSeq).toBe(seq);
    const again = await reopened.readBySeq(1, 1 << 30);
    expect(again.length).toBe(seq);
    for (const entry of again) expect(entry.batch.equals(batchFor(entry.seq, entry.baseOffset))).toBe(true);
    expect((await reopened.read(1, 0, 1 << 30)).length).toBe(reopened.stream(1)?.nextOffset);
    await reopened.close();
  });
});
