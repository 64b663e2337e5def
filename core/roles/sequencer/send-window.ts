/**
 * The sequencer's send window: bytes of frames sent but not yet committed, per frame in seq order.
 * The retransmit ring already bounds them (ringBytes), but the ring is sized for repair, far more
 * than a receiver can buffer: with producers answered early (Kafka acks=1 answers at the fastest
 * commit) the sequencer would run up to the whole ring ahead of the slowest commit, overflow its
 * socket receive buffer (a few MiB) and turn the surplus into NAKs and retransmits (measured 4-9x
 * the appended bytes). The window stops sequencing once `bytesMax` are uncommitted, so the river
 * runs at the pace of the commits it waits for.
 *
 * Bounds: `framesMax` frames (past that the window counts as full); one frame is always let in,
 * however large, so a frame bigger than the window still goes out alone.
 */
import { assert } from '../../base/assert.ts';

export class SendWindow {
  readonly bytesMax: number;
  readonly framesMax: number;
  readonly #lastSeq: Float64Array;
  readonly #frameBytes: Float64Array;
  #head = 0;
  #size = 0;
  #bytes = 0;

  constructor(bytesMax: number, framesMax: number) {
    assert(bytesMax > 0 && framesMax > 0, 'send window bounds must be positive');
    this.bytesMax = bytesMax;
    this.framesMax = framesMax;
    this.#lastSeq = new Float64Array(framesMax);
    this.#frameBytes = new Float64Array(framesMax);
  }

  /** Bytes sent and not yet committed. */
  get bytes(): number { return this.#bytes; }

  /** Whether a frame of `frameBytes` may go out now. */
  hasRoom(frameBytes: number): boolean {
    if (this.#size === 0) return true;
    return this.#size < this.framesMax && this.#bytes + frameBytes <= this.bytesMax;
  }

  /** A frame whose last seq is `lastSeq` went out. */
  add(lastSeq: number, frameBytes: number): void {
    assert(this.#size < this.framesMax, 'send window full');
    this.#lastSeq[(this.#head + this.#size) % this.framesMax] = lastSeq;
    this.#frameBytes[(this.#head + this.#size) % this.framesMax] = frameBytes;
    this.#size += 1;
    this.#bytes += frameBytes;
  }

  /** Frames whose last seq is at or below the committed seq leave the window. */
  release(committedSeq: number): void {
    while (this.#size > 0 && this.#lastSeq[this.#head]! <= committedSeq) {
      this.#bytes -= this.#frameBytes[this.#head]!;
      this.#head = (this.#head + 1) % this.framesMax;
      this.#size -= 1;
    }
    if (this.#size === 0) this.#bytes = 0;
  }
}
