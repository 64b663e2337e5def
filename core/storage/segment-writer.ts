/**
 * The write side of a store: frames entries into a bounded write buffer, writes each tick's
 * buffer to the one active segment file, rolls segments by size (and on an epoch change), and
 * shares one sync among all entries written since the last one (group commit).
 * With the entry-set policy (sync every write) segment files are opened O_DSYNC: each write
 * returns once its data is on disk, as after an fdatasync, and no separate fdatasync follows. One
 * trip through the libuv pool per write instead of two: at 1,000-5,000 single-record Produce
 * requests a second, p50 produce latency fell 10-15 % and each commit's CPU per request up to
 * 15 % (BENCHMARKS.md, session 10). The other policies write plainly and fdatasync when due.
 *
 * Data path: Store.append -> append() copies the frame into the filling buffer (the only copy)
 * -> a pump, scheduled once per tick, swaps buffers, writes, and syncs per the policy ->
 * onDurable(seq). Reads wait on writtenSeq for entries still in a buffer.
 * Where a write runs: one of at most `inlineWriteBytesMax` (64 KiB) blocks the event loop
 * (writevSync); a larger one goes to the libuv pool, and the loop goes on receiving meanwhile.
 * A pool write costs two thread wake-ups (the pool thread's, then the loop's) on the way of every
 * acknowledgement; a small O_DSYNC write takes about as long as those on a busy 2-core machine.
 * Under load the buffer holds more than 64 KiB by the time the last write returns, so large
 * writes, where overlap matters, still go to the pool.
 * A batch of GATHER_BATCH_BYTES_MIN or more is not copied: the buffer takes its frame header
 * and a view of the caller's bytes, and the write gathers both (pwritev). The caller must leave
 * those bytes unchanged until `onViewsReleased` hands the view back, after its write; a copy
 * per stored byte was ~4 % of the cluster's CPU at 1 MB produce batches.
 *
 * Bounds: two buffers of `bufferBytes` each (one filling, one being written); a view counts
 * against its buffer as its bytes would. When the filling buffer is full, append throws
 * X2_ERR_STORE_BACKPRESSURE (retriable): the caller awaits sync() and appends again. An entry
 * must fit one buffer.
 * Disk full: a failed write keeps its buffer and retries it (after truncating the partial
 * write) on a timer and on every append/sync; meanwhile append and sync fail with
 * X2_ERR_DISK_FULL (retriable). A failed fdatasync, or any other failed write (with O_DSYNC a
 * write fails when its sync does), poisons the writer (X2_ERR_IO): after one, the page cache
 * cannot be trusted, so only a reopen (recovery) continues.
 * Page cache: after each sync the writer drops the synced pages of the segment that lie more
 * than `pageCacheKeepBytes` behind its end (posix_fadvise DONTNEED, in the libuv pool, one drop at
 * a time). A store writes each byte once and reads mostly recent data, so old pages only crowd
 * out others; and on a VM, writing into pages the kernel just freed costs a fraction of faulting
 * in fresh ones (BENCHMARKS.md, "The page cache on this VM").
 * Invariants: durableSeq <= writtenSeq <= lastSeq; seq strictly increases; a segment is fully
 * written and synced before the next one is created.
 */
import { constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { dropPageCache } from '../../native/index.ts';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { type Log } from '../base/log.ts';
import {
  encodeFrame, encodeFrameHeader, encodeSegmentHeader, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, segmentFileName,
  type FrameFields,
} from './format.ts';
import {
  closeFile, fdatasync, ftruncate, isDiskFull, openFile, syncDirectory, writevAll, writevAllInline,
} from './file-io.ts';

export type SyncPolicy =
  | { kind: 'entry-set' }
  | { kind: 'interval'; intervalMs: number }
  | { kind: 'bytes'; bytes: number };

/** One segment file of the store, in memory. `writtenEnd` grows as buffers reach the file. */
export class SegmentInfo {
  readonly firstSeq: number;
  readonly epoch: number;
  readonly file: string;
  writtenEnd = 0;
  /** Bytes before this were dropped from the page cache; the last drop began at pageCacheDropStart. */
  pageCacheDroppedEnd = 0;
  pageCacheDropStart = 0;
  maxTimestampMs = Number.MIN_SAFE_INTEGER;

  constructor(dir: string, firstSeq: number, epoch: number) {
    this.firstSeq = firstSeq;
    this.epoch = epoch;
    this.file = path.join(dir, segmentFileName(firstSeq, epoch));
  }
}

type Region = { segment: SegmentInfo; create: boolean; bufferStart: number; bufferEnd: number; filePosition: number };

class WriteBuffer {
  readonly bytes: Buffer;
  length = 0;
  lastSeq = 0;
  regions: Region[] = [];
  regionsDone = 0;
  retrying = false;
  /** Batches written from the caller's bytes; views[i] follows bytes[0, viewsAfter[i]). */
  views: Uint8Array[] = [];
  viewsAfter: number[] = [];
  viewBytes = 0;

  constructor(bytes: number) {
    this.bytes = Buffer.allocUnsafe(bytes);
  }

  reset(): void {
    this.length = 0;
    this.lastSeq = 0;
    this.regions = [];
    this.regionsDone = 0;
    this.retrying = false;
    this.views = [];
    this.viewsAfter = [];
    this.viewBytes = 0;
  }

  /** What goes to the file for a region: own bytes and views, in order. */
  parts(region: Region): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let at = region.bufferStart;
    for (let i = 0; i < this.views.length; i++) {
      const after = this.viewsAfter[i]!;
      if (after <= region.bufferStart) continue;
      if (after > region.bufferEnd) break;
      parts.push(this.bytes.subarray(at, after), this.views[i]!);
      at = after;
    }
    if (at < region.bufferEnd) parts.push(this.bytes.subarray(at, region.bufferEnd));
    return parts;
  }
}

/** Batches this large are written from the caller's bytes (a view), not copied into the buffer. */
export const GATHER_BATCH_BYTES_MIN = 64 * 1024;

/** Where append put a frame. Filled by append (caller-supplied, reused). */
export type FramePlace = { segment: SegmentInfo | null; position: number };

/**
 * Writes of at most this many bytes are made on the loop's own thread (writevAllInline); larger
 * ones in the libuv pool, so that the loop goes on receiving while the disk works.
 */
export const INLINE_WRITE_BYTES_MAX = 64 * 1024;
/** Sync with no pending `sync()` under the bytes policy happens after this much idle time. */
const BYTES_POLICY_IDLE_MS = 10;
/** Pages are dropped in steps of at least this much: one pool round trip per few MB written. */
const PAGE_CACHE_DROP_BYTES_MIN = 4 * 1024 * 1024;

export type SegmentWriterOptions = {
  dir: string; sync: SyncPolicy; segmentBytesMax: number; bufferBytes: number; diskFullRetryMs: number;
  segments: SegmentInfo[];
  /** Synced bytes of a segment left in the page cache behind its end; null keeps every page. */
  pageCacheKeepBytes: number | null;
  /** Writes up to this size block the loop instead of going through the pool (INLINE_WRITE_BYTES_MAX). */
  inlineWriteBytesMax: number;
  log: Log;
  /** Called after each sync, and when a write fails (then `error` says why). */
  onDurable: (durableSeq: number) => void;
  /** Views of appended batches, once written: their bytes may change now. */
  onViewsReleased?: (views: readonly Uint8Array[]) => void;
  /**
   * Seconds each write of a buffer took (with O_DSYNC the device flush included), and each
   * fdatasync: where a commit's share of an acknowledgement's latency goes.
   */
  observeWriteSeconds?: (seconds: number) => void;
  observeSyncSeconds?: (seconds: number) => void;
};

export class SegmentWriter {
  readonly #options: SegmentWriterOptions;
  #filling: WriteBuffer;
  #spare: WriteBuffer;
  #writing: WriteBuffer | null = null;
  #active: SegmentInfo | null = null;
  #activeEnd = 0;
  #fd: number | null = null;
  #fdSegment: SegmentInfo | null = null;
  #pumping = false;
  #pumpScheduled = false;
  #timer: NodeJS.Timeout | null = null;
  #syncRequested = false;
  #unsyncedBytes = 0;
  #lastSyncMs = Date.now();
  #lastWriteMs = Date.now();
  #diskFull: X2Error | null = null;
  #failure: X2Error | null = null;
  #closed = false;
  #writtenWaiters: Array<{ seq: number; resolve: () => void; reject: (error: Error) => void }> = [];
  #dropping: Promise<void> | null = null;
  #dropErrorLogged = false;
  lastSeq = 0;
  writtenSeq = 0;
  durableSeq = 0;
  /** Sync points: fdatasync calls, or with O_DSYNC writes (entry-set) the writes that made entries durable. */
  fsyncs = 0;
  bytesWritten = 0;
  /** Writes made on the loop's thread (small ones), not in the libuv pool. */
  inlineWrites = 0;
  pageCacheDroppedBytes = 0;

  /** Entry-set policy: every write is synchronous (O_DSYNC), so a sync is only bookkeeping. */
  readonly #syncWrites: boolean;

  constructor(options: SegmentWriterOptions) {
    this.#options = options;
    this.#syncWrites = options.sync.kind === 'entry-set';
    this.#filling = new WriteBuffer(options.bufferBytes);
    this.#spare = new WriteBuffer(options.bufferBytes);
  }

  /** After recovery: continue appending to `segment` at `end`, everything up to `seq` durable. */
  resume(segment: SegmentInfo | null, end: number, seq: number): void {
    this.#active = segment;
    this.#activeEnd = end;
    this.lastSeq = seq;
    this.writtenSeq = seq;
    this.durableSeq = seq;
  }

  get diskFull(): boolean {
    return this.#diskFull !== null;
  }

  get activeSegment(): SegmentInfo | null {
    return this.#active;
  }

  /**
   * Copies one frame into the write buffer (a large batch: its header, and keeps a view of the
   * batch); throws a retriable X2Error when it cannot.
   */
  append(fields: FrameFields, batch: Uint8Array, place: FramePlace, batchCrc?: number): number {
    if (this.#failure) throw this.#failure;
    assert(!this.#closed, 'append after close');
    if (this.#diskFull) {
      this.#schedulePump();
      throw this.#diskFull;
    }
    const frameBytes = FRAME_HEADER_BYTES + batch.length;
    const buffer = this.#filling;
    if (frameBytes + SEGMENT_HEADER_BYTES > buffer.bytes.length) {
      assert(false, `entry of ${frameBytes} bytes does not fit the ${buffer.bytes.length}-byte write buffer`);
    }
    const active = this.#active;
    const isRoll = active === null || active.epoch !== fields.epoch ||
      (this.#activeEnd + frameBytes > this.#options.segmentBytesMax && this.#activeEnd > SEGMENT_HEADER_BYTES);
    // Views count against the buffer as if copied: the same backpressure, and a bound on what is pinned.
    const isView = batch.length >= GATHER_BATCH_BYTES_MIN;
    if (buffer.length + buffer.viewBytes + frameBytes + (isRoll ? SEGMENT_HEADER_BYTES : 0) > buffer.bytes.length) {
      this.#schedulePump();
      throw new X2Error('X2_ERR_STORE_BACKPRESSURE',
        `store: write buffer full (${buffer.length + buffer.viewBytes} of ${buffer.bytes.length} bytes), `
        + 'await sync() and append again',
        { retriable: true });
    }
    let region = buffer.regions[buffer.regions.length - 1];
    if (isRoll) {
      const segment = new SegmentInfo(this.#options.dir, fields.seq, fields.epoch);
      this.#options.segments.push(segment);
      this.#active = segment;
      region = { segment, create: true, bufferStart: buffer.length, bufferEnd: buffer.length, filePosition: 0 };
      buffer.regions.push(region);
      encodeSegmentHeader(fields.seq, fields.epoch, buffer.bytes, buffer.length);
      buffer.length += SEGMENT_HEADER_BYTES;
      this.#activeEnd = SEGMENT_HEADER_BYTES;
    } else if (region === undefined || region.segment !== active) {
      region = { segment: active, create: false, bufferStart: buffer.length, bufferEnd: buffer.length,
        filePosition: this.#activeEnd };
      buffer.regions.push(region);
    }
    place.segment = this.#active;
    place.position = this.#activeEnd;
    if (isView) {
      encodeFrameHeader(fields, batch, buffer.bytes, buffer.length, batchCrc);
      buffer.length += FRAME_HEADER_BYTES;
      buffer.views.push(batch);
      buffer.viewsAfter.push(buffer.length);
      buffer.viewBytes += batch.length;
    } else {
      encodeFrame(fields, batch, buffer.bytes, buffer.length, batchCrc);
      buffer.length += frameBytes;
    }
    region.bufferEnd = buffer.length;
    buffer.lastSeq = fields.seq;
    this.#activeEnd += frameBytes;
    this.lastSeq = fields.seq;
    this.#schedulePump();
    return frameBytes;
  }

  /** Bytes the filling buffer can still take (for callers that want to avoid backpressure). */
  get bufferFreeBytes(): number {
    return this.#filling.bytes.length - this.#filling.length - this.#filling.viewBytes;
  }

  /** Forces a sync of everything appended so far. */
  requestSync(): void {
    this.#syncRequested = true;
    this.#schedulePump();
  }

  /** Resolves once every entry up to `seq` is in its file (not necessarily synced). */
  waitWritten(seq: number): Promise<void> {
    if (this.writtenSeq >= seq) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#writtenWaiters.push({ seq, resolve, reject });
      this.#schedulePump();
    });
  }

  /** The error a caller of sync() should see now, if any. */
  get error(): X2Error | null {
    return this.#failure ?? this.#diskFull;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#pumping || this.#closed) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping || this.#failure || this.#closed) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.#writing === null && this.#filling.length > 0) {
          this.#writing = this.#filling;
          this.#filling = this.#spare;
        }
        const writing = this.#writing;
        if (writing !== null) {
          const startedMs = performance.now();
          await this.#writeBuffer(writing);
          this.#options.observeWriteSeconds?.((performance.now() - startedMs) / 1000);
          this.#afterWrite(writing);
        }
        const isSyncNeeded = this.writtenSeq > this.durableSeq && this.#isSyncDue(Date.now());
        if (isSyncNeeded) await this.#sync();
        if (this.#filling.length === 0 && !isSyncNeeded) break;
      }
    } catch (error) {
      this.#onPumpError(error);
    } finally {
      this.#pumping = false;
    }
    this.#armTimer();
  }

  #afterWrite(writing: WriteBuffer): void {
    const views = writing.views;
    this.bytesWritten += writing.length + writing.viewBytes;
    this.#unsyncedBytes += writing.length + writing.viewBytes;
    this.#lastWriteMs = Date.now();
    this.writtenSeq = writing.lastSeq;
    writing.reset();
    this.#spare = writing;
    this.#writing = null;
    if (this.#diskFull) this.#diskFull = null;
    if (views.length > 0) this.#options.onViewsReleased?.(views);
    if (this.#writtenWaiters.length > 0) {
      const waiting = this.#writtenWaiters;
      this.#writtenWaiters = waiting.filter((w) => w.seq > this.writtenSeq);
      for (const waiter of waiting) if (waiter.seq <= this.writtenSeq) waiter.resolve();
    }
  }

  #onPumpError(error: unknown): void {
    if (isDiskFull(error) && this.#writing !== null) {
      this.#writing.retrying = true;
      this.#diskFull = new X2Error('X2_ERR_DISK_FULL',
        `store ${this.#options.dir}: no space left on device; appends resume once space is freed`,
        { retriable: true, cause: error });
      this.#rejectWrittenWaiters(this.#diskFull);
      this.#options.onDurable(this.durableSeq);
      return;
    }
    this.#failure = error instanceof X2Error ? error : new X2Error('X2_ERR_IO',
      `store ${this.#options.dir}: ${(error as Error).message}; reopen the store to recover`, { cause: error });
    this.#rejectWrittenWaiters(this.#failure);
    this.#options.onDurable(this.durableSeq);
  }

  #rejectWrittenWaiters(error: X2Error): void {
    for (const waiter of this.#writtenWaiters) waiter.reject(error);
    this.#writtenWaiters = [];
  }

  #isSyncDue(nowMs: number): boolean {
    if (this.#syncRequested) return true;
    const policy = this.#options.sync;
    switch (policy.kind) {
      case 'entry-set': return true;
      case 'interval': return nowMs - this.#lastSyncMs >= policy.intervalMs;
      case 'bytes':
        return this.#unsyncedBytes >= policy.bytes || nowMs - this.#lastWriteMs >= BYTES_POLICY_IDLE_MS;
    }
  }

  /** One timer at most: the next interval/idle sync, or the next disk-full retry. */
  #armTimer(): void {
    if (this.#timer !== null || this.#closed || this.#failure) return;
    let delayMs: number | null = null;
    if (this.#diskFull) delayMs = this.#options.diskFullRetryMs;
    else if (this.writtenSeq > this.durableSeq) {
      const policy = this.#options.sync;
      delayMs = policy.kind === 'interval'
        ? Math.max(0, this.#lastSyncMs + policy.intervalMs - Date.now())
        : BYTES_POLICY_IDLE_MS;
    }
    if (delayMs === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#pump();
    }, delayMs);
  }

  async #writeBuffer(buffer: WriteBuffer): Promise<void> {
    let isNewFile = false;
    for (; buffer.regionsDone < buffer.regions.length; buffer.regionsDone++) {
      const region = buffer.regions[buffer.regionsDone];
      assert(region !== undefined);
      if (this.#fdSegment !== region.segment || (region.create && buffer.retrying)) {
        await this.#switchTo(region.segment, region.create);
        isNewFile ||= region.create;
      } else if (buffer.retrying) {
        assert(this.#fd !== null);
        await ftruncate(this.#fd, region.filePosition);
      }
      buffer.retrying = true;
      assert(this.#fd !== null);
      const parts = buffer.parts(region);
      let regionBytes = 0;
      for (const part of parts) regionBytes += part.length;
      if (regionBytes <= this.#options.inlineWriteBytesMax) {
        writevAllInline(this.#fd, parts, region.filePosition);
        this.inlineWrites += 1;
      } else {
        await writevAll(this.#fd, parts, region.filePosition);
      }
      buffer.retrying = false;
      region.segment.writtenEnd = region.filePosition + regionBytes;
    }
    if (isNewFile) await syncDirectory(this.#options.dir);
  }

  /** Closes the current file (synced first: segments are sealed whole) and opens `segment`. */
  async #switchTo(segment: SegmentInfo, create: boolean): Promise<void> {
    if (this.#fd !== null) {
      const closing = this.#fdSegment;
      if (closing !== segment && closing !== null) {
        if (!this.#syncWrites) await this.#fdatasyncTimed(this.#fd);
        await this.#dropping;
        this.#dropBehind(closing, closing.writtenEnd, 1);
      }
      await this.#dropping;
      await closeFile(this.#fd);
      this.#fd = null;
      this.#fdSegment = null;
    }
    const { O_CREAT, O_DSYNC, O_RDWR, O_TRUNC, O_WRONLY } = fsConstants;
    this.#fd = await openFile(segment.file,
      (create ? O_WRONLY | O_CREAT | O_TRUNC : O_RDWR) | (this.#syncWrites ? O_DSYNC : 0));
    this.#fdSegment = segment;
  }

  async #sync(): Promise<void> {
    const seq = this.writtenSeq;
    assert(this.#fd !== null, 'sync without an open segment');
    this.#syncRequested = false;
    const unsyncedBytes = this.#unsyncedBytes;
    const segment = this.#fdSegment;
    const syncedEnd = segment?.writtenEnd ?? 0;
    if (!this.#syncWrites) await this.#fdatasyncTimed(this.#fd); // O_DSYNC: every write returned durable
    else this.fsyncs += 1;
    this.#lastSyncMs = Date.now();
    this.#unsyncedBytes -= unsyncedBytes;
    this.durableSeq = seq;
    this.#options.onDurable(seq);
    if (segment !== null) this.#dropBehind(segment, syncedEnd, PAGE_CACHE_DROP_BYTES_MIN);
  }

  async #fdatasyncTimed(fd: number): Promise<void> {
    const startedMs = performance.now();
    await fdatasync(fd);
    this.#options.observeSyncSeconds?.((performance.now() - startedMs) / 1000);
    this.fsyncs += 1;
  }

  /**
   * Starts dropping `segment`'s pages before `syncedEnd - pageCacheKeepBytes` (all synced, so
   * clean). Not awaited: the next write goes on while the pool drops; the fd is only closed or
   * truncated after `#dropping` settles. At most one drop runs; a skipped one is caught up later.
   * A segment being sealed drops whatever is left (`stepBytesMin` 1): there is no later.
   * Each drop also covers the range of the one before: the kernel skips pages still in another
   * CPU's LRU batch, and a second pass a few MB later finds them free (fincore showed ~15 %
   * of a range left after one pass, ~0 after two).
   */
  #dropBehind(segment: SegmentInfo, syncedEnd: number, stepBytesMin: number): void {
    const keepBytes = this.#options.pageCacheKeepBytes;
    const fd = this.#fd;
    if (keepBytes === null || this.#dropping !== null || fd === null) return;
    const newStart = segment.pageCacheDroppedEnd;
    const end = syncedEnd - keepBytes;
    if (end - newStart < stepBytesMin) return;
    const start = segment.pageCacheDropStart;
    segment.pageCacheDropStart = newStart;
    segment.pageCacheDroppedEnd = end;
    this.#dropping = dropPageCache(fd, start, end - start).then((error) => {
      this.#dropping = null;
      if (error === null) {
        this.pageCacheDroppedBytes += end - newStart;
      } else if (!this.#dropErrorLogged) {
        this.#dropErrorLogged = true;
        this.#options.log.warn(`pages stay in the page cache: fadvise ${error}`);
      }
    });
  }

  /** Cuts the store back to `segment` ending at `end` (segments after it already removed). */
  async truncate(segment: SegmentInfo | null, end: number, seq: number): Promise<void> {
    assert(this.#filling.length === 0 && this.#writing === null && !this.#pumping, 'truncate while writing');
    await this.#dropping;
    if (this.#fd !== null) {
      await closeFile(this.#fd);
      this.#fd = null;
      this.#fdSegment = null;
    }
    if (segment !== null) {
      const fd = await openFile(segment.file, 'r+');
      try {
        await ftruncate(fd, end);
        await fdatasync(fd);
      } finally {
        await closeFile(fd);
      }
      segment.writtenEnd = end;
      segment.pageCacheDroppedEnd = Math.min(segment.pageCacheDroppedEnd, end);
      segment.pageCacheDropStart = Math.min(segment.pageCacheDropStart, end);
    }
    this.resume(segment, end, seq);
  }

  /** Stops the writer; callers sync first if they want their data durable. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#rejectWrittenWaiters(new X2Error('X2_ERR_IO', 'store closed'));
    await this.#dropping;
    // A drop skipped while another ran is caught up here, if everything written is synced.
    const segment = this.#fdSegment;
    if (segment !== null && this.durableSeq === this.writtenSeq) {
      this.#dropBehind(segment, segment.writtenEnd, 1);
      await this.#dropping;
    }
    if (this.#fd !== null) await closeFile(this.#fd);
    this.#fd = null;
  }

  /** True while nothing is buffered, being written or waiting for its sync. */
  get isIdle(): boolean {
    return this.#filling.length === 0 && this.#writing === null && this.durableSeq === this.lastSeq;
  }
}
