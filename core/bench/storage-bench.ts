/**
 * The engine of `x2 bench storage`: drives a commit store in-process with synthetic 1-record
 * Kafka batches spread round-robin over N streams, as fast as the store takes them, and reports
 * entries/s, MB/s, fsyncs/s, open files and index size. Optional extras measured in the same
 * run: a raw baseline (sequential write + fdatasync of the same bytes with the store's own
 * cadence, entries per fdatasync) and recovery time of a reopened store with an unindexed tail.
 *
 * Method: each event-loop turn appends until the write buffer is full, then yields; when the
 * buffer is full it waits for the next durable notification (the store's backpressure), so one
 * fdatasync covers what arrived while the previous one ran (group commit, as in the commit role).
 * Bounds: memory is the store's two write buffers plus one template batch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fdatasync, openFile, closeFile, writeAll } from '../storage/file-io.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../storage/format.ts';
import { X2Error } from '../base/errors.ts';
import { Store, type StoreOptions, type SyncPolicy } from '../storage/store.ts';
import { syntheticBatch } from '../storage/synthetic-batch.ts';

export type StorageBenchOptions = {
  dir: string; streams: number; entryBytes: number; sync: SyncPolicy;
  durationMs: number | null; count: number | null; segmentBytesMax: number | null;
  /** As a commit's --page-cache-keep: null keeps every page. */
  pageCacheKeepBytes: number | null;
  baseline: boolean; recoveryTailEntries: number | null;
};

/** recoveryMs: the median of recoveryRunsMs (three reopens, each with a fresh tail). */
export type Recovery = { tailEntries: number; storeBytes: number; recoveryMs: number; recoveryRunsMs: number[] };

export type Throughput = { entries: number; seconds: number; entriesPerSecond: number; megabytesPerSecond: number };

export type StorageBenchResult = Throughput & {
  streams: number; entryBytes: number; sync: string; pageCacheKeepBytes: number | null;
  pageCacheDroppedBytes: number; fsyncs: number; fsyncsPerSecond: number; entriesPerFsync: number;
  /** Times the store refused an append because too many entries waited for its index (the bench then waited). */
  indexWaits: number;
  openFiles: number; openFilesAtStart: number; indexBytes: number; segmentFiles: number; segmentBytes: number;
  baseline: (Throughput & { entriesPerFsync: number; ratio: number }) | null;
  recovery: Recovery | null;
};

export function syncPolicyText(policy: SyncPolicy): string {
  switch (policy.kind) {
    case 'entry-set': return 'entry-set';
    case 'interval': return `interval:${policy.intervalMs}`;
    case 'bytes': return `bytes:${policy.bytes}`;
  }
}

export function openFileCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    bytes += entry.isDirectory() ? directoryBytes(file) : fs.statSync(file).size;
  }
  return bytes;
}

function throughput(entries: number, entryBytes: number, elapsedMs: number): Throughput {
  const seconds = elapsedMs / 1000;
  return {
    entries, seconds, entriesPerSecond: entries / seconds, megabytesPerSecond: (entries * entryBytes) / 1e6 / seconds,
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Appends to `store` until the deadline or count; returns the entries appended and the index waits. */
async function drive(store: Store, options: StorageBenchOptions, firstSeq: number,
  nextOffsets: Float64Array): Promise<{ appended: number; indexWaits: number }> {
  const batch = syntheticBatch({ baseOffset: 0, recordCount: 1, baseTimestampMs: Date.now(), maxTimestampMs: Date.now(),
    bytes: options.entryBytes });
  const frameBytes = options.entryBytes + FRAME_HEADER_BYTES + SEGMENT_HEADER_BYTES;
  const deadlineMs = options.durationMs === null ? Infinity : performance.now() + options.durationMs;
  const countMax = options.count ?? Infinity;
  let appended = 0;
  let indexWaits = 0;
  let refusedAt = -1;
  let waitDurable: (() => void) | null = null;
  const unsubscribe = store.onDurable(() => waitDurable?.());
  let streamId = 0;
  while (appended < countMax && performance.now() < deadlineMs) {
    if (store.appendableBytes < frameBytes) {
      await new Promise<void>((resolve) => (waitDurable = resolve));
      waitDurable = null;
      await nextTurn();
      continue;
    }
    while (store.appendableBytes >= frameBytes && appended < countMax) {
      const baseOffset = nextOffsets[streamId] ?? 0;
      try {
        store.append({ seq: firstSeq + appended, epoch: 1, streamId, baseOffset, recordCount: 1, batch });
      } catch (error) {
        // Too many entries wait for the index: the store's own pace, so the bench waits for it too.
        // A second refusal of the same entry means the index cannot drain (paused): fail, never spin.
        if (!(error instanceof X2Error && error.code === 'X2_ERR_STORE_BACKPRESSURE') || refusedAt === appended) {
          throw error;
        }
        refusedAt = appended;
        indexWaits += 1;
        await store.sync();
        continue;
      }
      nextOffsets[streamId] = baseOffset + 1;
      streamId = streamId + 1 === options.streams ? 0 : streamId + 1;
      appended += 1;
    }
    await nextTurn();
  }
  unsubscribe();
  return { appended, indexWaits };
}

export async function runStorageBench(options: StorageBenchOptions): Promise<StorageBenchResult> {
  const storeOptions: StoreOptions = {
    dir: options.dir, sync: options.sync, pageCacheKeepBytes: options.pageCacheKeepBytes,
    ...(options.segmentBytesMax === null ? {} : { segmentBytesMax: options.segmentBytesMax }),
  };
  const openFilesAtStart = openFileCount();
  const store = await Store.open(storeOptions);
  const nextOffsets = new Float64Array(options.streams);
  const startMs = performance.now();
  const { appended: entries, indexWaits } = await drive(store, options, 1, nextOffsets);
  await store.sync();
  const elapsedMs = performance.now() - startMs;
  const fsyncs = store.metrics.fsyncs;
  const openFiles = openFileCount();
  const segments = store.segmentFiles();
  await store.close();
  const pageCacheDroppedBytes = store.metrics.pageCacheDroppedBytes; // close drops the last synced pages
  const main = throughput(entries, options.entryBytes, elapsedMs);
  const entriesPerFsync = entries / Math.max(1, fsyncs);
  const result: StorageBenchResult = {
    ...main, streams: options.streams, entryBytes: options.entryBytes, sync: syncPolicyText(options.sync),
    pageCacheKeepBytes: options.pageCacheKeepBytes, pageCacheDroppedBytes,
    fsyncs, fsyncsPerSecond: fsyncs / main.seconds, entriesPerFsync, indexWaits, openFiles, openFilesAtStart,
    indexBytes: directoryBytes(path.join(options.dir, 'index')), segmentFiles: segments.length,
    segmentBytes: segments.reduce((sum, s) => sum + s.bytes, 0), baseline: null, recovery: null,
  };
  if (options.baseline) {
    const baseline = await runBaseline(options.dir, options.entryBytes, entries, Math.max(1,
      Math.round(entriesPerFsync)));
    result.baseline = { ...baseline, entriesPerFsync: Math.max(1, Math.round(entriesPerFsync)),
      ratio: main.entriesPerSecond / baseline.entriesPerSecond };
  }
  if (options.recoveryTailEntries !== null) {
    result.recovery = await measureRecovery(storeOptions, options, entries, nextOffsets);
  }
  return result;
}

/**
 * The raw disk bound for the same work: `entries` entries of `entryBytes`, written sequentially
 * to one file in chunks of `entriesPerFsync` entries, one fdatasync after each chunk.
 */
async function runBaseline(dir: string, entryBytes: number, entries: number,
  entriesPerFsync: number): Promise<Throughput> {
  const file = path.join(dir, 'baseline.raw');
  const chunkEntries = Math.max(1, Math.min(entriesPerFsync, Math.floor((64 * 1024 * 1024) / entryBytes)));
  const chunk = Buffer.alloc(chunkEntries * entryBytes, 0x5a);
  const fd = await openFile(file, 'w');
  const startMs = performance.now();
  let position = 0;
  try {
    for (let done = 0; done < entries; done += chunkEntries) {
      const bytes = Math.min(chunkEntries, entries - done) * entryBytes;
      await writeAll(fd, chunk, 0, bytes, position);
      position += bytes;
      await fdatasync(fd);
    }
  } finally {
    await closeFile(fd);
  }
  const elapsedMs = performance.now() - startMs;
  fs.rmSync(file);
  return throughput(entries, entryBytes, elapsedMs);
}

const RECOVERY_RUNS = 3;

/**
 * Appends an unindexed tail (indexer paused) and times a fresh open that recovers it, three
 * times (each with a new tail of the same size); reports the median and every run.
 */
async function measureRecovery(storeOptions: StoreOptions, options: StorageBenchOptions, entries: number,
  nextOffsets: Float64Array): Promise<Recovery> {
  const tailEntries = options.recoveryTailEntries ?? 0;
  const runsMs: number[] = [];
  let storeBytes = 0;
  let firstSeq = entries + 1;
  for (let run = 0; run < RECOVERY_RUNS; run++) {
    const paused = await Store.open({ ...storeOptions, indexing: 'paused' });
    const tail = await drive(paused, { ...options, durationMs: null, count: tailEntries }, firstSeq, nextOffsets);
    firstSeq += tail.appended;
    await paused.close();
    const startMs = performance.now();
    const recovered = await Store.open(storeOptions);
    runsMs.push(performance.now() - startMs);
    storeBytes = recovered.segmentFiles().reduce((sum, s) => sum + s.bytes, 0);
    await recovered.close();
  }
  const sorted = [...runsMs].sort((x, y) => x - y);
  return { tailEntries, storeBytes, recoveryMs: sorted[Math.floor(sorted.length / 2)] ?? 0, recoveryRunsMs: runsMs };
}
