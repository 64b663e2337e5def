/**
 * The store's LSM index (classic-level/LevelDB) and its in-memory tail.
 *
 * Data path: every appended entry gets a Location at once and waits in `pending` (the in-memory
 * tail, which reads consult first). After the segment writer reports it durable, the background
 * indexer writes it to LevelDB in a batch together with the touched streams' directory keys and
 * a checkpoint (segment, position, seq) in one atomic write, then drops it from `pending`.
 * LevelDB writes are never on the fdatasync path, and only durable entries are indexed, so the
 * index never points past what the segments hold after a crash: recovery re-reads the segments
 * from the checkpoint (the index may lag; the segments are the truth).
 *
 * Layout (index-keys.ts): an index write packs its entries, sorted by (stream, offset), into
 * shared parts of PART_ENTRIES, plus a directory key per stream only where a span starts (new
 * stream, idle stream resuming, or every SPAN_WRITES writes / SPAN_ENTRIES batches), plus one
 * summary of the touched streams' state. So the LevelDB operations of a write grow with its
 * entries / PART_ENTRIES and touched streams / SPAN_WRITES, not with one value per stream.
 * Open closes every open span (so no summary is needed after it) and deletes the summaries.
 * Bounds: one index batch in flight, at most INDEX_BATCH_ENTRIES_MAX entries each, never two
 * segments in one write; `pending` holds at most the durable-but-unindexed tail plus the write
 * buffers' worth of entries (the store refuses appends past PENDING_ENTRIES_MAX); the span ring
 * holds each stream at most once per slot. LevelDB open files are capped (maxOpenFiles), so the
 * store's file count does not grow with the number of streams.
 * Control operations (retention, truncation) run exclusively with index batches (`exclusive`).
 */
import * as fs from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { Log } from '../base/log.ts';
import { FRAME_HEADER_BYTES } from './format.ts';
import { NO_SERIAL, PendingTail } from './pending-tail.ts';
import {
  decodeCheckpoint, decodePositionValue, decodeSpanStart, decodeStreamMeta, directoryKey, encodeCheckpoint,
  encodeMembership, encodeSpanStart, encodeStreamMeta, forEachSummaryRecord, formatOneLogStartOffset, i64Value,
  INDEX_FORMAT, partBytes, partCount, partIndexOf, partKey, partKeyWriteSeq, partLocation, partWriteKey, PART_ENTRIES,
  positionValue, membershipKey, readU64Value, segmentKey, seqKey, SPAN_ENTRIES, SPAN_WRITES, streamEndKey, streamKey,
  streamStartKey, summaryBytes, summaryKey, TAG, tagOnlyKey, tagRange, timeKey, u64Value, writePartEntry,
  writePartHeader, writeSummaryRecord, type Checkpoint, type Location, type SpanStart, type StreamMeta,
  type StreamStats,
} from './index-keys.ts';

/** One index write takes at most this many entries (bounds the batch a LevelDB write builds). */
export const INDEX_BATCH_ENTRIES_MAX = 524_288;
/**
 * The indexer waits until this many durable entries are pending, or INDEX_LAG_MS_MAX passed:
 * larger batches mean fewer LevelDB operations per entry.
 */
export const INDEX_BATCH_ENTRIES_MIN = 262_144;
export const INDEX_LAG_MS_MAX = 1000;
export const PENDING_ENTRIES_MAX = 1_000_000;
/** Entries an index write packs between two yields to the event loop (~1-2 ms of work). */
export const INDEX_BUILD_YIELD_ENTRIES = 4096;

/** LevelDB operations added to an index write between two yields to the event loop. */
const INDEX_WRITE_YIELD_OPS = 256;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** A sparse seq -> position key at most every this many bytes of a segment (readBySeq). */
const SEQ_INDEX_INTERVAL_BYTES = 64 * 1024;
const INDEX_RETRY_MS = 500;
const LEVELDB_OPEN_FILES_MAX = 32;
/** LevelDB memtable: larger than its 4 MiB default, so fewer level-0 files and compactions. */
const LEVELDB_MEMTABLE_BYTES = 16 * 1024 * 1024;

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * Span starts remembered per stream (the highest offsets: its directory keys and where each of its
 * last index writes began): reads there seek the right write at once. Bounds memory per stream.
 */
const RECENT_SPANS_MAX = 8;
/** Every this many pending locations of a stream, one is kept in an array for binary search. */
const PENDING_SAMPLE_EVERY = 64;

/** A stream's indexed state as the index holds it (StreamStats plus its log start accounting). */
export type IndexedStream = StreamMeta;

/**
 * A stream in memory: live values, the values as of the index checkpoint, its open span, and
 * its pending tail as a chain (no per-stream array growing with every entry) plus a sparse
 * sample array, so a lookup costs a binary search and at most PENDING_SAMPLE_EVERY steps.
 */
export class StreamState {
  readonly streamId: number;
  logStartOffset: number;
  nextOffset: number;
  sizeBytes: number;
  maxTimestampMs: number;
  indexed: IndexedStream;
  /** The last directory key of the stream (null: none yet); isSpanOpen: batches indexed after it. */
  span: SpanStart | null = null;
  isSpanOpen = false;
  spanEntries = 0;
  /** The index write (counted since open) that wrote `span`. */
  spanWriteNumber = 0;
  /**
   * Known span starts with the highest offsets, ascending: directory keys, and the first offset
   * of the stream in each index write (the same meaning: its batches from there are in that write
   * or later). Lookups at or above the lowest one skip the directory seek.
   */
  #recentSpans: SpanStart[] = [];
  /** Serials of the stream's first and last pending entries in the tail (NO_SERIAL: none). */
  pendingFirst = NO_SERIAL;
  pendingLast = NO_SERIAL;
  #samples: number[] = [];
  #samplesHead = 0;
  #pendingAdded = 0;
  /** Whether the index holds its 'm' key (written once, then only by control operations). */
  isStored = false;
  /** The newest segment whose membership key lists this stream. */
  memberOfSegment = -1;
  /** Scratch of the index batch being built: this stream's entry count in it. */
  batchCount = 0;

  constructor(streamId: number, meta: IndexedStream) {
    this.streamId = streamId;
    this.logStartOffset = meta.logStartOffset;
    this.nextOffset = meta.nextOffset;
    this.sizeBytes = meta.appendedBytes - meta.bytesBelowLogStart;
    this.maxTimestampMs = meta.maxTimestampMs;
    this.indexed = { ...meta };
  }

  /** Remembers a span start of this stream (only the RECENT_SPANS_MAX highest offsets). */
  noteSpan(span: SpanStart): void {
    const spans = this.#recentSpans;
    let i = spans.length;
    while (i > 0 && (spans[i - 1]?.offset ?? 0) > span.offset) i -= 1;
    if (i > 0 && spans[i - 1]?.offset === span.offset) spans[i - 1] = span;
    else spans.splice(i, 0, span);
    if (spans.length > RECENT_SPANS_MAX) spans.shift();
  }

  /** Forgets remembered directory keys at or above `offset` (truncation deleted them). */
  forgetSpansFrom(offset: number): void {
    this.#recentSpans = this.#recentSpans.filter((span) => span.offset < offset);
  }

  /**
   * The highest remembered span start at or below `offset`, else null. The remembered ones are the
   * highest, so none in LevelDB lies between it and `offset`.
   */
  recentSpanAtMost(offset: number): SpanStart | null {
    for (let i = this.#recentSpans.length - 1; i >= 0; i--) {
      const span = this.#recentSpans[i];
      if (span !== undefined && span.offset <= offset) return span;
    }
    return null;
  }

  /** Links a new entry of this stream (its serial in `tail`, already chained after pendingLast). */
  addPending(serial: number): void {
    if (this.pendingLast === NO_SERIAL) this.pendingFirst = serial;
    this.pendingLast = serial;
    if (this.#pendingAdded % PENDING_SAMPLE_EVERY === 0) this.#samples.push(serial);
    this.#pendingAdded += 1;
  }

  /** The serial of the pending batch that contains `offset`, or NO_SERIAL. */
  pendingAt(tail: PendingTail<StreamState>, offset: number): number {
    const first = this.pendingFirst;
    const last = this.pendingLast;
    if (first === NO_SERIAL || last === NO_SERIAL) return NO_SERIAL;
    if (offset < tail.baseOffset(first) || offset >= tail.endOffset(last)) return NO_SERIAL;
    let start = first;
    let low = this.#samplesHead;
    let high = this.#samples.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const sample = this.#samples[middle];
      assert(sample !== undefined);
      if (tail.baseOffset(sample) <= offset) {
        if (sample > start) start = sample;
        low = middle + 1;
      } else high = middle - 1;
    }
    for (let serial = start; serial !== NO_SERIAL; serial = tail.nextInStream(serial)) {
      if (offset < tail.endOffset(serial)) return serial;
    }
    return NO_SERIAL;
  }

  dropPendingHead(tail: PendingTail<StreamState>): void {
    const first = this.pendingFirst;
    assert(first !== NO_SERIAL);
    this.pendingFirst = tail.nextInStream(first);
    if (this.pendingFirst === NO_SERIAL) this.pendingLast = NO_SERIAL;
    if (this.#samples[this.#samplesHead] === first) {
      this.#samplesHead += 1;
      if (this.#samplesHead === this.#samples.length) {
        this.#samples = [];
        this.#samplesHead = 0;
      } else if (this.#samplesHead > 64 && this.#samplesHead * 2 > this.#samples.length) {
        this.#samples = this.#samples.slice(this.#samplesHead);
        this.#samplesHead = 0;
      }
    }
  }
}

/** The ops that start a span of `stream` at `offset` (closing the previous one) with `stats` before it. */
export function pushSpanStart(ops: BatchOp[], stream: StreamState, offset: number, writeSeq: number,
  stats: StreamStats): SpanStart {
  const previous = stream.span;
  // The closed span's key: its running max grew, so lookups of timestamps up to it start there.
  if (previous !== null && stats.maxTimestampMs > previous.maxTimestampMs && offset > previous.offset) {
    ops.push({ type: 'put', key: timeKey(stream.streamId, stats.maxTimestampMs), value: u64Value(previous.offset) });
  }
  const span = { offset, writeSeq, appendedBytes: stats.appendedBytes, maxTimestampMs: stats.maxTimestampMs };
  ops.push({ type: 'put', key: directoryKey(stream.streamId, offset), value: encodeSpanStart(span) });
  return span;
}

type SpanChange = { stream: StreamState; span: SpanStart; isOpen: boolean; entries: number };

export class StoreIndex {
  readonly db: ClassicLevel<Buffer, Buffer>;
  readonly streams = new Map<number, StreamState>();
  readonly #log: Log;
  readonly #dir: string;
  /** Appended entries not yet in LevelDB, in seq order (each knows its stream: no map lookups). */
  readonly tail = new PendingTail<StreamState>();
  #durableSeq = 0;
  #running = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #lagTimer: NodeJS.Timeout | null = null;
  #lock: Promise<unknown> = Promise.resolve();
  #idleWaiters: Array<{ seq: number; resolve: () => void }> = [];
  #lastSparseSegment = -1;
  #lastSparsePosition = 0;
  #segmentMaxTimestampMs = new Map<number, number>();
  /** Index writes since open; slot n % (SPAN_WRITES + 1) lists the streams whose span started at write n. */
  #writeNumber = 0;
  readonly #spanRing: StreamState[][] = Array.from({ length: SPAN_WRITES + 1 }, () => []);
  /** The summary keys of the last writes, oldest first (at most SPAN_WRITES + 1). */
  #summaryKeys: Buffer[] = [];
  #closed = false;
  indexedSeq = 0;
  indexBatches = 0;
  indexErrors = 0;
  /** Log starts kept from a format-1 index that open() rebuilt; the store re-applies them. */
  carriedLogStarts = new Map<number, number>();

  /** While paused the indexer writes nothing (recovery benchmarks build an unindexed tail this way). */
  readonly isPaused: boolean;

  readonly #lagMsMax: number;

  constructor(dir: string, log: Log, isPaused = false, lagMsMax = INDEX_LAG_MS_MAX) {
    this.isPaused = isPaused;
    this.#lagMsMax = lagMsMax;
    this.#dir = dir;
    this.db = StoreIndex.#level(dir);
    this.#log = log;
  }

  static #level(dir: string): ClassicLevel<Buffer, Buffer> {
    return new ClassicLevel<Buffer, Buffer>(dir, {
      keyEncoding: 'buffer', valueEncoding: 'buffer', maxOpenFiles: LEVELDB_OPEN_FILES_MAX,
      writeBufferSize: LEVELDB_MEMTABLE_BYTES,
    });
  }

  async #openLevel(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
    try {
      await db.open();
    } catch (error) {
      // LevelDB's own message ("Database failed to open") does not say that another process holds it.
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new X2Error('X2_ERR_IO', `${db.location}: the store is in use by another process ` +
          '(another x2 commit on the same --data?); one commit per data directory is allowed', { cause: error });
      }
      throw new X2Error('X2_ERR_IO', `${db.location}: the index cannot be opened: ` +
        `${(cause as Error | undefined)?.message ?? (error as Error).message}`, { cause: error });
    }
  }

  async open(): Promise<{ checkpoint: Checkpoint | null; retainedSeq: number }> {
    await this.#openLevel(this.db);
    const formatValue = await this.db.get(tagOnlyKey(TAG.format));
    const checkpointValue = await this.db.get(tagOnlyKey(TAG.checkpoint));
    const retainedValue = await this.db.get(tagOnlyKey(TAG.retained));
    const retainedSeq = retainedValue === undefined ? 0 : readU64Value(retainedValue);
    const format = formatValue === undefined ? (checkpointValue === undefined ? null : 1) : readU64Value(formatValue);
    if (format === 1) return { checkpoint: null, retainedSeq: await this.#rebuildFormatOne(retainedSeq) };
    if (format !== null && format !== INDEX_FORMAT) {
      throw new X2Error('X2_ERR_FORMAT', `${this.#dir}: index format ${format} is not supported (this x2 reads ` +
        `format ${INDEX_FORMAT}); remove the folder ${this.#dir} and the store rebuilds it from its segments`);
    }
    if (format === null) await this.db.put(tagOnlyKey(TAG.format), u64Value(INDEX_FORMAT));
    const checkpoint = checkpointValue === undefined ? null : decodeCheckpoint(checkpointValue);
    this.indexedSeq = checkpoint?.seq ?? 0;
    for await (const [key, value] of this.db.iterator(tagRange(TAG.stream))) {
      const stream = new StreamState(key.readUInt32BE(1), decodeStreamMeta(value));
      stream.isStored = true;
      this.streams.set(stream.streamId, stream);
    }
    await this.#loadSpans(checkpoint?.seq ?? 0);
    return { checkpoint, retainedSeq };
  }

  /**
   * A format-1 index (one run per stream per write) is rebuilt from the segments, which are the
   * truth: the folder is emptied and the store re-indexes everything; only the log starts (moved
   * by DeleteRecords or retention) and the first retained seq are carried over.
   */
  async #rebuildFormatOne(retainedSeq: number): Promise<number> {
    for await (const [key, value] of this.db.iterator(tagRange(TAG.stream))) {
      this.carriedLogStarts.set(key.readUInt32BE(1), formatOneLogStartOffset(value));
    }
    this.#log.info(`${this.#dir}: the index is in format 1; rebuilding it in format ${INDEX_FORMAT} from the ` +
      `segments (${this.carriedLogStarts.size} streams)`);
    await this.db.close();
    await fs.promises.rm(this.#dir, { recursive: true, force: true });
    await fs.promises.mkdir(this.#dir, { recursive: true });
    // The same ClassicLevel instance reopens on the now empty folder.
    await this.#openLevel(this.db);
    await this.db.batch([{ type: 'put', key: tagOnlyKey(TAG.format), value: u64Value(INDEX_FORMAT) },
      { type: 'put', key: tagOnlyKey(TAG.retained), value: u64Value(retainedSeq) }], { sync: true });
    return retainedSeq;
  }

  /**
   * Each stream's last directory key, then the summaries of the last writes (newer state of open
   * spans); then every open span is closed and the summaries deleted, in one batch.
   */
  async #loadSpans(checkpointSeq: number): Promise<void> {
    const iterator = this.db.iterator<Buffer, Buffer>({ ...tagRange(TAG.directory), reverse: true });
    try {
      for (const [streamId, stream] of this.streams) {
        iterator.seek(streamEndKey(TAG.directory, streamId));
        const entry = await iterator.next();
        if (entry === undefined || entry[0].readUInt32BE(1) !== streamId) continue;
        stream.span = decodeSpanStart(entry[0], entry[1]);
        stream.noteSpan(stream.span);
        takeNewer(stream, { nextOffset: stream.span.offset, appendedBytes: stream.span.appendedBytes,
          maxTimestampMs: stream.span.maxTimestampMs });
      }
    } finally {
      await iterator.close();
    }
    const ops: BatchOp[] = [];
    // Summaries are kept for a contiguous run of the last writes, so two summaries of a stream in a
    // row mean the second write's batches start where the first one's ended: a span start to remember.
    const summarized = new Set<StreamState>();
    for await (const [key, value] of this.db.iterator(tagRange(TAG.summary))) {
      const writeSeq = readU64Value(key);
      ops.push({ type: 'del', key: summaryKey(writeSeq) });
      forEachSummaryRecord(value, (streamId, stats) => {
        const stream = this.streams.get(streamId);
        if (stream?.span == null || writeSeq < stream.span.writeSeq) return;
        const before = stream.indexed;
        if (!takeNewer(stream, stats)) return;
        if (summarized.has(stream)) {
          stream.noteSpan({ offset: before.nextOffset, writeSeq, appendedBytes: before.appendedBytes,
            maxTimestampMs: before.maxTimestampMs });
        }
        summarized.add(stream);
        stream.isSpanOpen = true;
      });
    }
    for (const stream of this.streams.values()) {
      if (!stream.isSpanOpen) continue;
      stream.span = pushSpanStart(ops, stream, stream.indexed.nextOffset, checkpointSeq + 1, stream.indexed);
      stream.noteSpan(stream.span);
      stream.isSpanOpen = false;
    }
    if (ops.length > 0) await this.db.batch(ops, { sync: true });
  }

  get pendingCount(): number {
    return this.tail.count;
  }

  /** Registers an appended (or recovered) entry; its location is served from memory until indexed. */
  addPending(stream: StreamState, seq: number, baseOffset: number, recordCount: number, segment: number,
    position: number, frameBytes: number, maxTimestampMs: number): void {
    stream.addPending(this.tail.push(stream, stream.pendingLast, seq, stream.streamId, baseOffset, recordCount, segment,
      position, frameBytes, maxTimestampMs));
  }

  /** The pending location of `stream` containing `offset` (serial in `tail`), or NO_SERIAL. */
  pendingAt(stream: StreamState, offset: number): number {
    return stream.pendingAt(this.tail, offset);
  }

  /** Entries up to `seq` are durable: index them in the background. */
  onDurable(seq: number): void {
    this.#durableSeq = seq;
    if (this.pendingCount >= INDEX_BATCH_ENTRIES_MIN) this.#kick();
    else if (this.#lagTimer === null && !this.#closed && !this.isPaused) {
      this.#lagTimer = setTimeout(() => {
        this.#lagTimer = null;
        this.#kick();
      }, this.#lagMsMax);
    }
  }

  /** Resolves once every entry durable now is in LevelDB. */
  caughtUp(): Promise<void> {
    const seq = this.#durableSeq;
    if (this.indexedSeq >= seq || this.pendingCount === 0 || this.isPaused) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push({ seq, resolve });
      this.#kick();
    });
  }

  /** Runs `work` with no index batch in flight (control operations). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#retryTimer !== null || this.isPaused) return;
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed && this.#hasDurablePending()) {
        await this.exclusive(() => this.#writeBatch());
      }
    } catch (error) {
      this.indexErrors += 1;
      this.#log.limited('error', 'index-write',
        `index write failed (entries stay in memory, retrying): ${(error as Error).message}`);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#kick();
      }, INDEX_RETRY_MS);
    } finally {
      this.#running = false;
    }
    this.#releaseIdleWaiters();
  }

  #hasDurablePending(): boolean {
    return this.tail.count > 0 && this.tail.seq(this.tail.head) <= this.#durableSeq;
  }

  #releaseIdleWaiters(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiting = this.#idleWaiters;
    this.#idleWaiters = waiting.filter((w) => w.seq > this.indexedSeq && this.pendingCount > 0);
    for (const waiter of waiting) if (!this.#idleWaiters.includes(waiter)) waiter.resolve();
  }

  async #writeBatch(): Promise<void> {
    const ops: BatchOp[] = [];
    const touched: StreamState[] = [];
    const tail = this.tail;
    if (!this.#hasDurablePending()) return;
    const segment = tail.segment(tail.head);
    const writeSeq = tail.seq(tail.head);
    let segmentMaxMs = this.#segmentMaxTimestampMs.get(segment) ?? Number.MIN_SAFE_INTEGER;
    let sparseSegment = this.#lastSparseSegment;
    let sparsePosition = this.#lastSparsePosition;
    let count = 0;
    let last = NO_SERIAL;
    for (let serial = tail.head; serial < tail.tail && count < INDEX_BATCH_ENTRIES_MAX; serial++) {
      // Yields as below; entries appended meanwhile are after `serial` and join this write if durable.
      if (count > 0 && count % INDEX_BUILD_YIELD_ENTRIES === 0) await yieldToLoop();
      // One write never spans two segments: retention deletes a segment's parts by write seq.
      if (tail.seq(serial) > this.#durableSeq || tail.segment(serial) !== segment) break;
      const stream = tail.owner(serial);
      assert(stream !== undefined);
      if (stream.batchCount === 0) touched.push(stream);
      stream.batchCount += 1;
      const maxTimestampMs = tail.maxTimestampMs(serial);
      if (maxTimestampMs > segmentMaxMs) segmentMaxMs = maxTimestampMs;
      const position = tail.position(serial);
      if (segment !== sparseSegment || position - sparsePosition >= SEQ_INDEX_INTERVAL_BYTES) {
        ops.push({ type: 'put', key: seqKey(tail.seq(serial)), value: positionValue(segment, position) });
        sparseSegment = segment;
        sparsePosition = position;
      }
      last = serial;
      count += 1;
    }
    if (last === NO_SERIAL) return;
    const writeNumber = this.#writeNumber + 1;
    const changes: SpanChange[] = [];
    const writeStarts: SpanStart[] = [];
    const indexedAfter: IndexedStream[] = [];
    const newMembers: StreamState[] = [];
    let isWritten = false;
    try {
      touched.sort((a, b) => a.streamId - b.streamId);
      const parts = Buffer.allocUnsafe(partBytes(count) + Math.ceil(count / PART_ENTRIES) * partBytes(0));
      const summary = Buffer.allocUnsafe(summaryBytes(touched.length));
      summary[0] = 1;
      let partStart = 0;
      let inPart = 0;
      let previous = NO_SERIAL;
      const closePart = (): void => {
        if (inPart === 0 || previous === NO_SERIAL) return;
        writePartHeader(parts, partStart, inPart);
        const end = partStart + partBytes(inPart);
        ops.push({ type: 'put', key: partKey(writeSeq, tail.streamId(previous), tail.endOffset(previous) - 1),
          value: parts.subarray(partStart, end) });
        partStart = end;
        inPart = 0;
      };
      let sinceYield = 0;
      for (let streamIndex = 0; streamIndex < touched.length; streamIndex++) {
        const stream = touched[streamIndex]!;
        const before = stream.indexed;
        const after: IndexedStream = { ...before, logStartOffset: stream.logStartOffset };
        let serial = stream.pendingFirst;
        const firstOffset = tail.baseOffset(serial);
        for (let i = 0; i < stream.batchCount; i++, serial = tail.nextInStream(serial)) {
          assert(serial !== NO_SERIAL);
          // A write of tens of thousands of entries would hold the loop for tens of ms (the commit's
          // river and durable reports wait): yield now and then. Appends meanwhile only extend the
          // tail; what this write reads (its entries, the streams' first pending) stays put.
          if (++sinceYield >= INDEX_BUILD_YIELD_ENTRIES) {
            sinceYield = 0;
            await yieldToLoop();
          }
          const maxTimestampMs = tail.maxTimestampMs(serial);
          writePartEntry(parts, partStart, inPart, tail.streamId(serial), tail.baseOffset(serial),
            tail.recordCount(serial), tail.frameBytes(serial), segment, tail.position(serial), tail.seq(serial),
            maxTimestampMs);
          previous = serial;
          inPart += 1;
          if (inPart === PART_ENTRIES) closePart();
          after.appendedBytes += tail.frameBytes(serial) - FRAME_HEADER_BYTES;
          if (maxTimestampMs > after.maxTimestampMs) after.maxTimestampMs = maxTimestampMs;
          after.nextOffset = tail.endOffset(serial);
        }
        indexedAfter.push(after);
        writeStarts.push({ offset: firstOffset, writeSeq, appendedBytes: before.appendedBytes,
          maxTimestampMs: before.maxTimestampMs });
        writeSummaryRecord(summary, streamIndex, stream.streamId, after);
        if (stream.memberOfSegment !== segment) newMembers.push(stream);
        if (!stream.isStored) {
          ops.push({ type: 'put', key: streamKey(stream.streamId), value: encodeStreamMeta(after) });
        }
        const isDue = stream.spanEntries >= SPAN_ENTRIES || writeNumber - stream.spanWriteNumber >= SPAN_WRITES;
        if (stream.span === null || !stream.isSpanOpen || isDue) {
          changes.push({ stream, span: pushSpanStart(ops, stream, firstOffset, writeSeq, before), isOpen: true,
            entries: stream.batchCount });
        } else {
          changes.push({ stream, span: stream.span, isOpen: true, entries: stream.spanEntries + stream.batchCount });
        }
      }
      closePart();
      if (newMembers.length > 0) {
        ops.push({ type: 'put', key: membershipKey(segment, writeSeq),
          value: encodeMembership(newMembers.map((stream) => stream.streamId)) });
      }
      // Spans opened SPAN_WRITES writes ago and not touched since close at their stream's end.
      for (const stream of this.#spanRing[(writeNumber + 1) % (SPAN_WRITES + 1)] ?? []) {
        if (stream.batchCount > 0 || !stream.isSpanOpen || stream.spanWriteNumber !== writeNumber - SPAN_WRITES ||
          this.streams.get(stream.streamId) !== stream) continue;
        changes.push({ stream, span: pushSpanStart(ops, stream, stream.indexed.nextOffset, writeSeq, stream.indexed),
          isOpen: false, entries: 0 });
      }
      ops.push({ type: 'put', key: summaryKey(writeSeq), value: summary });
      const expired = this.#summaryKeys.length >= SPAN_WRITES + 1 ? this.#summaryKeys[0] : undefined;
      if (expired !== undefined) ops.push({ type: 'del', key: expired });
      ops.push({ type: 'put', key: segmentKey(segment), value: i64Value(segmentMaxMs) });
      ops.push({ type: 'put', key: tagOnlyKey(TAG.checkpoint), value: encodeCheckpoint({
        segment, position: tail.position(last) + tail.frameBytes(last), seq: tail.seq(last) }) });
      await this.#writeOps(ops);
      isWritten = true;
      if (expired !== undefined) this.#summaryKeys.shift();
      this.#summaryKeys.push(summaryKey(writeSeq));
    } finally {
      touched.forEach((stream, i) => {
        const writeStart = writeStarts[i];
        if (isWritten && writeStart !== undefined) {
          stream.indexed = indexedAfter[i] ?? stream.indexed;
          stream.isStored = true;
          stream.noteSpan(writeStart);
        }
        stream.batchCount = 0;
      });
    }
    this.#writeNumber = writeNumber;
    this.#segmentMaxTimestampMs.set(segment, segmentMaxMs);
    const slot = this.#spanRing[writeNumber % (SPAN_WRITES + 1)];
    const expiredSlot = this.#spanRing[(writeNumber + 1) % (SPAN_WRITES + 1)];
    assert(slot !== undefined && expiredSlot !== undefined);
    expiredSlot.length = 0;
    for (const stream of newMembers) stream.memberOfSegment = segment;
    for (const change of changes) {
      const { stream } = change;
      if (change.span !== stream.span) {
        stream.noteSpan(change.span);
        stream.spanWriteNumber = writeNumber;
        if (change.isOpen) slot.push(stream);
      }
      stream.span = change.span;
      stream.isSpanOpen = change.isOpen;
      stream.spanEntries = change.entries;
    }
    this.indexBatches += 1;
    this.#lastSparseSegment = sparseSegment;
    this.#lastSparsePosition = sparsePosition;
    this.indexedSeq = tail.seq(last);
    for (let i = 0; i < count; i++) {
      tail.owner(tail.head)?.dropPendingHead(tail);
      tail.shift();
    }
  }

  /**
   * Writes `ops` as one atomic LevelDB batch, built op by op (a chained batch) with a yield to the
   * event loop every INDEX_WRITE_YIELD_OPS ops: handing them all over in one call held a commit's
   * loop for 5-14 ms.
   */
  async #writeOps(ops: BatchOp[]): Promise<void> {
    const batch = this.db.batch();
    try {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.type === 'put') batch.put(op.key, op.value); else batch.del(op.key);
        if ((i + 1) % INDEX_WRITE_YIELD_OPS === 0) await yieldToLoop();
      }
    } catch (error) {
      await batch.close().catch(() => undefined);
      throw error;
    }
    await batch.write();
  }

  /**
   * Control operations rewrite directory keys and delete summaries: every span is closed (as at
   * open) with `ops`, and the summaries are no longer needed; `stats` overrides a stream's state.
   */
  closeAllSpans(ops: BatchOp[], writeSeq: number): Array<() => void> {
    const apply: Array<() => void> = [];
    for (const key of this.#summaryKeys) ops.push({ type: 'del', key });
    apply.push(() => { this.#summaryKeys = []; });
    for (const stream of this.streams.values()) {
      if (!stream.isSpanOpen) continue;
      const span = pushSpanStart(ops, stream, stream.indexed.nextOffset, writeSeq, stream.indexed);
      apply.push(() => {
        stream.noteSpan(span);
        stream.span = span;
        stream.isSpanOpen = false;
        stream.spanEntries = 0;
      });
    }
    return apply;
  }

  /** The pending entry with the lowest seq >= `seq`, or undefined (binary search). */
  pendingBySeq(seq: number): Location | undefined {
    const serial = this.tail.firstAtLeast(seq);
    return serial < this.tail.tail ? this.tail.location(serial) : undefined;
  }

  /** The directory key of `streamId` at or below `offset` (where a lookup of `offset` starts). */
  async spanAtMost(streamId: number, offset: number): Promise<SpanStart | null> {
    for await (const [key, value] of this.db.iterator({ lte: directoryKey(streamId, offset),
      gte: streamStartKey(TAG.directory, streamId), reverse: true, limit: 1 })) {
      return decodeSpanStart(key, value);
    }
    return null;
  }

  /**
   * Indexed batches of `streamId` from the one containing `offset`: `take` gets each in order
   * until it returns false or the indexed batches end. One directory seek (none in the stream's
   * last span), then one part seek per index write the walk enters (at most SPAN_WRITES + 1
   * before reaching `offset`, two when a seek lands in a later write).
   */
  async walk(streamId: number, offset: number, take: (location: Location) => boolean): Promise<void> {
    const stream = this.streams.get(streamId);
    if (stream === undefined || offset >= stream.indexed.nextOffset) return;
    // The stream's recent spans are in memory: reads of recent offsets skip the directory seek.
    const span = stream.recentSpanAtMost(offset) ?? await this.spanAtMost(streamId, offset);
    if (span === null) return;
    const partsEnd = tagRange(TAG.part).lt;
    let writeSeq = span.writeSeq;
    let next = offset;
    while (next < stream.indexed.nextOffset) {
      // A fresh one-entry iterator per seek: an open iterator would read ahead parts it never uses.
      let entry: [Buffer, Buffer] | undefined;
      for await (const found of this.db.iterator({ gte: partKey(writeSeq, streamId, next), lt: partsEnd, limit: 1 })) {
        entry = found;
      }
      if (entry === undefined) return;
      const [key, value] = entry;
      let i = partIndexOf(value, streamId, next);
      if (i < 0) {
        // Landed in a later write: seek the stream there. Else this write holds no batch at `next`.
        writeSeq = partKeyWriteSeq(key) > writeSeq ? partKeyWriteSeq(key) : writeSeq + 1;
        continue;
      }
      const count = partCount(value);
      for (; i < count; i++) {
        const location = partLocation(value, i);
        if (location.streamId !== streamId) break;
        if (!take(location)) return;
        next = location.baseOffset + location.recordCount;
      }
      // The part ended inside the stream's batches: the next part of the same write continues them.
      writeSeq = i === count ? partKeyWriteSeq(key) : partKeyWriteSeq(key) + 1;
    }
  }

  /** Indexed batches of `streamId` from the one containing `offset`, until `bytesMax` (at least one). */
  async locate(streamId: number, offset: number, bytesMax: number, out: Location[]): Promise<number> {
    let found = 0;
    let bytes = 0;
    await this.walk(streamId, offset, (location) => {
      if (found > 0 && bytes >= bytesMax) return false;
      out.push(location);
      found += 1;
      bytes += location.frameBytes - FRAME_HEADER_BYTES;
      return bytes < bytesMax;
    });
    return found;
  }

  /**
   * Where to start looking for the first batch whose max timestamp reaches `timestampMs`: the
   * span where the running max first reaches it, else the open span (every batch before it is older).
   */
  async firstTimeAtLeast(streamId: number, timestampMs: number): Promise<number | null> {
    for await (const value of this.db.values({ gte: timeKey(streamId, timestampMs), lt: streamEndKey(TAG.time,
      streamId), limit: 1 })) {
      return readU64Value(value);
    }
    return this.streams.get(streamId)?.span?.offset ?? null;
  }

  /** The nearest sparse seq key at or below `seq`: where to start scanning for it. */
  async seqPositionAtMost(seq: number): Promise<{ segment: number; position: number } | null> {
    for await (const value of this.db.values({ lte: seqKey(seq), gte: Buffer.from([TAG.seq]), reverse: true,
      limit: 1 })) {
      return decodePositionValue(value);
    }
    return null;
  }

  /** The first part key of writes at or after `writeSeq`, for range deletes by control operations. */
  static partsFrom(writeSeq: number): Buffer {
    return partWriteKey(writeSeq);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#lagTimer !== null) clearTimeout(this.#lagTimer);
    this.#retryTimer = null;
    this.#lagTimer = null;
    await this.#lock;
    await this.db.close();
  }
}

/** Replaces the stream's indexed state with `stats` if they are further along; returns whether they were. */
function takeNewer(stream: StreamState, stats: StreamStats): boolean {
  if (stats.nextOffset <= stream.indexed.nextOffset) return false;
  stream.indexed = { ...stream.indexed, ...stats };
  stream.nextOffset = stats.nextOffset;
  stream.sizeBytes = stats.appendedBytes - stream.indexed.bytesBelowLogStart;
  stream.maxTimestampMs = stats.maxTimestampMs;
  return true;
}
