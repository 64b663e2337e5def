/**
 * Reassembles fragmented river frames: fragments of one frame share (epoch, seq) and arrive as
 * separate datagrams, possibly out of order or not at all. It sits between frame decoding and the
 * gap tracker. Single-fragment frames pass through without copying.
 *
 * Bounds: at most `framesMax` partial frames; when full, the oldest (lowest seq) is dropped, and
 * the gap tracker NAKs it later. Invariant: a completed body has exactly the fragments' bytes, in
 * fragment order.
 */
import type { FrameHeader } from './frame.ts';

type Partial = {
  epoch: number; entryCount: number; fragmentCount: number; received: number; bytes: number;
  chunks: Array<Buffer | undefined>;
};

export type CompleteFrame = { seq: number; epoch: number; entryCount: number; body: Buffer };

export class Reassembler {
  readonly framesMax: number;
  readonly #partials = new Map<number, Partial>();
  dropped = 0;

  constructor(framesMax = 256) {
    this.framesMax = framesMax;
  }

  /** Feeds one fragment; returns the complete frame when this was its last missing fragment. */
  add(header: FrameHeader, body: Buffer): CompleteFrame | null {
    if (header.fragmentCount === 1) {
      return { seq: header.seq, epoch: header.epoch, entryCount: header.entryCount, body };
    }
    let partial = this.#partials.get(header.seq);
    if (partial && (partial.epoch !== header.epoch || partial.fragmentCount !== header.fragmentCount)) {
      this.#partials.delete(header.seq);
      partial = undefined;
    }
    if (!partial) {
      if (this.#partials.size >= this.framesMax) this.#dropOldest();
      partial = { epoch: header.epoch, entryCount: header.entryCount, fragmentCount: header.fragmentCount,
        received: 0, bytes: 0,
        chunks: new Array<Buffer | undefined>(header.fragmentCount) };
      this.#partials.set(header.seq, partial);
    }
    if (partial.chunks[header.fragmentIndex] !== undefined) return null;
    partial.chunks[header.fragmentIndex] = body;
    partial.received += 1;
    partial.bytes += body.length;
    if (partial.received < partial.fragmentCount) return null;
    this.#partials.delete(header.seq);
    const whole = Buffer.allocUnsafe(partial.bytes);
    let position = 0;
    for (const chunk of partial.chunks) {
      chunk!.copy(whole, position);
      position += chunk!.length;
    }
    return { seq: header.seq, epoch: partial.epoch, entryCount: partial.entryCount, body: whole };
  }

  /**
   * Partial frames with seq in [fromSeq, toSeq), in seq order, with the fragments still missing:
   * a member NAKs just those fragments instead of the whole frame.
   */
  partialsIn(fromSeq: number, toSeq: number): Array<{ seq: number; entryCount: number; missing: number[] }> {
    const found: Array<{ seq: number; entryCount: number; missing: number[] }> = [];
    for (const [seq, partial] of this.#partials) {
      if (seq < fromSeq || seq >= toSeq) continue;
      const missing: number[] = [];
      for (let i = 0; i < partial.fragmentCount; i++) if (partial.chunks[i] === undefined) missing.push(i);
      found.push({ seq, entryCount: partial.entryCount, missing });
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets partial frames below `seq` (already delivered by another path). */
  discardBelow(seq: number): void {
    for (const key of this.#partials.keys()) if (key < seq) this.#partials.delete(key);
  }

  get pending(): number { return this.#partials.size; }

  #dropOldest(): void {
    let oldest = Infinity;
    for (const key of this.#partials.keys()) if (key < oldest) oldest = key;
    this.#partials.delete(oldest);
    this.dropped += 1;
  }
}
