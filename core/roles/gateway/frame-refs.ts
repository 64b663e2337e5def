/**
 * Which river frame buffers the gateway still refers to, so that the RiverMember can reuse each
 * one for a later frame once nothing does.
 *
 * Why: the tail cache keeps big batches as views of the frame buffers they arrived in (no copy).
 * Left to the garbage collector, every frame was a fresh 1 MB ArrayBuffer: at 365 MB/s of produce,
 * V8 ran a full mark-compact every 64 MB of external memory, ~5.5 per second, a third of the
 * gateway's CPU (BENCHMARKS.md, "Kafka gateway", session 6).
 *
 * Method: a count of held views per buffer (by its ArrayBuffer). A view is held from delivery
 * until it is applied and not cached, leaves the tail cache, or is dropped with the pending
 * entries on a new welcome; each held view is released exactly once, at one of those places. The
 * member asks `claim(own)` after delivering a frame: held views mean the gateway gives `own`
 * back later, at its last release.
 *
 * Safety: a buffer is reused only if no view of it can be read any more. Code that keeps cached
 * views across an await (Fetch gathering batches, then reading history from a commit) pins:
 * while any pin is held, a buffer whose last view goes is left to the garbage collector, never
 * reused. A missed release only costs a reuse (the collector frees the buffer); nothing here
 * can make a buffer reused early except a release of a view that was not held.
 */
import { assert } from '../../base/assert.ts';

type Held = { views: number; own: Buffer | null };

export class FrameRefs {
  readonly #held = new Map<ArrayBufferLike, Held>();
  #pins = 0;
  #recycle: ((own: Buffer) => void) | null = null;
  /** Frame buffers given back for reuse. */
  recycled = 0;
  /** Frame buffers left to the garbage collector because a pin was held at their last release. */
  leftPinned = 0;

  /** Where buffers go back (the RiverMember's recycleFrame). */
  bindRecycle(recycle: (own: Buffer) => void): void {
    this.#recycle = recycle;
  }

  /** Buffers with held views (for tests and bounds: at most the cache's and the pending entries'). */
  get size(): number { return this.#held.size; }

  /** One more view kept into `memory` (a delivered batch that was not copied). */
  hold(memory: ArrayBufferLike): void {
    const held = this.#held.get(memory);
    if (held) held.views += 1;
    else this.#held.set(memory, { views: 1, own: null });
  }

  /** The member's holdsFrame hook: true when views of `own` are held, which then comes back later. */
  claim(own: Buffer): boolean {
    const held = this.#held.get(own.buffer);
    if (held === undefined) return false;
    held.own = own;
    return true;
  }

  /** One held view of `memory` is gone; at the last one, the buffer goes back (unless pinned). */
  release(memory: ArrayBufferLike): void {
    const held = this.#held.get(memory);
    assert(held !== undefined && held.views > 0, 'release of a frame view that was not held');
    held.views -= 1;
    if (held.views > 0) return;
    this.#held.delete(memory);
    if (held.own === null) return;
    if (this.#pins > 0 || this.#recycle === null) {
      this.leftPinned += 1;
      return;
    }
    this.recycled += 1;
    this.#recycle(held.own);
  }

  /** While pinned, no buffer is reused: for readers that keep views of cached batches across an await. */
  pin(): void {
    this.#pins += 1;
  }

  unpin(): void {
    assert(this.#pins > 0, 'unpin without pin');
    this.#pins -= 1;
  }
}
