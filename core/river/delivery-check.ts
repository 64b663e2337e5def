/**
 * Delivery verification for benchmarks and tests: appenders tag every batch with (appender index,
 * counter) on streams from BENCH_STREAM_BASE; a receiver feeds what it delivered, in delivery order,
 * and the check counts missing,
 * duplicated and out-of-order entries per appender, and seq gaps. `benchBatch` builds a minimal
 * valid Kafka RecordBatch v2 (61-byte header, one record count) around the tag.
 *
 * Bounds: one counter and a set of outstanding missing counters per appender (the set holds at
 * most MISSING_TRACKED_MAX; beyond that missing entries are only counted).
 */
export const BENCH_TAG_POSITION = 61;
export const BENCH_BATCH_BYTES_MIN = 61 + 8;
/**
 * Benchmark and test streams start here, far from the internal streams (e.g. the metrics snapshots
 * every node appends), which share the river and are skipped by the check.
 */
export const BENCH_STREAM_BASE = 1 << 20;
const MISSING_TRACKED_MAX = 100_000;

/** A RecordBatch v2-shaped buffer of `bytes` (>= BENCH_BATCH_BYTES_MIN) tagged for `appender`. */
export function benchBatch(bytes: number, appender: number): Buffer {
  const batch = Buffer.alloc(Math.max(bytes, BENCH_BATCH_BYTES_MIN));
  batch.writeInt32BE(batch.length - 12, 8); // batchLength
  batch[16] = 2; // magic
  batch.writeInt32BE(1, 57); // records count
  batch.writeUInt32LE(appender, BENCH_TAG_POSITION);
  return batch;
}

export function setBenchCounter(batch: Buffer, counter: number): void {
  batch.writeUInt32LE(counter, BENCH_TAG_POSITION + 4);
}

export type DeliveryReport = {
  delivered: number; missing: number; duplicated: number; outOfOrder: number; seqGaps: number;
  lastSeq: number };

export class DeliveryCheck {
  readonly #highest = new Map<number, number>();
  readonly #missing = new Map<number, Set<number>>();
  #lastSeq = 0;
  delivered = 0;
  /** Entries of other streams (not checked, only counted for seq continuity). */
  foreign = 0;
  missing = 0;
  duplicated = 0;
  outOfOrder = 0;
  seqGaps = 0;

  add(seq: number, streamId: number, batch: Uint8Array): void {
    if (this.#lastSeq !== 0 && seq !== this.#lastSeq + 1) this.seqGaps += 1;
    this.#lastSeq = seq;
    if (streamId < BENCH_STREAM_BASE || batch.length < BENCH_BATCH_BYTES_MIN) {
      this.foreign += 1;
      return;
    }
    this.delivered += 1;
    const view = Buffer.from(batch.buffer, batch.byteOffset, batch.length);
    const appender = view.readUInt32LE(BENCH_TAG_POSITION);
    const counter = view.readUInt32LE(BENCH_TAG_POSITION + 4);
    const highest = this.#highest.get(appender) ?? -1;
    if (counter === highest + 1) {
      this.#highest.set(appender, counter);
    } else if (counter > highest + 1) {
      let missing = this.#missing.get(appender);
      if (!missing) this.#missing.set(appender, missing = new Set());
      for (let c = highest + 1; c < counter && missing.size < MISSING_TRACKED_MAX; c++) missing.add(c);
      this.missing += counter - highest - 1;
      this.#highest.set(appender, counter);
    } else if (this.#missing.get(appender)?.delete(counter)) {
      this.missing -= 1;
      this.outOfOrder += 1;
    } else {
      this.duplicated += 1;
    }
  }

  /** Adds what never arrived at the end: counters up to `sentCount - 1` per appender. */
  finish(sentCountByAppender: ReadonlyMap<number, number>): DeliveryReport {
    for (const [appender, sent] of sentCountByAppender) {
      const highest = this.#highest.get(appender) ?? -1;
      if (sent - 1 > highest) this.missing += sent - 1 - highest;
    }
    return { delivered: this.delivered, missing: this.missing, duplicated: this.duplicated, outOfOrder: this.outOfOrder,
      seqGaps: this.seqGaps, lastSeq: this.#lastSeq };
  }
}
