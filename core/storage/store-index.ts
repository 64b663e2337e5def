/**
 * The store's LSM index (classic-level/LevelDB) and its in-memory tail.
 *
 * Data path: every appended entry gets a Location at once and waits in `pending` (the in-memory
 * tail, which reads consult first). After the segment writer reports it durable, the background
 * indexer writes it to LevelDB in a batch together with the touched streams' metadata and a
 * checkpoint (segment, position, seq) in one atomic write, then drops it from `pending`.
 * LevelDB writes are never on the fdatasync path, and only durable entries are indexed, so the
 * index never points past what the segments hold after a crash: recovery re-reads the segments
 * from the checkpoint (the index may lag; the segments are the truth).
 *
 * Batches of one stream indexed together are stored as one run (index-keys.ts): LevelDB's cost is
 * per operation, so an index write waits for INDEX_BATCH_ENTRIES_MIN entries or INDEX_LAG_MS_MAX.
 * Bounds: one index batch in flight, at most INDEX_BATCH_ENTRIES_MAX entries each; `pending`
 * holds at most the durable-but-unindexed tail plus the write buffers' worth of entries (the
 * store refuses appends past PENDING_ENTRIES_MAX). LevelDB open files are capped (maxOpenFiles),
 * so the store's file count does not grow with the number of streams.
 * Control operations (retention, truncation) run exclusively with index batches (`exclusive`).
 */
import { ClassicLevel } from 'classic-level';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { Log } from '../base/log.ts';
import { FRAME_HEADER_BYTES } from './format.ts';
import {
  decodeCheckpoint, decodePositionValue, decodeStreamMeta, encodeCheckpoint, encodeRun, encodeStreamMeta, i64Value,
  offsetKey, positionValue, readU64Value, RUN_BATCHES_MAX, runBatchBytes, runCount, runEndOffset, runIndexOf,
  runLocation, runStreamAfter,
  segmentKey, segmentStreamKey, seqKey, streamEndKey, streamKey, streamStartKey, TAG, tagOnlyKey, timeKey, u64Value,
  type Checkpoint, type Location, type StreamMeta,
} from './index-keys.ts';

/** One index write takes at most this many entries (bounds the batch a LevelDB write builds). */
export const INDEX_BATCH_ENTRIES_MAX = 524_288;
/**
 * The indexer waits until this many durable entries are pending, or INDEX_LAG_MS_MAX passed:
 * larger batches mean longer runs per stream, so fewer LevelDB operations per entry.
 */
export const INDEX_BATCH_ENTRIES_MIN = 262_144;
export const INDEX_LAG_MS_MAX = 1000;
export const PENDING_ENTRIES_MAX = 1_000_000;
/** A sparse seq -> position key at most every this many bytes of a segment (readBySeq). */
const SEQ_INDEX_INTERVAL_BYTES = 64 * 1024;
const INDEX_RETRY_MS = 500;
const LEVELDB_OPEN_FILES_MAX = 32;
const MEMBER_VALUE = Buffer.from([1]);
/** LevelDB memtable: larger than its 4 MiB default, so fewer level-0 files and compactions. */
const LEVELDB_MEMTABLE_BYTES = 16 * 1024 * 1024;

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** A location not yet in LevelDB, chained to the next pending location of the same stream. */
export type PendingLocation = Location & { nextInStream: PendingLocation | null };

/** Every this many pending locations of a stream, one is kept in an array for binary search. */
const PENDING_SAMPLE_EVERY = 64;

/**
 * A stream in memory: live values, the values as of the index checkpoint, and its pending tail
 * as a chain (no per-stream array growing with every entry) plus a sparse sample array, so a
 * lookup costs a binary search and at most PENDING_SAMPLE_EVERY steps.
 */
export class StreamState {
  readonly streamId: number;
  logStartOffset: number;
  nextOffset: number;
  sizeBytes: number;
  maxTimestampMs: number;
  indexed: StreamMeta;
  pendingFirst: PendingLocation | null = null;
  pendingLast: PendingLocation | null = null;
  #samples: PendingLocation[] = [];
  #samplesHead = 0;
  #pendingAdded = 0;
  /** Whether the index holds its 'm' key (written once, then only by control operations). */
  isStored = false;
  /** The newest segment whose 'g' membership key was written for this stream. */
  memberOfSegment = -1;
  /** Scratch of the index batch being built: this stream's locations and its metadata after them. */
  batchRun: Location[] | null = null;
  batchMeta: StreamMeta | null = null;

  constructor(streamId: number, meta: StreamMeta) {
    this.streamId = streamId;
    this.logStartOffset = meta.logStartOffset;
    this.nextOffset = meta.nextOffset;
    this.sizeBytes = meta.sizeBytes;
    this.maxTimestampMs = meta.maxTimestampMs;
    this.indexed = { ...meta };
  }

  addPending(location: PendingLocation): void {
    if (this.pendingLast === null) this.pendingFirst = location;
    else this.pendingLast.nextInStream = location;
    this.pendingLast = location;
    if (this.#pendingAdded % PENDING_SAMPLE_EVERY === 0) this.#samples.push(location);
    this.#pendingAdded += 1;
  }

  /** The pending batch that contains `offset`, or null. */
  pendingAt(offset: number): PendingLocation | null {
    const first = this.pendingFirst;
    const last = this.pendingLast;
    if (first === null || last === null) return null;
    if (offset < first.baseOffset || offset >= last.baseOffset + last.recordCount) return null;
    let start = first;
    let low = this.#samplesHead;
    let high = this.#samples.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const sample = this.#samples[middle];
      assert(sample !== undefined);
      if (sample.baseOffset <= offset) {
        if (sample.baseOffset > start.baseOffset) start = sample;
        low = middle + 1;
      } else high = middle - 1;
    }
    for (let location: PendingLocation | null = start; location !== null; location = location.nextInStream) {
      if (offset < location.baseOffset + location.recordCount) return location;
    }
    return null;
  }

  dropPendingHead(): void {
    const first = this.pendingFirst;
    assert(first !== null);
    this.pendingFirst = first.nextInStream;
    if (this.pendingFirst === null) this.pendingLast = null;
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

export class StoreIndex {
  readonly db: ClassicLevel<Buffer, Buffer>;
  readonly streams = new Map<number, StreamState>();
  readonly #log: Log;
  #pending: Location[] = [];
  /** The stream of each pending location (parallel to #pending: no map lookups per entry). */
  #pendingStreams: StreamState[] = [];
  #pendingHead = 0;
  #durableSeq = 0;
  #running = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #lagTimer: NodeJS.Timeout | null = null;
  #lock: Promise<unknown> = Promise.resolve();
  #idleWaiters: Array<{ seq: number; resolve: () => void }> = [];
  #lastSparseSegment = -1;
  #lastSparsePosition = 0;
  #segmentMaxTimestampMs = new Map<number, number>();
  #closed = false;
  indexedSeq = 0;
  indexBatches = 0;
  indexErrors = 0;

  /** While paused the indexer writes nothing (recovery benchmarks build an unindexed tail this way). */
  readonly isPaused: boolean;

  readonly #lagMsMax: number;

  constructor(dir: string, log: Log, isPaused = false, lagMsMax = INDEX_LAG_MS_MAX) {
    this.isPaused = isPaused;
    this.#lagMsMax = lagMsMax;
    this.db = new ClassicLevel<Buffer, Buffer>(dir, {
      keyEncoding: 'buffer', valueEncoding: 'buffer', maxOpenFiles: LEVELDB_OPEN_FILES_MAX,
      writeBufferSize: LEVELDB_MEMTABLE_BYTES,
    });
    this.#log = log;
  }

  async open(): Promise<{ checkpoint: Checkpoint | null; retainedSeq: number }> {
    try {
      await this.db.open();
    } catch (error) {
      // LevelDB's own message ("Database failed to open") does not say that another process holds it.
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new X2Error('X2_ERR_IO', `${this.db.location}: the store is in use by another process ` +
          '(another x2 commit on the same --data?); one commit per data directory is allowed', { cause: error });
      }
      throw new X2Error('X2_ERR_IO', `${this.db.location}: the index cannot be opened: ` +
        `${(cause as Error | undefined)?.message ?? (error as Error).message}`, { cause: error });
    }
    const checkpointValue = await this.db.get(tagOnlyKey(TAG.checkpoint));
    const retainedValue = await this.db.get(tagOnlyKey(TAG.retained));
    const checkpoint = checkpointValue === undefined ? null : decodeCheckpoint(checkpointValue);
    this.indexedSeq = checkpoint?.seq ?? 0;
    for await (const [key, value] of this.db.iterator({ gte: Buffer.from([TAG.stream]),
      lt: Buffer.from([TAG.stream + 1]) })) {
      const stream = new StreamState(key.readUInt32BE(1), decodeStreamMeta(value));
      stream.isStored = true;
      this.streams.set(stream.streamId, stream);
    }
    await this.#refreshFromLastRuns();
    return { checkpoint, retainedSeq: retainedValue === undefined ? 0 : readU64Value(retainedValue) };
  }

  /** A stream's 'm' key is written rarely; its last run carries the newer next offset and size. */
  async #refreshFromLastRuns(): Promise<void> {
    const iterator = this.db.iterator<Buffer, Buffer>({ gte: Buffer.from([TAG.offset]),
      lt: Buffer.from([TAG.offset + 1]),
      reverse: true });
    try {
      for (const [streamId, stream] of this.streams) {
        iterator.seek(streamEndKey(TAG.offset, streamId));
        const entry = await iterator.next();
        if (entry === undefined || entry[0].readUInt32BE(1) !== streamId) continue;
        const value = entry[1];
        const nextOffset = runEndOffset(value, runCount(value) - 1);
        if (nextOffset <= stream.indexed.nextOffset) continue;
        const after = runStreamAfter(value);
        stream.indexed = { ...stream.indexed, nextOffset, sizeBytes: after.sizeBytes,
          maxTimestampMs: after.maxTimestampMs };
        stream.nextOffset = nextOffset;
        stream.sizeBytes = after.sizeBytes;
        stream.maxTimestampMs = after.maxTimestampMs;
      }
    } finally {
      await iterator.close();
    }
  }

  get pendingCount(): number {
    return this.#pending.length - this.#pendingHead;
  }

  /** Registers an appended (or recovered) entry; its location is served from memory until indexed. */
  addPending(location: PendingLocation, stream: StreamState): void {
    this.#pending.push(location);
    this.#pendingStreams.push(stream);
    stream.addPending(location);
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
    const first = this.#pending[this.#pendingHead];
    return first !== undefined && first.seq <= this.#durableSeq;
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
    const newMembers: StreamState[] = [];
    const segments: number[] = [];
    let count = 0;
    let last: Location | undefined;
    let segment = -1;
    let segmentMaxMs = Number.MIN_SAFE_INTEGER;
    let sparseSegment = this.#lastSparseSegment;
    let sparsePosition = this.#lastSparsePosition;
    for (let i = this.#pendingHead; i < this.#pending.length && count < INDEX_BATCH_ENTRIES_MAX; i++) {
      const location = this.#pending[i];
      const stream = this.#pendingStreams[i];
      assert(location !== undefined && stream !== undefined);
      if (location.seq > this.#durableSeq) break;
      if (stream.batchRun === null) {
        stream.batchRun = [];
        stream.batchMeta = { ...stream.indexed };
        touched.push(stream);
      }
      stream.batchRun.push(location);
      if (location.segment !== segment) {
        if (segment >= 0) this.#segmentMaxTimestampMs.set(segment, segmentMaxMs);
        segment = location.segment;
        segmentMaxMs = this.#segmentMaxTimestampMs.get(segment) ?? Number.MIN_SAFE_INTEGER;
        segments.push(segment);
      }
      if (location.maxTimestampMs > segmentMaxMs) segmentMaxMs = location.maxTimestampMs;
      if (stream.memberOfSegment !== segment) {
        stream.memberOfSegment = segment;
        newMembers.push(stream);
        ops.push({ type: 'put', key: segmentStreamKey(segment, stream.streamId), value: MEMBER_VALUE });
      }
      if (segment !== sparseSegment || location.position - sparsePosition >= SEQ_INDEX_INTERVAL_BYTES) {
        ops.push({ type: 'put', key: seqKey(location.seq), value: positionValue(segment, location.position) });
        sparseSegment = segment;
        sparsePosition = location.position;
      }
      last = location;
      count += 1;
    }
    if (last === undefined) return;
    this.#segmentMaxTimestampMs.set(segment, segmentMaxMs);
    let isWritten = false;
    try {
      for (const stream of touched) {
        const meta = stream.batchMeta;
        const run = stream.batchRun;
        assert(meta !== null && run !== null);
        const lastOfStream = run[run.length - 1];
        assert(lastOfStream !== undefined);
        meta.nextOffset = lastOfStream.baseOffset + lastOfStream.recordCount;
        pushRuns(ops, stream.streamId, run, meta);
        meta.logStartOffset = stream.logStartOffset;
        if (!stream.isStored) ops.push({ type: 'put', key: streamKey(stream.streamId), value: encodeStreamMeta(meta) });
      }
      for (const segmentWritten of segments) {
        const maxMs = this.#segmentMaxTimestampMs.get(segmentWritten) ?? 0;
        ops.push({ type: 'put', key: segmentKey(segmentWritten), value: i64Value(maxMs) });
      }
      ops.push({ type: 'put', key: tagOnlyKey(TAG.checkpoint), value: encodeCheckpoint({
        segment: last.segment, position: last.position + last.frameBytes, seq: last.seq }) });
      await this.db.batch(ops);
      isWritten = true;
    } finally {
      for (const stream of touched) {
        if (isWritten && stream.batchMeta !== null) {
          stream.indexed = stream.batchMeta;
          stream.isStored = true;
        }
        stream.batchRun = null;
        stream.batchMeta = null;
      }
      if (!isWritten) for (const stream of newMembers) stream.memberOfSegment = -1;
    }
    this.indexBatches += 1;
    this.#lastSparseSegment = sparseSegment;
    this.#lastSparsePosition = sparsePosition;
    for (let i = 0; i < count; i++) {
      this.#pendingStreams[this.#pendingHead]?.dropPendingHead();
      this.#pendingHead += 1;
    }
    this.#compactPending();
    this.indexedSeq = last.seq;
  }

  #compactPending(): void {
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = [];
      this.#pendingStreams = [];
      this.#pendingHead = 0;
    } else if (this.#pendingHead > 4096 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingStreams = this.#pendingStreams.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
  }

  /** The pending entry with the lowest seq >= `seq`, or undefined (binary search). */
  pendingBySeq(seq: number): Location | undefined {
    let low = this.#pendingHead;
    let high = this.#pending.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#pending[middle]?.seq ?? Infinity) < seq) low = middle + 1;
      else high = middle;
    }
    return this.#pending[low];
  }

  /** Indexed batches of `streamId` from the one containing `offset`, until `bytesMax` (at least one). */
  async locate(streamId: number, offset: number, bytesMax: number, out: Location[]): Promise<number> {
    let firstKey: Buffer | null = null;
    let firstValue: Buffer | null = null;
    for await (const [key, value] of this.db.iterator({
      lte: offsetKey(streamId, offset), gte: streamStartKey(TAG.offset, streamId), reverse: true, limit: 1,
    })) {
      firstKey = key;
      firstValue = value;
    }
    if (firstKey === null || firstValue === null) return 0;
    const from = runIndexOf(firstValue, offset);
    if (from < 0) return 0;
    const taken = { found: 0, bytes: 0 };
    takeFromRun(streamId, firstValue, from, bytesMax, out, taken);
    if (taken.bytes >= bytesMax) return taken.found;
    const iterator = this.db.iterator({ gt: firstKey, lt: streamEndKey(TAG.offset, streamId) });
    try {
      while (taken.bytes < bytesMax) {
        const page = await iterator.nextv(16);
        if (page.length === 0) break;
        for (const [, value] of page) {
          if (taken.bytes >= bytesMax) break;
          takeFromRun(streamId, value, 0, bytesMax, out, taken);
        }
      }
    } finally {
      await iterator.close();
    }
    return taken.found;
  }

  /** Indexed base offset of the first batch whose running max timestamp reaches `timestampMs`. */
  async firstTimeAtLeast(streamId: number, timestampMs: number): Promise<number | null> {
    for await (const value of this.db.values({ gte: timeKey(streamId, timestampMs), lt: streamEndKey(TAG.time,
      streamId), limit: 1 })) {
      return readU64Value(value);
    }
    return null;
  }

  /** The nearest sparse seq key at or below `seq`: where to start scanning for it. */
  async seqPositionAtMost(seq: number): Promise<{ segment: number; position: number } | null> {
    for await (const value of this.db.values({ lte: seqKey(seq), gte: Buffer.from([TAG.seq]), reverse: true,
      limit: 1 })) {
      return decodePositionValue(value);
    }
    return null;
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

function takeFromRun(streamId: number, value: Buffer, from: number, bytesMax: number, out: Location[],
  taken: { found: number; bytes: number }): void {
  const count = runCount(value);
  for (let i = from; i < count && (taken.found === 0 || taken.bytes < bytesMax); i++) {
    out.push(runLocation(streamId, value, i));
    taken.bytes += runBatchBytes(value, i);
    taken.found += 1;
  }
}

/** Puts `locations` (consecutive batches of one stream) as runs, and time keys where the max grows. */
function pushRuns(ops: BatchOp[], streamId: number, locations: Location[], meta: StreamMeta): void {
  for (let start = 0; start < locations.length; start += RUN_BATCHES_MAX) {
    const end = Math.min(locations.length, start + RUN_BATCHES_MAX);
    const first = locations[start];
    assert(first !== undefined);
    const maxTimestampMsBefore = meta.maxTimestampMs;
    for (let i = start; i < end; i++) {
      const location = locations[i];
      assert(location !== undefined);
      meta.sizeBytes += location.frameBytes - FRAME_HEADER_BYTES;
      if (location.maxTimestampMs > meta.maxTimestampMs) meta.maxTimestampMs = location.maxTimestampMs;
    }
    const value = encodeRun(locations, start, end, meta.sizeBytes, meta.maxTimestampMs);
    ops.push({ type: 'put', key: offsetKey(streamId, first.baseOffset), value });
    if (meta.maxTimestampMs > maxTimestampMsBefore) {
      ops.push({ type: 'put', key: timeKey(streamId, meta.maxTimestampMs), value: u64Value(first.baseOffset) });
    }
  }
}
