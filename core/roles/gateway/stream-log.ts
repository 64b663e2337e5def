/**
 * What a gateway knows about each stream, built from committed river entries in seq order:
 * the high watermark (next offset after the last committed batch), an index of every batch
 * (base offset, seq, max timestamp, byte position within the stream) for history reads and
 * ListOffsets by time, and the live-tail cache: the newest batches of all streams, kept in
 * memory so consumers at the head are served without a commit round trip.
 *
 * Bounds: the tail cache holds at most `cacheBytesMax` of batches over all streams, evicting the
 * oldest (lowest seq) first. The index costs INDEX_SLOTS * 8 bytes per batch; it is rebuilt at
 * start by replaying the river. Invariant: everything here is at or below the committed seq.
 */
import { assert } from '../../base/assert.ts';

const INDEX_SLOTS = 4;
/**
 * A stream's cache array drops its evicted head once it is at least this long and half the array:
 * amortized O(1) per eviction, and at most about as many dead slots as live batches. (With a fixed
 * 1024, 10,000 streams of ~50 cached batches each held ~10 million dead slots that every major GC
 * scanned.)
 */
const CACHE_DEAD_SLOTS_MIN = 16;

export type CachedBatch = {
  readonly streamId: number;
  readonly seq: number;
  readonly baseOffset: number;
  /** Offset of the batch's last record. */
  readonly lastOffset: number;
  readonly batch: Buffer;
  /** A view the gateway holds into a river frame buffer (frame-refs.ts): released at eviction. */
  readonly held?: boolean;
};

export class StreamLog {
  readonly streamId: number;
  /** The high watermark: next offset after the last committed batch. */
  nextOffset = 0;
  /** Bytes of every batch ever committed to this stream. */
  totalBytes = 0;
  #index = new Float64Array(INDEX_SLOTS * 16);
  #batchCount = 0;
  /** Cached batches of this stream, in offset order; [cacheHead, length) are live. */
  readonly cache: CachedBatch[] = [];
  cacheHead = 0;

  constructor(streamId: number) {
    this.streamId = streamId;
  }

  get batchCount(): number { return this.#batchCount; }

  /** Records one committed batch. */
  add(baseOffset: number, recordCount: number, seq: number, maxTimestampMs: number, bytes: number): void {
    if (this.#batchCount * INDEX_SLOTS === this.#index.length) {
      const grown = new Float64Array(this.#index.length * 2);
      grown.set(this.#index);
      this.#index = grown;
    }
    const slot = this.#batchCount * INDEX_SLOTS;
    this.#index[slot] = baseOffset;
    this.#index[slot + 1] = seq;
    this.#index[slot + 2] = maxTimestampMs;
    this.#index[slot + 3] = this.totalBytes;
    this.#batchCount += 1;
    this.nextOffset = baseOffset + recordCount;
    this.totalBytes += bytes;
  }

  /** Index of the batch holding `offset` (the last batch with baseOffset <= offset), or -1. */
  batchAt(offset: number): number {
    let low = 0;
    let high = this.#batchCount - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.#index[middle * INDEX_SLOTS]! <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  baseOffsetOf(batchIndex: number): number { return this.#index[batchIndex * INDEX_SLOTS]!; }
  seqOf(batchIndex: number): number { return this.#index[batchIndex * INDEX_SLOTS + 1]!; }

  /** Bytes of one batch (a Fetch skips a history read whose first batch cannot fit its answer). */
  batchBytes(batchIndex: number): number {
    const end = batchIndex + 1 < this.#batchCount ? this.#index[(batchIndex + 1) * INDEX_SLOTS + 3]! : this.totalBytes;
    return end - this.#index[batchIndex * INDEX_SLOTS + 3]!;
  }

  /** Bytes committed from the batch holding `offset` to the head (for Fetch min_bytes). */
  bytesFrom(offset: number): number {
    if (offset >= this.nextOffset) return 0;
    const batchIndex = Math.max(0, this.batchAt(offset));
    return this.totalBytes - this.#index[batchIndex * INDEX_SLOTS + 3]!;
  }

  /**
   * ListOffsets by time: the base offset of the first batch whose max timestamp is >= the
   * timestamp (Kafka's answer at batch granularity), or -1 when none is.
   */
  offsetForTimestamp(timestampMs: number, logStartOffset: number): { offset: number; timestampMs: number } | null {
    const batchIndex = this.batchForTimestamp(timestampMs, logStartOffset);
    if (batchIndex < 0) return null;
    return { offset: Math.max(logStartOffset, this.#index[batchIndex * INDEX_SLOTS]!),
      timestampMs: this.#index[batchIndex * INDEX_SLOTS + 2]! };
  }

  /** The first batch (from the log start) whose max timestamp is >= the timestamp, or -1. */
  batchForTimestamp(timestampMs: number, logStartOffset: number): number {
    for (let batchIndex = Math.max(0, this.batchAt(logStartOffset)); batchIndex < this.#batchCount; batchIndex++) {
      if (this.#index[batchIndex * INDEX_SLOTS + 2]! >= timestampMs) return batchIndex;
    }
    return -1;
  }

  /**
   * Retention by size: the first batch from which the stream's batches to the head take at most
   * `bytesMax` bytes (batchCount when even the newest batch alone is larger).
   */
  firstBatchWithinBytes(bytesMax: number): number {
    let low = 0;
    let high = this.#batchCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.totalBytes - this.#index[middle * INDEX_SLOTS + 3]! <= bytesMax) high = middle; else low = middle + 1;
    }
    return low;
  }

  /** Cached batches from the one holding `offset`, when the cache reaches back that far. */
  cachedFrom(offset: number): { from: number } | null {
    if (this.cacheHead >= this.cache.length) return null;
    if (this.cache[this.cacheHead]!.baseOffset > offset) return null;
    let low = this.cacheHead;
    let high = this.cache.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cache[middle]!.lastOffset >= offset) high = middle; else low = middle + 1;
    }
    return this.cache[low]!.lastOffset >= offset ? { from: low } : null;
  }
}

/** The live-tail cache over all streams, evicting by seq (oldest first). */
export class TailCache {
  readonly cacheBytesMax: number;
  #bytes = 0;
  readonly #order: CachedBatch[] = [];
  #orderHead = 0;

  constructor(cacheBytesMax: number) {
    assert(cacheBytesMax >= 0, 'cache size must be >= 0');
    this.cacheBytesMax = cacheBytesMax;
  }

  get bytes(): number { return this.#bytes; }
  get batchCount(): number { return this.#order.length - this.#orderHead; }

  /** Called once for every batch that leaves the cache (evicted, or dropped and then evicted). */
  onEvicted: ((cached: CachedBatch) => void) | null = null;

  /** Adds a committed batch (the caller hands over `batch`: it is not copied here); false if too big to cache. */
  add(log: StreamLog, cached: CachedBatch): boolean {
    if (cached.batch.length > this.cacheBytesMax) return false;
    log.cache.push(cached);
    this.#order.push(cached);
    this.#bytes += cached.batch.length;
    while (this.#bytes > this.cacheBytesMax) this.#evict(log.streamId === cached.streamId ? log : null);
    return true;
  }

  #streams: ((streamId: number) => StreamLog | undefined) | null = null;

  /** How to find a stream's log when evicting one of its batches. */
  bind(streams: (streamId: number) => StreamLog | undefined): void {
    this.#streams = streams;
  }

  #evict(hint: StreamLog | null): void {
    const oldest = this.#order[this.#orderHead]!;
    this.#order[this.#orderHead] = undefined as unknown as CachedBatch;
    this.#orderHead += 1;
    this.#bytes -= oldest.batch.length;
    const log = hint?.streamId === oldest.streamId ? hint : this.#streams?.(oldest.streamId);
    if (log && log.cacheHead < log.cache.length && log.cache[log.cacheHead] === oldest) {
      log.cache[log.cacheHead] = undefined as unknown as CachedBatch;
      log.cacheHead += 1;
      if (log.cacheHead >= CACHE_DEAD_SLOTS_MIN && log.cacheHead * 2 >= log.cache.length) {
        log.cache.splice(0, log.cacheHead);
        log.cacheHead = 0;
      }
    }
    if (this.#orderHead > 4096 && this.#orderHead * 2 > this.#order.length) {
      this.#order.splice(0, this.#orderHead);
      this.#orderHead = 0;
    }
    this.onEvicted?.(oldest);
  }

  /** Drops a stream's cached batches (topic deleted or log start moved past them). */
  dropStream(log: StreamLog): void {
    // Their slots in the eviction order stay (and count) until evicted, so the bound holds.
    log.cache.length = 0;
    log.cacheHead = 0;
  }
}
