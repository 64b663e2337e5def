/**
 * The sequencer's append arena: a FIFO byte ring holding the payloads of queued appends between
 * their arrival and their drain into the retransmit ring. The sequencer's links read into one
 * reused buffer (reused-read-buffer.ts), so an append that waits for the next drain must be
 * copied somewhere; here that costs a memcpy, not a Buffer per append (external memory churn that
 * made V8 scavenge every ~50 ms at 160 MB/s).
 *
 * Appends are queued and drained in order, so space is released in the order it was taken: a
 * region's release moves the tail to its end. Bounds: `capacityBytes`, fixed at start; `take`
 * returns -1 when the bytes do not fit (the caller falls back to a copy of its own and pauses the
 * appenders, which it does anyway when the queue is that full). When nothing is held, the ring
 * starts again at 0, so under a light queue only its first pages are ever touched.
 */
import { assert } from '../../base/assert.ts';

export class AppendArena {
  readonly bytes: Buffer;
  #head = 0; // where the next region starts (unless it wraps)
  #tail = 0; // start of the oldest held region
  #held = 0;
  // Ends of the held regions, oldest first (from #endsHead): a release out of order is a bug that
  // would let new appends overwrite queued ones, so it fails loudly instead.
  #ends: number[] = [];
  #endsHead = 0;

  constructor(capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes > 0, 'arena capacity must be positive');
    this.bytes = Buffer.allocUnsafe(capacityBytes);
  }

  /** Regions held (taken and not yet released). */
  get held(): number { return this.#held; }

  /** Start of a region of `length` bytes (> 0), or -1 when it does not fit now. */
  take(length: number): number {
    assert(length > 0, 'an arena region holds at least one byte');
    const capacity = this.bytes.length;
    let start: number;
    if (this.#head >= this.#tail) {
      // Held: [tail, head). Free: [head, capacity) and [0, tail).
      if (this.#head + length <= capacity) start = this.#head;
      else if (length < this.#tail) start = 0; // wraps; [head, capacity) stays unused this lap
      else return -1;
    } else {
      // Wrapped. Held: [tail, capacity) up to the lap's end and [0, head). Free: [head, tail).
      if (this.#head + length < this.#tail) start = this.#head;
      else return -1;
    }
    this.#head = start + length;
    this.#held += 1;
    this.#ends.push(this.#head);
    return start;
  }

  /** Releases the oldest held region, which ends at `end`. */
  release(end: number): void {
    assert(this.#held > 0, 'release without a held region');
    assert(this.#ends[this.#endsHead] === end, 'append arena regions must be released in the order taken');
    this.#endsHead += 1;
    if (this.#endsHead > 1024 && this.#endsHead * 2 > this.#ends.length) {
      this.#ends.splice(0, this.#endsHead);
      this.#endsHead = 0;
    }
    this.#held -= 1;
    if (this.#held === 0) {
      this.#head = 0;
      this.#tail = 0;
      this.#ends.length = 0;
      this.#endsHead = 0;
    } else {
      this.#tail = end;
    }
  }
}
