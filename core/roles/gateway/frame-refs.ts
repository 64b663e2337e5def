/**
 * Which buffers of the tail cache the gateway still refers to, so that each goes back for reuse
 * once nothing does: the river frame buffers that big batches are kept in (the RiverMember reuses
 * them for later frames), and the slabs that small batches are copied into (batch-slabs.ts).
 *
 * Why: the tail cache keeps big batches as views of the frame buffers they arrived in (no copy).
 * Left to the garbage collector, every frame was a fresh 1 MB ArrayBuffer: at 365 MB/s of produce,
 * V8 ran a full mark-compact every 64 MB of external memory, ~5.5 per second, a third of the
 * gateway's CPU (BENCHMARKS.md, "Kafka gateway", session 6). Slabs did the same with smaller
 * batches: at 64 KiB per batch, concurrent marking took 40 % of the gateway's CPU (session 10).
 *
 * Method: a count of held views per buffer (by its ArrayBuffer). A view is held from delivery
 * until it is applied and not cached, leaves the tail cache, or is dropped with the pending
 * entries on a new welcome; each held view is released exactly once, at one of those places. The
 * member asks `claim(own)` after delivering a frame: held views mean the gateway gives `own`
 * back later, at its last release. A slab is claimed with its own way back (`claimFor`).
 *
 * Safety: a buffer is reused only if no view of it can be read any more. Code that keeps cached
 * views across an await (Fetch gathering batches, then reading history from a commit) pins: a
 * buffer whose last view goes while pins are held waits until every pin taken before that moment
 * is gone (a later pin cannot reach it: its views have left the cache), then goes back. Leaving
 * such buffers to the garbage collector instead cost half of all frame buffers at max rate, with
 * consumers reading history (a pin was held nearly all the time). At most DEFERRED_MAX wait; past
 * that the oldest is left to the collector. A missed release only costs a reuse; nothing here can
 * make a buffer reused early except a release of a view that was not held.
 */
import { assert } from '../../base/assert.ts';

type Recycle = (own: Buffer) => void;
/** `recycle`: where `own` goes back; null for the frame recycler bound with bindRecycle. */
type Held = { views: number; own: Buffer | null; recycle: Recycle | null };
/** A buffer released while pins were held, where it goes back, and the last pin issued then. */
type Deferred = { own: Buffer; recycle: Recycle; lastPin: number };

/** Released buffers that may wait for pins (each about a frame or a slab, up to 1 MiB). */
export const DEFERRED_MAX = 64;

export class FrameRefs {
  readonly #held = new Map<ArrayBufferLike, Held>();
  /** Live pins by number, oldest first (numbers only grow, and a Set keeps insertion order). */
  readonly #pins = new Set<number>();
  #pinsIssued = 0;
  readonly #deferred: Deferred[] = [];
  #deferredHead = 0;
  #recycle: Recycle | null = null;
  /** Frame buffers and slabs given back for reuse. */
  recycled = 0;
  /** Buffers left to the garbage collector: more than DEFERRED_MAX waited for pins. */
  leftPinned = 0;

  /** Where buffers go back (the RiverMember's recycleFrame). */
  bindRecycle(recycle: (own: Buffer) => void): void {
    this.#recycle = recycle;
  }

  /** Buffers with held views (for tests and bounds: at most the cache's and the pending entries'). */
  get size(): number { return this.#held.size; }

  /** Buffers released while pinned, not yet given back. */
  get deferredCount(): number { return this.#deferred.length - this.#deferredHead; }

  /** One more view kept into `memory` (a delivered batch that was not copied). */
  hold(memory: ArrayBufferLike): void {
    const held = this.#held.get(memory);
    if (held) held.views += 1;
    else this.#held.set(memory, { views: 1, own: null, recycle: null });
  }

  /** The member's holdsFrame hook: true when views of `own` are held, which then comes back later. */
  claim(own: Buffer): boolean {
    const held = this.#held.get(own.buffer);
    if (held === undefined) return false;
    held.own = own;
    return true;
  }

  /** `own` (with views held) goes back through `recycle` at its last release instead of the bound recycler. */
  claimFor(own: Buffer, recycle: Recycle): void {
    const held = this.#held.get(own.buffer);
    assert(held !== undefined, 'claimFor of a buffer without held views');
    held.own = own;
    held.recycle = recycle;
  }

  /** One held view of `memory` is gone; at the last one, the buffer goes back (once no earlier pin is held). */
  release(memory: ArrayBufferLike): void {
    const held = this.#held.get(memory);
    assert(held !== undefined && held.views > 0, 'release of a frame view that was not held');
    held.views -= 1;
    if (held.views > 0) return;
    this.#held.delete(memory);
    const recycle = held.recycle ?? this.#recycle;
    if (held.own === null || recycle === null) return;
    if (this.#pins.size === 0) {
      this.recycled += 1;
      recycle(held.own);
      return;
    }
    if (this.deferredCount === DEFERRED_MAX) {
      this.#shiftDeferred(); // the oldest goes to the collector, never back
      this.leftPinned += 1;
    }
    this.#deferred.push({ own: held.own, recycle, lastPin: this.#pinsIssued });
  }

  /**
   * Until unpin(pin), no buffer released meanwhile is reused: for readers that keep views of
   * cached batches across an await.
   */
  pin(): number {
    this.#pinsIssued += 1;
    this.#pins.add(this.#pinsIssued);
    return this.#pinsIssued;
  }

  unpin(pin: number): void {
    assert(this.#pins.delete(pin), 'unpin of a pin not held');
    const oldestPin = this.#pins.size === 0 ? Infinity : this.#pins.values().next().value!;
    while (this.deferredCount > 0 && this.#deferred[this.#deferredHead]!.lastPin < oldestPin) {
      this.recycled += 1;
      const { own, recycle } = this.#shiftDeferred();
      recycle(own);
    }
  }

  /** Slots the waiting queue's array holds (for tests: at most about twice DEFERRED_MAX). */
  get deferredSlots(): number { return this.#deferred.length; }

  /**
   * Takes the oldest waiting buffer off the queue. Its slot is cleared, and the array drops its
   * dead head once that is half of it: with pins held all the time the queue never empties, and
   * dead slots kept the buffers they named.
   */
  #shiftDeferred(): Deferred {
    const deferred = this.#deferred[this.#deferredHead]!;
    this.#deferred[this.#deferredHead] = undefined as unknown as Deferred;
    this.#deferredHead += 1;
    if (this.#deferredHead * 2 >= this.#deferred.length) {
      this.#deferred.splice(0, this.#deferredHead);
      this.#deferredHead = 0;
    }
    return deferred;
  }
}
