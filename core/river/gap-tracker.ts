/**
 * Gap detection and in-order delivery for a river member. Complete frames arrive from the
 * reassembler in any order (loss, reordering, retransmits, duplicates); the tracker delivers each
 * seq exactly once, in seq order, and says which range to NAK when a gap shows up. It sits between
 * the reassembler and the member's consumer (a commit's store, a subscriber).
 *
 * Bounds: at most `pendingFramesMax` out-of-order frames and `pendingBytesMax` bytes are held;
 * beyond that a frame is dropped and NAKed again later. Invariant: `nextSeq` only grows, and every
 * delivered seq is exactly the previous one plus one.
 */
import type { CompleteFrame } from './reassembler.ts';

export type Deliver = (frame: CompleteFrame, skipEntries: number) => void;

export class GapTracker {
  readonly pendingFramesMax: number;
  readonly pendingBytesMax: number;
  #nextSeq: number;
  readonly #pending = new Map<number, CompleteFrame>();
  #pendingBytes = 0;
  #version = 0;
  duplicates = 0;
  overflowDropped = 0;

  constructor(nextSeq: number, limits: { pendingFramesMax?: number; pendingBytesMax?: number } = {}) {
    this.#nextSeq = nextSeq;
    this.pendingFramesMax = limits.pendingFramesMax ?? 8192;
    this.pendingBytesMax = limits.pendingBytesMax ?? 64 * 1024 * 1024;
  }

  /** The next seq to deliver. */
  get nextSeq(): number { return this.#nextSeq; }
  get pendingFrames(): number { return this.#pending.size; }

  /** Moves the start (after a repair delivered entries by another path, or a reset). */
  reset(nextSeq: number): void {
    this.#nextSeq = nextSeq;
    this.#version += 1;
    for (const [seq, frame] of this.#pending) {
      if (seq + frame.entryCount <= nextSeq) {
        this.#pending.delete(seq);
        this.#pendingBytes -= frame.body.length;
      }
    }
  }

  /** Offers one complete frame; delivers what became contiguous. Returns true when it holds the frame. */
  offer(frame: CompleteFrame, deliver: Deliver): boolean {
    const endSeq = frame.seq + frame.entryCount;
    if (endSeq <= this.#nextSeq) {
      this.duplicates += 1;
      return false;
    }
    if (frame.seq > this.#nextSeq) {
      if (this.#pending.has(frame.seq)) {
        this.duplicates += 1;
        return false;
      }
      if (this.#pending.size >= this.pendingFramesMax
        || this.#pendingBytes + frame.body.length > this.pendingBytesMax) {
        this.overflowDropped += 1;
        return false;
      }
      this.#pending.set(frame.seq, frame);
      this.#pendingBytes += frame.body.length;
      this.#version += 1;
      return true;
    }
    deliver(frame, this.#nextSeq - frame.seq);
    this.#nextSeq = endSeq;
    this.#version += 1;
    this.drain(deliver);
    return false;
  }

  /**
   * The first missing range [fromSeq, toSeq) given the highest seq known to exist (from a
   * heartbeat or a later frame), or null when nothing is missing.
   */
  gap(lastKnownSeq: number): { fromSeq: number; toSeq: number } | null {
    let lowestPending = Infinity;
    for (const seq of this.#pending.keys()) if (seq < lowestPending) lowestPending = seq;
    const toSeq = Math.min(lowestPending, lastKnownSeq + 1);
    return toSeq > this.#nextSeq ? { fromSeq: this.#nextSeq, toSeq } : null;
  }

  /**
   * Every missing range up to `lastKnownSeq`, in seq order, at most `rangesMax` of them: with
   * several losses in flight all are NAKed at once instead of one round trip each.
   */
  gaps(lastKnownSeq: number, rangesMax: number): Array<{ fromSeq: number; toSeq: number }> {
    const ranges: Array<{ fromSeq: number; toSeq: number }> = [];
    let cursor = this.#nextSeq;
    const held = [...this.#pending.values()].sort((a, b) => a.seq - b.seq);
    for (const frame of held) {
      if (ranges.length >= rangesMax) return ranges;
      if (frame.seq > cursor) ranges.push({ fromSeq: cursor, toSeq: frame.seq });
      cursor = Math.max(cursor, frame.seq + frame.entryCount);
    }
    if (ranges.length < rangesMax && lastKnownSeq + 1 > cursor) {
      ranges.push({ fromSeq: cursor, toSeq: lastKnownSeq + 1 });
    }
    return ranges;
  }

  /** Changes whenever the held frames or the next seq change (callers cache `gaps` by it). */
  get version(): number { return this.#version; }

  /** Delivers held frames that became contiguous (after `reset`). */
  drain(deliver: Deliver): void {
    for (;;) {
      let next = this.#pending.get(this.#nextSeq);
      if (!next) {
        // A held frame may start below nextSeq (a repair delivered part of it): find any overlap.
        for (const [seq, frame] of this.#pending) {
          if (seq + frame.entryCount <= this.#nextSeq) {
            this.#pending.delete(seq);
            this.#pendingBytes -= frame.body.length;
          } else if (seq < this.#nextSeq) next = frame;
        }
        if (!next) return;
      }
      this.#pending.delete(next.seq);
      this.#pendingBytes -= next.body.length;
      deliver(next, this.#nextSeq - next.seq);
      this.#nextSeq = next.seq + next.entryCount;
      this.#version += 1;
    }
  }
}
