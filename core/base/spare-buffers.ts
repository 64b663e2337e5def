/**
 * Buffers a reader lent out (a request or a link message kept where it was read, see
 * `FrameSplitter.adoptFrame`, `LinkReader.adoptAssembly`) and got back, kept for its next
 * buffers up to `bytesMax` in all. A gateway shares one among its connections, so that the spares
 * of many producers stay bounded; too few spares for the requests in flight (4 per connection)
 * made it allocate a buffer per large request: +25 % of its CPU in GC.
 */
export class SpareBuffers {
  readonly bytesMax: number;
  readonly #buffers: Buffer[] = [];
  #bytes = 0;
  /** Buffers allocated because no spare fit, for metrics. */
  allocated = 0;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }

  /** A spare of at least `bytes` (the smallest that fits), or a new buffer of `bytes`. */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#buffers.length; i++) {
      const length = this.#buffers[i]!.length;
      if (length >= bytes && (best < 0 || length < this.#buffers[best]!.length)) best = i;
    }
    if (best < 0) {
      this.allocated += 1;
      return Buffer.allocUnsafe(bytes);
    }
    const [buffer] = this.#buffers.splice(best, 1);
    this.#bytes -= buffer!.length;
    return buffer!;
  }

  give(buffer: Buffer): void {
    if (this.#bytes + buffer.length > this.bytesMax) return; // left to the garbage collector
    this.#buffers.push(buffer);
    this.#bytes += buffer.length;
  }
}
