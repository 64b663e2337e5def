/**
 * Goal: a store drops the page cache of synced segment bytes more than `pageCacheKeepBytes`
 * behind the end (or keeps every page with null), and what it dropped still reads back intact.
 * Method: real files in a temp directory, ~32 MiB of 256 KiB entries synced in sets; pages
 * resident per segment file from util-linux's fincore (mincore of a mapping).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const MiB = 1024 * 1024;
const ENTRY_BYTES = 256 * 1024;
const ENTRIES = 128;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function residentBytes(file: string): number {
  const json = JSON.parse(execFileSync('fincore', ['--bytes', '--json', file], { encoding: 'utf8' })) as {
    fincore: Array<{ res: number | string }>;
  };
  return Number(json.fincore[0]?.res);
}

async function writeStore(pageCacheKeepBytes: number | null, segmentBytesMax?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'x2-store-cache-'));
  dirs.push(dir);
  const store = await Store.open({ dir, sync: { kind: 'entry-set' }, pageCacheKeepBytes,
    ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }) });
  const batches: Buffer[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    const batch = syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1000 + i, maxTimestampMs: 1000 + i,
      bytes: ENTRY_BYTES, fill: i });
    batches.push(batch);
    store.append({ seq: i + 1, epoch: 1, streamId: 5, baseOffset: i, recordCount: 1, batch });
    if (i % 8 === 7) await store.sync();
  }
  await store.sync();
  return { store, batches };
}

async function readAll(store: Store): Promise<Buffer[]> {
  const read: Buffer[] = [];
  while (read.length < ENTRIES) read.push(...await store.read(5, read.length, 4 * MiB));
  return read;
}

describe('Store page cache', () => {
  it('drops synced pages behind the keep window, and they read back intact from disk', async () => {
    const { store, batches } = await writeStore(1 * MiB);
    const [segment] = store.segmentFiles();
    await store.close();
    expect(segment!.bytes).toBeGreaterThan(32 * MiB);
    // The 1 MiB window, and what the kernel's last pass left (see #dropBehind): of 32 MiB.
    expect(residentBytes(segment!.file)).toBeLessThanOrEqual(5 * MiB);
    const reopened = await Store.open({ dir: dirs[0]!, sync: { kind: 'entry-set' } });
    expect(await readAll(reopened)).toEqual(batches);
    await reopened.close();
  });

  it('keeps every page with null, and counts nothing dropped', async () => {
    const { store } = await writeStore(null);
    const [segment] = store.segmentFiles();
    expect(store.metrics.pageCacheDroppedBytes).toBe(0);
    await store.close();
    expect(residentBytes(segment!.file)).toBeGreaterThanOrEqual(segment!.bytes - 4096);
  });

  it('drops sealed segments too when the store rolls', async () => {
    const { store, batches } = await writeStore(1 * MiB, 8 * MiB);
    const segments = store.segmentFiles();
    expect(segments.length).toBeGreaterThanOrEqual(4);
    expect(store.metrics.pageCacheDroppedBytes).toBeGreaterThanOrEqual(20 * MiB);
    await store.close();
    // A sealed segment keeps its last 1 MiB and what the kernel's last pass left (of 7.75 MiB).
    const resident = segments.slice(0, -1).map((segment) => residentBytes(segment.file));
    for (const bytes of resident) expect(bytes).toBeLessThanOrEqual(3 * MiB);
    const reopened = await Store.open({ dir: dirs[0]!, sync: { kind: 'entry-set' } });
    expect(await readAll(reopened)).toEqual(batches);
    await reopened.close();
  });
});
