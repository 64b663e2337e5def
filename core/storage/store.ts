/**
 * The commit store: every entry of a river, in seq order, in fat append-only segment files
 * (one active file whatever the number of streams), found again through an LSM index.
 *
 * Data path: the commit role calls append() for each sequenced entry (the frame is copied once
 * into a bounded write buffer), the segment writer writes and syncs per the sync policy and
 * fires onDurable(durableSeq); the indexer then writes LevelDB batches in the background. Reads
 * come from the index (or the in-memory tail) and one positioned read per run of frames; batches
 * are returned as views of that read, CRC-checked, never copied per record.
 *
 * Lifecycle: Store.open() recovers (cuts a torn tail, re-indexes the unindexed tail from the
 * checkpoint) and returns a ready store; close() syncs, finishes indexing and closes files.
 * Backpressure: append throws X2_ERR_STORE_BACKPRESSURE (retriable) when the write buffer is
 * full or too many entries wait for the index; the caller awaits sync() (which then also waits for
 * the index) and appends again. Disk full: append and sync fail with
 * X2_ERR_DISK_FULL (retriable); nothing durable is touched, and appends work again once the
 * buffered write succeeds (retried on a timer and on each call).
 * Bounds: two write buffers (writeBufferBytes each, default 8 MiB), PENDING_ENTRIES_MAX entries
 * waiting for the index, four read descriptors, LevelDB's 32 table files. Control operations
 * (truncateAfter, setLogStartOffset, applyRetention) sync and let the index catch up first;
 * no append may run during truncateAfter (asserted).
 * Invariants: seq strictly increases; each stream's offsets are contiguous; a durable
 * notification for seq S means every entry with seq <= S is on disk (an O_DSYNC write or fdatasync);
 * corrupt bytes are never served (X2_ERR_SEGMENT_CRC, counted in metrics.corruptEntriesDetected).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { Log } from '../base/log.ts';
import {
  batchMaxTimestampMs, checkFrame, decodeFrameFields, FRAME_HEADER_BYTES, RECORD_BATCH_HEADER_BYTES,
  SEGMENT_HEADER_BYTES, type FrameFields,
} from './format.ts';
import { readAt } from './file-io.ts';
import { type Location } from './index-keys.ts';
import { ReadFiles } from './read-files.ts';
import { firstOffsetDeltaAtOrAfter } from './record-timestamps.ts';
import { recoverStore } from './recovery.ts';
import { FRAME_BYTES_MAX, scanFrames } from './segment-scan.ts';
import {
  INLINE_WRITE_BYTES_MAX, SegmentInfo, SegmentWriter, type FramePlace, type SyncPolicy,
} from './segment-writer.ts';
import { NO_SERIAL } from './pending-tail.ts';
import { PENDING_ENTRIES_MAX, StoreIndex, StreamState } from './store-index.ts';
import { applyRetentionTo, setLogStart, truncateStore } from './store-control.ts';

export type { SyncPolicy } from './segment-writer.ts';
export { GATHER_BATCH_BYTES_MIN, INLINE_WRITE_BYTES_MAX } from './segment-writer.ts';
export { PENDING_ENTRIES_MAX } from './store-index.ts';

export type StoreOptions = {
  dir: string; sync: SyncPolicy;
  segmentBytesMax?: number;
  retentionMs?: number; retentionBytes?: number;
  /** Each of the two write buffers; an entry must fit one. Default 8 MiB. */
  writeBufferBytes?: number;
  /**
   * Synced bytes of the active segment left in the page cache behind its end; older pages are
   * dropped. null keeps every page (the kernel decides). Default 64 MiB.
   */
  pageCacheKeepBytes?: number | null;
  /**
   * Writes of at most this many bytes block the event loop instead of going through the libuv pool
   * (segment-writer.ts). Default INLINE_WRITE_BYTES_MAX; 0 sends every write to the pool.
   */
  inlineWriteBytesMax?: number;
  /** How often a write that failed with a full disk is retried. Default 1000 ms. */
  diskFullRetryMs?: number;
  /**
   * 'paused' keeps the background indexer from writing (reads still work from memory): used to
   * leave an unindexed tail for recovery benchmarks and tests. Default 'background'.
   */
  indexing?: 'background' | 'paused';
  /** How long durable entries may wait for the index when fewer than a full index batch. Default 1000 ms. */
  indexLagMsMax?: number;
  /** Entries waiting for the index past which append refuses (backpressure). Default PENDING_ENTRIES_MAX. */
  pendingEntriesMax?: number;
  /**
   * Batches of at least GATHER_BATCH_BYTES_MIN are written from the appended bytes themselves
   * (segment-writer.ts); each such batch is passed here once written: its bytes may change now.
   * Without it, callers must never change an appended batch (fresh buffers are fine).
   */
  onBatchesWritten?: (batches: readonly Uint8Array[]) => void;
  /** Seconds of each segment write (O_DSYNC: the device flush included) and of each fdatasync. */
  observeWriteSeconds?: (seconds: number) => void;
  observeSyncSeconds?: (seconds: number) => void;
};
/**
 * `batchCrc`: the batch's CRC-32C when the caller has it from a check of its own (a commit: from the
 * river fragments it checked); the stored frame's CRC is then joined from it, not read from the batch.
 */
export type EntryInput = {
  seq: number; epoch: number; streamId: number; baseOffset: number; recordCount: number; batch: Uint8Array;
  batchCrc?: number;
};
export type StoredEntry = Omit<EntryInput, 'batchCrc'> & { batch: Buffer };
export type StreamInfo = { logStartOffset: number; nextOffset: number; sizeBytes: number };

export type StoreMetrics = {
  fsyncs: number; bytesWritten: number; inlineWrites: number; indexBatches: number; indexErrors: number;
  corruptEntriesDetected: number; diskFullErrors: number; pageCacheDroppedBytes: number;
};

export const SEGMENT_BYTES_MAX_DEFAULT = 1024 ** 3;
export const PAGE_CACHE_KEEP_BYTES_DEFAULT = 64 * 1024 * 1024;
const WRITE_BUFFER_BYTES_DEFAULT = 8 * 1024 * 1024;

/** Internals shared with recovery and the control operations (store-control.ts). */
export type StoreParts = {
  dir: string; log: Log; index: StoreIndex; writer: SegmentWriter; segments: SegmentInfo[];
  readFiles: ReadFiles; options: StoreOptions;
};

export class Store {
  readonly #parts: StoreParts;
  readonly #pendingEntriesMax: number;
  readonly #listeners = new Set<(durableSeq: number) => void>();
  readonly #place: FramePlace = { segment: null, position: 0 };
  readonly #fields: FrameFields = { seq: 0, epoch: 0, streamId: 0, baseOffset: 0, recordCount: 0 };
  #syncWaiters: Array<{ seq: number; resolve: (seq: number) => void; reject: (error: Error) => void }> = [];
  #reportedDurableSeq = 0;
  #lastEpoch = 0;
  #isClosed = false;
  #corruptEntries = 0;
  #diskFullErrors = 0;

  private constructor(parts: StoreParts) {
    this.#parts = parts;
    this.#pendingEntriesMax = parts.options.pendingEntriesMax ?? PENDING_ENTRIES_MAX;
  }

  static async open(options: StoreOptions): Promise<Store> {
    const dir = path.resolve(options.dir);
    await fs.promises.mkdir(path.join(dir, 'index'), { recursive: true });
    const log = new Log(`store ${dir}`);
    const segments: SegmentInfo[] = [];
    let store: Store | null = null;
    const writer = new SegmentWriter({
      dir, sync: options.sync, segmentBytesMax: options.segmentBytesMax ?? SEGMENT_BYTES_MAX_DEFAULT,
      bufferBytes: options.writeBufferBytes ?? WRITE_BUFFER_BYTES_DEFAULT,
      inlineWriteBytesMax: options.inlineWriteBytesMax ?? INLINE_WRITE_BYTES_MAX,
      diskFullRetryMs: options.diskFullRetryMs ?? 1000, segments,
      pageCacheKeepBytes: options.pageCacheKeepBytes === undefined ? PAGE_CACHE_KEEP_BYTES_DEFAULT
        : options.pageCacheKeepBytes, log,
      onDurable: (seq) => { if (store !== null) store.#onWriterProgress(seq); },
      onViewsReleased: options.onBatchesWritten,
      observeWriteSeconds: options.observeWriteSeconds, observeSyncSeconds: options.observeSyncSeconds,
    });
    const index = new StoreIndex(path.join(dir, 'index'), log, options.indexing === 'paused', options.indexLagMsMax);
    const parts: StoreParts = { dir, log, index, writer, segments, readFiles: new ReadFiles(), options };
    try {
      const recovered = await recoverStore(parts);
      store = new Store(parts);
      store.#reportedDurableSeq = writer.durableSeq;
      store.#lastEpoch = recovered.lastEpoch;
    } catch (error) {
      await index.close().catch(() => undefined);
      throw error;
    }
    const indexStartMs = performance.now();
    index.onDurable(writer.durableSeq);
    await index.caughtUp();
    log.debug(`open: the index caught up in ${(performance.now() - indexStartMs).toFixed(0)} ms`);
    // A rebuilt format-1 index knows only what the segments hold: its streams' log starts come back here.
    for (const [streamId, offset] of index.carriedLogStarts) {
      const stream = index.streams.get(streamId);
      if (stream !== undefined) await store.setLogStartOffset(streamId, Math.min(offset, stream.nextOffset));
    }
    index.carriedLogStarts.clear();
    return store;
  }

  get lastSeq(): number {
    return this.#parts.writer.lastSeq;
  }

  get durableSeq(): number {
    return this.#parts.writer.durableSeq;
  }

  get metrics(): StoreMetrics {
    const { writer, index } = this.#parts;
    return {
      fsyncs: writer.fsyncs, bytesWritten: writer.bytesWritten, inlineWrites: writer.inlineWrites,
      indexBatches: index.indexBatches,
      indexErrors: index.indexErrors, corruptEntriesDetected: this.#corruptEntries,
        diskFullErrors: this.#diskFullErrors, pageCacheDroppedBytes: writer.pageCacheDroppedBytes,
    };
  }

  /** Bytes the write buffer takes before append throws X2_ERR_STORE_BACKPRESSURE. */
  get appendableBytes(): number {
    return this.#parts.writer.bufferFreeBytes;
  }

  /** Segment files in seq order (first seq, file, bytes): for tools, tests and benchmarks. */
  segmentFiles(): Array<{ firstSeq: number; epoch: number; file: string; bytes: number }> {
    return this.#parts.segments.map((s) => ({ firstSeq: s.firstSeq, epoch: s.epoch, file: s.file,
      bytes: s.writtenEnd }));
  }

  append(entry: EntryInput): void {
    const { writer, index } = this.#parts;
    assert(!this.#isClosed, 'append after close');
    const stream = index.streams.get(entry.streamId);
    // Messages are built only on failure: this runs once per entry.
    if (!(Number.isSafeInteger(entry.seq) && entry.seq > writer.lastSeq)) {
      assert(false, `append: seq ${entry.seq} must be greater than ${writer.lastSeq}`);
    }
    if (entry.epoch < this.#lastEpoch) assert(false, `append: epoch ${entry.epoch} below ${this.#lastEpoch}`);
    if (!(entry.recordCount > 0 && entry.batch.length >= RECORD_BATCH_HEADER_BYTES)) {
      assert(false, 'append: a batch holds at least one record and a RecordBatch v2 header');
    }
    if (stream !== undefined && entry.baseOffset !== stream.nextOffset) {
      assert(false, `append: stream ${entry.streamId} expects offset ${stream.nextOffset}, got ${entry.baseOffset}`);
    }
    if (index.pendingCount >= this.#pendingEntriesMax) {
      throw new X2Error('X2_ERR_STORE_BACKPRESSURE',
        `store: ${index.pendingCount} entries wait for the index, await sync() and append again`, { retriable: true });
    }
    const fields = this.#fields;
    fields.seq = entry.seq;
    fields.epoch = entry.epoch;
    fields.streamId = entry.streamId;
    fields.baseOffset = entry.baseOffset;
    fields.recordCount = entry.recordCount;
    let frameBytes: number;
    try {
      frameBytes = writer.append(fields, entry.batch, this.#place, entry.batchCrc);
    } catch (error) {
      if (error instanceof X2Error && error.code === 'X2_ERR_DISK_FULL') this.#diskFullErrors += 1;
      throw error;
    }
    const segment = this.#place.segment;
    assert(segment !== null);
    this.#lastEpoch = entry.epoch;
    const maxTimestampMs = batchMaxTimestampMs(entry.batch);
    if (maxTimestampMs > segment.maxTimestampMs) segment.maxTimestampMs = maxTimestampMs;
    registerEntry(index, stream, fields, segment.firstSeq, this.#place.position, frameBytes, maxTimestampMs);
  }

  onDurable(listener: (durableSeq: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once every appended entry is durable and, when append refused for the index, it caught up. */
  sync(): Promise<number> {
    const { writer } = this.#parts;
    const seq = writer.lastSeq;
    if (writer.durableSeq >= seq) return this.#indexRoom(writer.durableSeq);
    // A failed write or fdatasync (not a full disk, which is retried) never recovers in place.
    const error = writer.error;
    if (error !== null && error.code !== 'X2_ERR_DISK_FULL') return Promise.reject(error);
    const durable = new Promise<number>((resolve, reject) => {
      this.#syncWaiters.push({ seq, resolve, reject });
      writer.requestSync();
    });
    return this.#parts.index.pendingCount < this.#pendingEntriesMax ? durable
      : durable.then((durableSeq) => this.#indexRoom(durableSeq));
  }

  /**
   * `durableSeq` once append has room for the index again. Resolving at once while the index is
   * full would let a caller retrying a refused append spin in microtasks, and the index never finish.
   */
  #indexRoom(durableSeq: number): Promise<number> {
    if (this.#parts.index.pendingCount < this.#pendingEntriesMax) return Promise.resolve(durableSeq);
    return this.#parts.index.caughtUp().then(() => durableSeq);
  }

  #onWriterProgress(durableSeq: number): void {
    const { writer, index } = this.#parts;
    const error = writer.error;
    if (error !== null && this.#syncWaiters.length > 0) {
      if (error.code === 'X2_ERR_DISK_FULL') this.#diskFullErrors += 1;
      const waiting = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const waiter of waiting) waiter.reject(error);
    }
    if (durableSeq <= this.#reportedDurableSeq) return;
    this.#reportedDurableSeq = durableSeq;
    index.onDurable(durableSeq);
    if (this.#syncWaiters.length > 0) {
      const waiting = this.#syncWaiters;
      this.#syncWaiters = waiting.filter((w) => w.seq > durableSeq);
      for (const waiter of waiting) if (waiter.seq <= durableSeq) waiter.resolve(durableSeq);
    }
    for (const listener of this.#listeners) listener(durableSeq);
  }

  stream(streamId: number): StreamInfo | null {
    const stream = this.#parts.index.streams.get(streamId);
    return stream === undefined ? null : streamInfo(stream);
  }

  *streams(): IterableIterator<[number, StreamInfo]> {
    for (const [streamId, stream] of this.#parts.index.streams) yield [streamId, streamInfo(stream)];
  }

  async read(streamId: number, offset: number, maxBytes: number): Promise<Buffer[]> {
    return (await this.readEntries(streamId, offset, maxBytes)).map((entry) => entry.batch);
  }

  /**
   * Whole batches of one stream from the one holding `offset`, up to `maxBytes` (at least one),
   * with their seqs: found through the index, so the cost does not depend on how many other
   * streams share the segments (a gateway's history read). The batches are views of one buffer
   * from `readBuffer` (of at least the bytes asked): a caller that copies them out at once lends
   * a reused one; by default a fresh one.
   */
  async readEntries(streamId: number, offset: number, maxBytes: number,
    readBuffer: (bytes: number) => Buffer = Buffer.allocUnsafe): Promise<StoredEntry[]> {
    const stream = this.#parts.index.streams.get(streamId);
    if (stream === undefined) {
      throw new X2Error('X2_ERR_OFFSET_OUT_OF_RANGE', `stream ${streamId}: no such stream (offset ${offset})`);
    }
    if (offset < stream.logStartOffset || offset > stream.nextOffset) {
      throw new X2Error('X2_ERR_OFFSET_OUT_OF_RANGE',
        `stream ${streamId}: offset out of range (got ${offset}), ` +
        `available ${stream.logStartOffset}..${stream.nextOffset}`);
    }
    if (offset === stream.nextOffset) return [];
    const locations = await this.#locate(stream, streamId, offset, maxBytes);
    const entries: StoredEntry[] = [];
    await this.#readFrames(locations, entries, readBuffer);
    return entries;
  }

  /** Locations of whole batches from the one containing `offset`, until `maxBytes` (at least one). */
  async #locate(stream: StreamState, streamId: number, offset: number, maxBytes: number): Promise<Location[]> {
    const out: Location[] = [];
    let bytes = 0;
    let next = offset;
    const end = stream.nextOffset;
    while (next < end && (out.length === 0 || bytes < maxBytes)) {
      const { tail } = this.#parts.index;
      let serial = this.#parts.index.pendingAt(stream, next);
      if (serial !== NO_SERIAL) {
        for (; serial !== NO_SERIAL && (out.length === 0 || bytes < maxBytes); serial = tail.nextInStream(serial)) {
          out.push(tail.location(serial));
          bytes += tail.frameBytes(serial) - FRAME_HEADER_BYTES;
          next = tail.endOffset(serial);
        }
        continue;
      }
      const before = out.length;
      await this.#parts.index.locate(streamId, next, out.length === 0 ? maxBytes : maxBytes - bytes, out);
      assert(out.length > before, `stream ${streamId}: offset ${next} is neither indexed nor pending`);
      for (let i = before; i < out.length; i++) {
        const location = out[i];
        assert(location !== undefined);
        bytes += location.frameBytes - FRAME_HEADER_BYTES;
        next = location.baseOffset + location.recordCount;
      }
    }
    return out;
  }

  /**
   * Reads the frames of `locations` into one buffer (one read per run of adjacent frames); with
   * `entries`, each frame also goes there decoded, its batch a view.
   */
  async #readFrames(locations: Location[], entries?: StoredEntry[],
    readBuffer: (bytes: number) => Buffer = Buffer.allocUnsafe): Promise<Buffer[]> {
    const { writer, segments, readFiles } = this.#parts;
    let totalBytes = 0;
    let seqMax = 0;
    for (const location of locations) {
      totalBytes += location.frameBytes;
      seqMax = Math.max(seqMax, location.seq);
    }
    await writer.waitWritten(seqMax);
    const bytes = readBuffer(totalBytes);
    const frames: Buffer[] = [];
    let bufferPosition = 0;
    let i = 0;
    while (i < locations.length) {
      const first = locations[i];
      assert(first !== undefined);
      let runBytes = first.frameBytes;
      let j = i + 1;
      for (; j < locations.length; j++) {
        const location = locations[j];
        assert(location !== undefined);
        if (location.segment !== first.segment || location.position !== first.position + runBytes) break;
        runBytes += location.frameBytes;
      }
      const segment = findSegment(segments, first.segment);
      const runStart = bufferPosition;
      const read = await readFiles.use(segment.file, (fd) => readAt(fd, bytes, runStart, runBytes, first.position));
      if (read !== runBytes) {
        this.#corrupt(`${segment.file}: ${runBytes - read} bytes missing at position ${first.position}`);
      }
      for (; i < j; i++) {
        const location = locations[i];
        assert(location !== undefined);
        this.#checkStoredFrame(bytes, bufferPosition, location, segment.file);
        frames.push(bytes.subarray(bufferPosition, bufferPosition + location.frameBytes));
        entries?.push({ ...this.#fields,
          batch: bytes.subarray(bufferPosition + FRAME_HEADER_BYTES, bufferPosition + location.frameBytes) });
        bufferPosition += location.frameBytes;
      }
    }
    return frames;
  }

  #checkStoredFrame(bytes: Buffer, position: number, location: Location, file: string): void {
    const end = position + location.frameBytes;
    const fields = this.#fields;
    if (checkFrame(bytes, position, end, FRAME_BYTES_MAX) !== 'valid' ||
      decodeFrameFields(bytes, position, fields) !== location.frameBytes || fields.seq !== location.seq ||
      fields.streamId !== location.streamId || fields.baseOffset !== location.baseOffset) {
      this.#corrupt(`${file}: entry seq ${location.seq} (stream ${location.streamId}, offset ${location.baseOffset}) ` +
        `at position ${location.position} failed its CRC32C check`);
    }
  }

  #corrupt(message: string): never {
    this.#corruptEntries += 1;
    this.#parts.log.error(message);
    throw new X2Error('X2_ERR_SEGMENT_CRC', message);
  }

  /**
   * The time index names the run where the stream's running max timestamp first reaches
   * `timestampMs` (every batch before it is older); the answer is the first batch from there (or
   * from the log start, or from the unindexed tail) whose max timestamp reaches it.
   */
  async offsetForTimestamp(streamId: number, timestampMs: number): Promise<number | null> {
    const stream = this.#parts.index.streams.get(streamId);
    if (stream === undefined) return null;
    const indexedNextOffset = stream.indexed.nextOffset;
    const candidate = await this.#parts.index.firstTimeAtLeast(streamId, timestampMs);
    let next = Math.max(candidate ?? indexedNextOffset, stream.logStartOffset);
    while (next < stream.nextOffset) {
      const locations = await this.#locate(stream, streamId, next, 256 * 1024);
      for (const location of locations) {
        if (location.maxTimestampMs >= timestampMs) return this.#firstOffsetIn(stream, location, timestampMs);
        next = location.baseOffset + location.recordCount;
      }
    }
    return null;
  }

  /** The first record of the batch at `location` reaching `timestampMs` (and the log start). */
  async #firstOffsetIn(stream: StreamState, location: Location, timestampMs: number): Promise<number> {
    const logStart = stream.logStartOffset;
    if (location.recordCount === 1) return Math.max(location.baseOffset, logStart);
    const [frame] = await this.#readFrames([location]);
    assert(frame !== undefined);
    const offsetDeltaMin = Math.max(0, logStart - location.baseOffset);
    const delta = firstOffsetDeltaAtOrAfter(frame.subarray(FRAME_HEADER_BYTES), timestampMs, offsetDeltaMin);
    return Math.max(location.baseOffset + delta, logStart);
  }

  async readBySeq(fromSeq: number, maxBytes: number): Promise<StoredEntry[]> {
    const { writer, index, segments, readFiles } = this.#parts;
    if (fromSeq > writer.lastSeq || segments.length === 0) return [];
    // Serve what is in the files; wait only when nothing at or after fromSeq is written yet.
    if (fromSeq > writer.writtenSeq) await writer.waitWritten(fromSeq);
    let segmentIndex = Math.max(0, segments.findLastIndex((s) => s.firstSeq <= fromSeq));
    let position = SEGMENT_HEADER_BYTES;
    const pending = index.pendingBySeq(fromSeq);
    const first = segments[segmentIndex];
    assert(first !== undefined);
    // Only an exact hit is usable: a later pending entry means fromSeq is already in LevelDB.
    if (pending !== undefined && pending.seq === fromSeq && pending.segment === first.firstSeq) {
      position = pending.position;
    }
    else {
      const sparse = await index.seqPositionAtMost(fromSeq);
      if (sparse !== null && sparse.segment === first.firstSeq) position = sparse.position;
    }
    const out: StoredEntry[] = [];
    let bytes = 0;
    for (; segmentIndex < segments.length && (out.length === 0 || bytes < maxBytes); segmentIndex++) {
      const segment = segments[segmentIndex];
      assert(segment !== undefined);
      if (segment.writtenEnd <= position) break; // created in a write buffer, not yet in its file
      const result = await readFiles.use(segment.file, (fd) => scanFrames(fd, position, segment.writtenEnd,
        (fields, frame, framePosition, _filePosition, frameBytes) => {
          if (out.length > 0 && bytes >= maxBytes) return false;
          if (fields.seq < fromSeq) return true;
          out.push({ ...fields, batch: frame.subarray(framePosition + FRAME_HEADER_BYTES,
            framePosition + frameBytes) });
          bytes += frameBytes - FRAME_HEADER_BYTES;
          return true;
        }, { chunkBytes: Math.max(64 * 1024, Math.min(maxBytes + FRAME_HEADER_BYTES, 8 * 1024 * 1024)),
          isFreshChunks: true }));
      if (result.stop === 'invalid' || result.stop === 'torn') {
        this.#corrupt(`${segment.file}: entry at position ${result.position} failed its CRC32C check`);
      }
      position = SEGMENT_HEADER_BYTES;
    }
    return out;
  }

  async truncateAfter(seq: number): Promise<void> {
    assert(Number.isSafeInteger(seq) && seq >= 0, `truncateAfter: bad seq ${seq}`);
    if (seq >= this.lastSeq) return;
    await this.sync();
    await this.#parts.index.caughtUp();
    await this.#parts.index.exclusive(() => truncateStore(this.#parts, seq));
    this.#reportedDurableSeq = Math.min(this.#reportedDurableSeq, seq);
    // Segments roll on every epoch change, so the last kept segment's epoch is the last kept entry's:
    // repair may now append entries of an older epoch than the dropped tail had.
    this.#lastEpoch = this.#parts.segments.at(-1)?.epoch ?? 0;
  }

  async setLogStartOffset(streamId: number, offset: number): Promise<void> {
    const stream = this.#parts.index.streams.get(streamId);
    if (stream === undefined || offset > stream.nextOffset) {
      throw new X2Error('X2_ERR_OFFSET_OUT_OF_RANGE', `stream ${streamId}: cannot move the log start to ${offset}, ` +
        (stream === undefined ? 'no such stream' : `the next offset is ${stream.nextOffset}`));
    }
    if (offset <= stream.logStartOffset) return;
    await this.sync();
    await this.#parts.index.caughtUp();
    await this.#parts.index.exclusive(() => setLogStart(this.#parts, streamId, offset));
  }

  async applyRetention(nowMs: number): Promise<{ segmentsDeleted: number }> {
    await this.#parts.index.caughtUp();
    return this.#parts.index.exclusive(() => applyRetentionTo(this.#parts, nowMs));
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    const { writer, index, readFiles } = this.#parts;
    if (writer.error === null) {
      await this.sync();
      await index.caughtUp();
    }
    this.#isClosed = true;
    await writer.close();
    await readFiles.close();
    await index.close();
  }
}

function streamInfo(stream: StreamState): StreamInfo {
  return { logStartOffset: stream.logStartOffset, nextOffset: stream.nextOffset, sizeBytes: stream.sizeBytes };
}

function findSegment(segments: SegmentInfo[], firstSeq: number): SegmentInfo {
  const segment = segments.find((s) => s.firstSeq === firstSeq);
  if (segment === undefined) {
    throw new X2Error('X2_ERR_OFFSET_OUT_OF_RANGE', `segment ${firstSeq} is no longer stored (deleted by retention)`);
  }
  return segment;
}

/** Stream bookkeeping for an appended or recovered frame (in memory; indexed later). */
export function registerEntry(index: StoreIndex, known: StreamState | undefined, fields: FrameFields, segment: number,
  position: number, frameBytes: number, maxTimestampMs: number): void {
  let stream = known;
  if (stream === undefined) {
    stream = new StreamState(fields.streamId, { logStartOffset: fields.baseOffset, nextOffset: fields.baseOffset,
      appendedBytes: 0, maxTimestampMs: Number.MIN_SAFE_INTEGER, bytesBelowLogStart: 0 });
    index.streams.set(fields.streamId, stream);
  }
  stream.nextOffset = fields.baseOffset + fields.recordCount;
  stream.sizeBytes += frameBytes - FRAME_HEADER_BYTES;
  if (maxTimestampMs > stream.maxTimestampMs) stream.maxTimestampMs = maxTimestampMs;
  index.addPending(stream, fields.seq, fields.baseOffset, fields.recordCount, segment, position, frameBytes,
    maxTimestampMs);
}
