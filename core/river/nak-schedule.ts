/**
 * When a river member may NAK a missing range again. The first NAK of a range goes at once; a
 * repeat waits `retryMsMin`, and each further repeat of the same range twice as long, up to
 * `retryMsMax`. Resends come back over the member's TCP link, so they are late, never lost: a
 * range still missing after a repeat means the link is slow to drain (a busy member, or the
 * sequencer deferring NAKs past its backlog bound), and NAKing every 20 ms there only queued
 * the same resends again. Keyed by the range's first seq: progress (a new first seq) starts over.
 *
 * Bounds: at most `rangesMax` ranges are remembered; past that the memory is cleared (the worst
 * case is one early repeat per range).
 */
export class NakSchedule {
  readonly retryMsMin: number;
  readonly retryMsMax: number;
  readonly rangesMax: number;
  /** fromSeq -> when it was last NAKed and how long its next repeat waits. */
  readonly #ranges = new Map<number, { atMs: number; waitMs: number }>();

  constructor(retryMsMin: number, retryMsMax: number, rangesMax: number) {
    this.retryMsMin = retryMsMin;
    this.retryMsMax = Math.max(retryMsMin, retryMsMax);
    this.rangesMax = rangesMax;
  }

  get size(): number { return this.#ranges.size; }

  /** True when the range starting at `fromSeq` may be NAKed now; if so, counts it as NAKed. */
  due(fromSeq: number, nowMs: number): boolean {
    const range = this.#ranges.get(fromSeq);
    if (range !== undefined) {
      if (nowMs - range.atMs < range.waitMs) return false;
      range.atMs = nowMs;
      range.waitMs = Math.min(range.waitMs * 2, this.retryMsMax);
      return true;
    }
    if (this.#ranges.size >= this.rangesMax) this.#ranges.clear();
    this.#ranges.set(fromSeq, { atMs: nowMs, waitMs: this.retryMsMin });
    return true;
  }

  /** Forgets the ranges that start below `nextSeq` (delivered since). */
  forgetBelow(nextSeq: number): void {
    for (const fromSeq of this.#ranges.keys()) if (fromSeq < nextSeq) this.#ranges.delete(fromSeq);
  }

  clear(): void {
    this.#ranges.clear();
  }
}
