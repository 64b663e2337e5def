/**
 * The sequencer's retransmit ring: the last frames sent on the river, kept as the exact datagram
 * bytes (fragments with headers), so a NAK is answered by resending them. It sits after the frame
 * encoder and before the drivers: the sequencer encodes each frame straight into the ring and the
 * drivers send views of it.
 *
 * Bounds: `ringBytes` of frame bytes and `framesMax` frames, both fixed at start. Invariant: a
 * frame is evicted only when its last seq is <= the evictable seq (the committed seq), so every
 * entry not yet durable on a write quorum can be resent; when the ring is full of such frames,
 * `reserve` refuses and the sequencer stops taking appends (flow control by ring size).
 */
import { assert } from '../base/assert.ts';

export class RetransmitRing {
  readonly ringBytes: number;
  readonly framesMax: number;
  readonly #arena: Buffer;
  readonly #firstSeq: Float64Array;
  readonly #entryCount: Uint32Array;
  readonly #position: Uint32Array;
  readonly #bytes: Uint32Array;
  #tail = 0; // index of the oldest frame
  #size = 0;
  #writePosition = 0;
  #pendingPosition = -1;
  #pendingBytes = 0;

  constructor(ringBytes: number, framesMax: number) {
    assert(ringBytes >= 64 * 1024 && ringBytes < 2 ** 32, 'ring bytes out of range');
    assert(framesMax >= 16, 'ring frames out of range');
    this.ringBytes = ringBytes;
    this.framesMax = framesMax;
    this.#arena = Buffer.allocUnsafe(ringBytes);
    this.#firstSeq = new Float64Array(framesMax);
    this.#entryCount = new Uint32Array(framesMax);
    this.#position = new Uint32Array(framesMax);
    this.#bytes = new Uint32Array(framesMax);
  }

  get size(): number { return this.#size; }

  /** Lowest seq still held, or 0 when empty. */
  get firstSeq(): number {
    return this.#size === 0 ? 0 : this.#firstSeq[this.#tail]!;
  }

  /**
   * Space for one frame of `bytes`, evicting old frames whose last seq <= evictableSeq. Returns
   * the arena and the position to write at, or null when that would evict a needed frame.
   */
  reserve(bytes: number, evictableSeq: number): { arena: Buffer; position: number } | null {
    assert(bytes > 0 && bytes <= this.ringBytes / 4, 'frame too large for the ring');
    assert(this.#pendingPosition < 0, 'reserve twice without commit');
    let position = this.#writePosition;
    const wraps = position + bytes > this.ringBytes;
    const previousEnd = position;
    if (wraps) position = 0;
    while (this.#size > 0) {
      const oldest = this.#tail;
      const oldestPosition = this.#position[oldest]!;
      const oldestEnd = oldestPosition + this.#bytes[oldest]!;
      const stale = wraps && oldestPosition >= previousEnd;
      const overlaps = oldestPosition < position + bytes && position < oldestEnd;
      if (!stale && !overlaps && this.#size < this.framesMax) break;
      const lastSeq = this.#firstSeq[oldest]! + this.#entryCount[oldest]! - 1;
      if (lastSeq > evictableSeq) return null;
      this.#tail = (this.#tail + 1) % this.framesMax;
      this.#size -= 1;
    }
    this.#pendingPosition = position;
    this.#pendingBytes = bytes;
    return { arena: this.#arena, position };
  }

  /** Records the frame written at the reserved position (bytes may be less than reserved). */
  commit(firstSeq: number, entryCount: number, bytes: number): void {
    assert(this.#pendingPosition >= 0, 'commit without reserve');
    assert(bytes <= this.#pendingBytes, 'frame larger than reserved');
    if (this.#size > 0) {
      const newest = (this.#tail + this.#size - 1) % this.framesMax;
      assert(this.#firstSeq[newest]! + this.#entryCount[newest]! === firstSeq, 'ring frames must be contiguous');
    }
    const index = (this.#tail + this.#size) % this.framesMax;
    this.#firstSeq[index] = firstSeq;
    this.#entryCount[index] = entryCount;
    this.#position[index] = this.#pendingPosition;
    this.#bytes[index] = bytes;
    this.#size += 1;
    this.#writePosition = this.#pendingPosition + bytes;
    this.#pendingPosition = -1;
  }

  /** Drops everything (a new epoch starts with an empty ring). */
  clear(): void {
    this.#size = 0;
    this.#tail = 0;
    this.#writePosition = 0;
    this.#pendingPosition = -1;
  }

  /**
   * Calls `visit` with the datagram bytes of every held frame that overlaps [fromSeq, toSeq),
   * in seq order, up to `bytesMax` (at least one frame). Returns the seq after the last visited
   * frame, or -1 when fromSeq is below the ring (the member must repair from a commit).
   */
  visit(fromSeq: number, toSeq: number, bytesMax: number, visit: (frame: Buffer, firstSeq: number,
    entryCount: number) => void): number {
    if (this.#size === 0 || fromSeq < this.firstSeq) return -1;
    let low = 0;
    let high = this.#size - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.#firstSeq[(this.#tail + middle) % this.framesMax]! <= fromSeq) low = middle; else high = middle - 1;
    }
    let sentBytes = 0;
    let nextSeq = fromSeq;
    for (let i = low; i < this.#size; i++) {
      const index = (this.#tail + i) % this.framesMax;
      const firstSeq = this.#firstSeq[index]!;
      if (firstSeq >= toSeq) break;
      const bytes = this.#bytes[index]!;
      if (sentBytes > 0 && sentBytes + bytes > bytesMax) break;
      const position = this.#position[index]!;
      visit(this.#arena.subarray(position, position + bytes), firstSeq, this.#entryCount[index]!);
      sentBytes += bytes;
      nextSeq = firstSeq + this.#entryCount[index]!;
    }
    return nextSeq;
  }
}
