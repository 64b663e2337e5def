/**
 * How the gateway keeps the batches it receives from the river. A delivered batch is a view of a
 * buffer that nothing reuses (a reassembled frame, a received datagram batch, a link read). A
 * batch that fills at least half of that buffer is kept as it is: the big batches that carry most
 * bytes are never copied. A smaller one is copied out, so a few bytes kept long never pin a buffer
 * of megabytes.
 *
 * Small batches that the tail cache will keep are copied into slabs: shared buffers of `slabBytes`
 * filled in delivery order. A Buffer each (a slice of Node's shared pool) cost a fresh pool every
 * hundred batches, and let one cached batch pin a pool of other, long-gone bytes; at 10,000
 * partitions (a few records per batch) that allocation was a fifth of the gateway's JS time.
 *
 * Reuse: with a FrameRefs, every batch copied into a slab is a held view of it (the caller
 * releases it as it does a frame's), and the slab being filled holds one more view of its own
 * until the next slab starts. At its last release a slab goes back to a short list of spares and
 * is filled again. Left to the garbage collector, slabs were fresh ArrayBuffers at the produce
 * rate, and V8 ran a full mark-compact for every 64 MB of them.
 *
 * Bound: batches arrive in seq order and the tail cache evicts in seq order, so a slab is freed
 * once the last of its batches has left the cache. Only batches the cache will hold may go into a
 * slab, so slabs hold at most the cache's bytes, the entries waiting for their commit, and one
 * slab; at most SPARE_SLABS_MAX wait as spares. Batches the cache will not hold (internal
 * streams, header-only replays) get their own copy.
 */
import { assert } from '../../base/assert.ts';
import type { FrameRefs } from './frame-refs.ts';

export const SLAB_BYTES_DEFAULT = 1024 * 1024;
/** Slabs given back and kept for reuse (the tail cache frees them in bursts when it evicts). */
export const SPARE_SLABS_MAX = 8;

/**
 * `batch` itself when it fills at least half of its buffer; otherwise a copy (for batches kept
 * briefly: a small one is a slice of Node's shared pool).
 */
export function ownBatch(batch: Uint8Array): Uint8Array {
  if (batch.length * 2 >= batch.buffer.byteLength) return batch;
  const copy = Buffer.allocUnsafe(batch.length);
  copy.set(batch);
  return copy;
}

export class BatchSlabs {
  readonly slabBytes: number;
  readonly #frames: FrameRefs | null;
  readonly #spares: Buffer[] = [];
  readonly #giveBack = (own: Buffer): void => {
    if (own.length === this.slabBytes && this.#spares.length < SPARE_SLABS_MAX) this.#spares.push(own);
  };
  #slab: Buffer | null = null;
  #position = 0;
  /** Slabs allocated so far (a counter for tests and metrics). */
  slabsAllocated = 0;
  /** Slabs started again from the spares. */
  slabsReused = 0;

  /** `frames`: where slab views are counted, so slabs come back for reuse; without it they are left to the GC. */
  constructor(slabBytes = SLAB_BYTES_DEFAULT, frames: FrameRefs | null = null) {
    assert(Number.isSafeInteger(slabBytes) && slabBytes >= 4096, 'a slab must be at least 4 KiB');
    this.slabBytes = slabBytes;
    this.#frames = frames;
  }

  /** Whether `batch` (just returned by `own`) was copied into a slab: the caller holds it in the FrameRefs. */
  inSlab(batch: Uint8Array): boolean {
    return this.#slab !== null && batch.buffer === this.#slab.buffer;
  }

  /**
   * A batch the tail cache will hold, and may keep until it is evicted: `batch` itself when it
   * fills at least half of its buffer, a copy in the current slab when it is small, a copy of its
   * own when it is bigger than a quarter slab (so slabs stay densely filled).
   */
  own(batch: Uint8Array): Uint8Array {
    if (batch.length * 2 >= batch.buffer.byteLength) return batch;
    if (batch.length * 4 > this.slabBytes) {
      const copy = Buffer.allocUnsafeSlow(batch.length);
      copy.set(batch);
      return copy;
    }
    let slab = this.#slab;
    if (slab === null || this.#position + batch.length > slab.length) slab = this.#nextSlab();
    const copy = slab.subarray(this.#position, this.#position + batch.length);
    copy.set(batch);
    this.#position += batch.length;
    return copy;
  }

  #nextSlab(): Buffer {
    if (this.#slab !== null) this.#frames?.release(this.#slab.buffer); // the filling slab's own view
    let slab = this.#spares.pop();
    if (slab === undefined) {
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
      slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.slabsAllocated += 1;
    } else {
      this.slabsReused += 1;
    }
    this.#slab = slab;
    this.#position = 0;
    if (this.#frames !== null) {
      this.#frames.hold(slab.buffer);
      this.#frames.claimFor(slab, this.#giveBack);
    }
    return slab;
  }
}
