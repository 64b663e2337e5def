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
 * Safety: a buffer is reused only once no view of it can be read any more. Code that refers to
 * cached batches beyond the cache's hold (a Fetch answer, until its socket has written it) holds
 * views of their buffers itself, taken while the cache still holds them. A missed release only
 * costs a reuse (and keeps the buffer's entry); nothing here can make a buffer reused early except
 * a release of a view that was not held.
 */
import { assert } from '../../base/assert.ts';

type Recycle = (own: Buffer) => void;
/** `recycle`: where `own` goes back; null for the frame recycler bound with bindRecycle. */
type Held = { views: number; own: Buffer | null; recycle: Recycle | null };

export class FrameRefs {
  readonly #held = new Map<ArrayBufferLike, Held>();
  #recycle: Recycle | null = null;
  /** Frame buffers and slabs given back for reuse. */
  recycled = 0;

  /** Where buffers go back (the RiverMember's recycleFrame). */
  bindRecycle(recycle: (own: Buffer) => void): void {
    this.#recycle = recycle;
  }

  /** Buffers with held views (for tests and bounds: at most the cache's and the pending entries'). */
  get size(): number { return this.#held.size; }

  /** One more view kept into `memory` (a delivered batch that was not copied, or a Fetch answer's reference). */
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

  /** One held view of `memory` is gone; at the last one, the buffer goes back for reuse. */
  release(memory: ArrayBufferLike): void {
    const held = this.#held.get(memory);
    assert(held !== undefined && held.views > 0, 'release of a frame view that was not held');
    held.views -= 1;
    if (held.views > 0) return;
    this.#held.delete(memory);
    const recycle = held.recycle ?? this.#recycle;
    if (held.own === null || recycle === null) return;
    this.recycled += 1;
    recycle(held.own);
  }
}
