/**
 * Goal: the format-2 index (parts shared by all streams of an index write, a sparse per-stream
 * directory of spans) finds every batch and timestamp of many streams across many index writes:
 * spans closed by write count, by entry count and by idleness, reopen (open spans closed from the
 * summaries), log start moves, store-wide retention, truncation; and a format-1 index is rebuilt
 * from the segments.
 * Method: a seeded random workload over 40 streams with an index write after each sync
 * (indexLagMsMax 0), reads of every stream from random offsets and timestamp lookups compared
 * with arrays of what was appended; then a store whose index format key is removed (what a
 * format-1 index lacks) is reopened and must come back whole, log starts included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { PART_ENTRIES, SPAN_ENTRIES, SPAN_WRITES, TAG, tagOnlyKey } from './index-keys.ts';
import { Store, type StoreOptions } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Appended = { baseOffset: number; recordCount: number; maxTimestampMs: number; bytes: Buffer; seq: number };

class Workload {
  readonly streams = new Map<number, { logStart: number; batches: Appended[] }>();
  seq = 0;

  next(streamId: number): number {
    const stream = this.streams.get(streamId);
    const last = stream?.batches.at(-1);
    return last === undefined ? 0 : last.baseOffset + last.recordCount;
  }

  append(store: Store, streamId: number, recordCount: number, maxTimestampMs: number, bytes: number): void {
    const baseOffset = this.next(streamId);
    this.seq += 1;
    const batch = syntheticBatch({ baseOffset, recordCount, baseTimestampMs: maxTimestampMs, maxTimestampMs, bytes,
      fill: this.seq & 0xff });
    store.append({ seq: this.seq, epoch: 1, streamId, baseOffset, recordCount, batch });
    let stream = this.streams.get(streamId);
    if (stream === undefined) this.streams.set(streamId, (stream = { logStart: 0, batches: [] }));
    stream.batches.push({ baseOffset, recordCount, maxTimestampMs, bytes: batch, seq: this.seq });
  }

  /** Every batch from the one holding `offset` (reads with a large maxBytes). */
  from(streamId: number, offset: number): Buffer[] {
    return (this.streams.get(streamId)?.batches ?? []).filter((b) => b.baseOffset + b.recordCount > offset)
      .map((b) => b.bytes);
  }

  /** One-record batches here: the first offset at or after the log start whose timestamp reaches `timestampMs`. */
  offsetForTimestamp(streamId: number, timestampMs: number): number | null {
    const stream = this.streams.get(streamId);
    const found = stream?.batches.find((b) => b.baseOffset >= stream.logStart && b.maxTimestampMs >= timestampMs);
    return found?.baseOffset ?? null;
  }
}

async function checkEverything(store: Store, workload: Workload, random: () => number): Promise<void> {
  for (const [streamId, stream] of workload.streams) {
    const next = workload.next(streamId);
    expect(store.stream(streamId)?.nextOffset).toBe(next);
    expect(store.stream(streamId)?.logStartOffset).toBe(stream.logStart);
    const expectedBytes = stream.batches.filter((b) => b.baseOffset >= stream.logStart)
      .reduce((sum, b) => sum + b.bytes.length, 0);
    expect(store.stream(streamId)?.sizeBytes).toBe(expectedBytes);
    for (let i = 0; i < 3; i++) {
      const offset = stream.logStart + Math.floor(random() * (next - stream.logStart));
      expect(await store.read(streamId, offset, 1 << 30)).toEqual(workload.from(streamId, offset));
      const single = await store.read(streamId, offset, 1);
      expect(single).toEqual(workload.from(streamId, offset).slice(0, 1));
      const timestampMs = Math.floor(random() * 1200) - 100;
      expect(await store.offsetForTimestamp(streamId, timestampMs)).toBe(workload.offsetForTimestamp(streamId,
        timestampMs));
    }
  }
}

function openIndex(dir: string): ClassicLevel<Buffer, Buffer> {
  return new ClassicLevel<Buffer, Buffer>(join(dir, 'index'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

describe('format-2 index: shared parts and spans', () => {
  it('finds every batch and timestamp of 40 streams across many index writes, reopens, log starts and truncation',
    async () => {
      const random = prng(testSeed('store index spans'));
      const dir = mkdtempSync(join(tmpdir(), 'x2-store-spans-'));
      dirs.push(dir);
      const options: StoreOptions = { dir, sync: { kind: 'entry-set' }, indexLagMsMax: 0, segmentBytesMax: 512 * 1024,
        retentionBytes: 1024 * 1024 };
      let store = await Store.open(options);
      const workload = new Workload();
      // Stream 0 is busy: its spans close by entry count, and every third write is larger than one part,
      // so the other streams' batches sit in a later part; 1-39 are sparse or idle for long stretches.
      const rounds = SPAN_WRITES * 4;
      let segmentsDeleted = 0;
      for (let round = 0; round < rounds; round++) {
        const busyEntries = round % 3 === 0 ? PART_ENTRIES + 100 : Math.ceil(SPAN_ENTRIES / (SPAN_WRITES - 2));
        for (let i = 0; i < busyEntries; i++) workload.append(store, 0, 1, Math.floor(random() * 1000), 80);
        for (let streamId = 1; streamId < 40; streamId++) {
          if (random() < (streamId < 20 ? 0.5 : 0.05)) {
            workload.append(store, streamId, 1, Math.floor(random() * 1000), 80 + Math.floor(random() * 100));
          }
        }
        await store.sync();
        await store.read(0, workload.next(0) - 1, 1); // lets the index write of this round run
        if (round % 9 === 4) {
          const streamId = 1 + Math.floor(random() * 39);
          const stream = workload.streams.get(streamId);
          if (stream !== undefined) {
            const offset = stream.logStart + Math.floor(random() * (workload.next(streamId) - stream.logStart));
            await store.setLogStartOffset(streamId, offset);
            stream.logStart = Math.max(stream.logStart, offset);
          }
        }
        if (round % 10 === 9) {
          // Retention deletes the oldest segments past 1 MiB: each stream's log start moves past them.
          segmentsDeleted += (await store.applyRetention(Date.now())).segmentsDeleted;
          for (const [streamId, stream] of workload.streams) {
            const logStart = store.stream(streamId)?.logStartOffset ?? -1;
            expect(logStart).toBeGreaterThanOrEqual(stream.logStart);
            stream.logStart = logStart;
          }
        }
        if (round % 13 === 12) {
          await store.close();
          store = await Store.open(options);
          await checkEverything(store, workload, random);
        }
      }
      await checkEverything(store, workload, random);
      expect(segmentsDeleted).toBeGreaterThan(0);
      // Truncation: drop the last 30 entries, then append again over the cut.
      const cut = workload.seq - 30;
      await store.truncateAfter(cut);
      for (const [streamId, stream] of workload.streams) {
        stream.batches = stream.batches.filter((b) => b.seq <= cut);
        // A stream left with no batch at or above its log start is forgotten (as the model in store.test.ts).
        if (!stream.batches.some((b) => b.baseOffset + b.recordCount > stream.logStart)) {
          workload.streams.delete(streamId);
        }
      }
      workload.seq = cut;
      await checkEverything(store, workload, random);
      for (let i = 0; i < 50; i++) workload.append(store, i % 8, 1, Math.floor(random() * 1000), 90);
      await store.sync();
      await checkEverything(store, workload, random);
      await store.close();
      store = await Store.open(options);
      await checkEverything(store, workload, random);
      await store.close();
    }, 120_000);

  it('rebuilds a format-1 index from the segments on open, keeping log starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-store-format-'));
    dirs.push(dir);
    const options: StoreOptions = { dir, sync: { kind: 'entry-set' } };
    const store = await Store.open(options);
    const workload = new Workload();
    for (let i = 0; i < 300; i++) workload.append(store, i % 3, 1, i, 100);
    await store.sync();
    await store.setLogStartOffset(1, 40);
    workload.streams.get(1)!.logStart = 40;
    await store.close();
    // A format-1 index lacks the format key (its other tables differ too; the rebuild reads only 'm' and 'r').
    const db = openIndex(dir);
    await db.del(tagOnlyKey(TAG.format));
    await db.close();
    const reopened = await Store.open(options);
    await checkEverything(reopened, workload, prng(1));
    await reopened.close();
    const db2 = openIndex(dir);
    expect((await db2.get(tagOnlyKey(TAG.format)))?.[8]).toBe(2);
    await db2.close();
  });

  it('refuses an index of an unknown format with an error naming the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-store-format-'));
    dirs.push(dir);
    const store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    await store.close();
    const db = openIndex(dir);
    await db.put(tagOnlyKey(TAG.format), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 9]));
    await db.close();
    await expect(Store.open({ dir, sync: { kind: 'entry-set' } })).rejects.toThrow(
      `${join(dir, 'index')}: index format 9 is not supported`);
  });
});
