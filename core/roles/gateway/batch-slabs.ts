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
 * Bound: batches arrive in seq order and the tail cache evicts in seq order, so a slab is freed
 * once the last of its batches has left the cache. Only batches the cache will hold may go into a
 * slab, so slabs hold at most the cache's bytes, the entries waiting for their commit, and one
 * slab. Batches the cache will not hold (internal streams, header-only replays) get their own copy.
 */
import { assert } from '../../base/assert.ts';

export const SLAB_BYTES_DEFAULT = 1024 * 1024;

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
  #slab: Buffer | null = null;
  #position = 0;
  /** Slabs started so far (a counter for tests and metrics). */
  slabsAllocated = 0;

  constructor(slabBytes = SLAB_BYTES_DEFAULT) {
    assert(Number.isSafeInteger(slabBytes) && slabBytes >= 4096, 'a slab must be at least 4 KiB');
    this.slabBytes = slabBytes;
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
    if (this.#slab === null || this.#position + batch.length > this.#slab.length) {
      // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool.
      this.#slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.#position = 0;
      this.slabsAllocated += 1;
    }
    const copy = this.#slab.subarray(this.#position, this.#position + batch.length);
    copy.set(batch);
    this.#position += batch.length;
    return copy;
  }
}
