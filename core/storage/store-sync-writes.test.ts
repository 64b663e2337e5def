/**
 * Goal: with the entry-set policy a store writes its segments O_DSYNC (each write durable when it
 * returns, no fdatasync after it), with the interval and bytes policies it writes plainly and
 * fdatasyncs; either way every entry reported durable reads back, across a segment roll and a reopen.
 * Method: real files in a temp directory; the open flags of the writer's segment file descriptor
 * from /proc/self/fdinfo (Linux); the durable seq from onDurable.
 */
import { constants, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, type StoreOptions } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Open flags of this process's descriptors on files under `dir`. */
function openFlags(dir: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try { target = readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (!target.startsWith(dir) || !target.endsWith('.seg')) continue;
    const line = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    flags.push(Number.parseInt(line ?? '0', 8));
  }
  return flags;
}

async function writeAndReopen(sync: StoreOptions['sync']) {
  const dir = mkdtempSync(join(tmpdir(), 'x2-store-sync-'));
  dirs.push(dir);
  let durable = 0;
  const writeSeconds: number[] = [];
  const syncSeconds: number[] = [];
  const store = await Store.open({ dir, sync, segmentBytesMax: 256 * 1024,
    observeWriteSeconds: (seconds) => writeSeconds.push(seconds),
    observeSyncSeconds: (seconds) => syncSeconds.push(seconds) });
  store.onDurable((seq) => { durable = seq; });
  const batches: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const batch = syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1,
      bytes: 16 * 1024, fill: i });
    batches.push(batch);
    store.append({ seq: i + 1, epoch: 1, streamId: 9, baseOffset: i, recordCount: 1, batch });
    if (i % 4 === 3) await store.sync();
  }
  await store.sync();
  const flags = openFlags(dir);
  const fsyncs = store.metrics.fsyncs;
  const segments = store.segmentFiles().length;
  await store.close();
  const reopened = await Store.open({ dir, sync });
  const read: Buffer[] = [];
  while (read.length < batches.length) read.push(...await reopened.read(9, read.length, 1 << 20));
  await reopened.close();
  const same = read.every((batch, i) => batch.equals(batches[i]!));
  return { durable, flags, fsyncs, segments, writeSeconds, syncSeconds, same };
}

describe('Store sync writes', () => {
  it('entry-set: segments are written O_DSYNC, every entry is durable and reads back after a roll and a reopen',
    async () => {
      const result = await writeAndReopen({ kind: 'entry-set' });
      expect(result.flags.length).toBe(1); // the writer's one open segment
      expect(result.flags[0]! & constants.O_DSYNC).toBe(constants.O_DSYNC);
      expect(result.segments).toBeGreaterThan(1);
      expect(result.durable).toBe(40);
      expect(result.fsyncs).toBeGreaterThanOrEqual(10); // one sync point per awaited sync
      expect(result.same).toBe(true);
      // Each write is timed (x2_store_write_seconds): at least one per awaited sync, each well
      // under the test's time; no fdatasync is made, so none is timed.
      expect(result.writeSeconds.length).toBeGreaterThanOrEqual(10);
      expect(result.writeSeconds.every((seconds) => seconds >= 0 && seconds < 30)).toBe(true);
      expect(result.syncSeconds).toEqual([]);
    });

  for (const sync of [{ kind: 'interval', intervalMs: 5 }, { kind: 'bytes', bytes: 64 * 1024 }] as const) {
    it(`${sync.kind}: segments are written plainly and fdatasynced; every entry reads back`, async () => {
      const result = await writeAndReopen(sync);
      expect(result.flags.length).toBe(1);
      expect(result.flags[0]! & constants.O_DSYNC).toBe(0);
      expect(result.durable).toBe(40);
      expect(result.fsyncs).toBeGreaterThan(0);
      expect(result.same).toBe(true);
      expect(result.writeSeconds.length).toBeGreaterThan(0);
      // Every fdatasync is timed (x2_store_fdatasync_seconds), those of segment rolls too.
      expect(result.syncSeconds.length).toBe(result.fsyncs);
    });
  }
});
