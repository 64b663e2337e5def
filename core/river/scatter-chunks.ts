/**
 * The buffers a multicast receiver scatters datagram bodies into (MulticastReceiver's `scatter`):
 * each chunk is CHUNK_BYTES of slots, one body per slot, filled in arrival order. A frame whose
 * fragments land in consecutive slots is its own body there, so the reassembler hands it on in
 * place instead of copying it (Reassembler.addInPlace).
 *
 * A chunk is reused only when nothing can still read it: the receiver has moved on to another
 * chunk, no partial frame has fragments in it, the role that got frames from it gave it back
 * (recycle, after holdsFrame said it keeps views) and no frame from it went where it cannot be
 * followed (abandon: the gap tracker kept it, to deliver it later).
 * Chunks that are not reused are never referred to from here (a WeakMap finds them), so the
 * collector frees them.
 *
 * Bounds: at most CHUNKS_FREE_MAX free chunks are kept; the others in use are bounded by what
 * holds them (partial frames: the reassembler's bounds; delivered frames: the role's).
 */
import { assert } from '../base/assert.ts';

/** Bytes of one chunk: several large frames, so few of them straddle two chunks (those are copied). */
export const CHUNK_BYTES = 16 * 1024 * 1024;
/** Free chunks kept for reuse at most. */
const CHUNKS_FREE_MAX = 3;

export type Chunk = {
  buffer: Buffer;
  /** Bytes per slot (the datagram size less its header). */
  stride: number;
  slots: number;
  /** Partial frames with fragments in it. */
  partials: number;
  /** The role said it keeps views of it (holdsFrame); it comes back through giveBack. */
  receiverHolds: boolean;
  /** The receiver still reads into it. */
  current: boolean;
  /** A frame in it went where it cannot be followed: never reused. */
  abandoned: boolean;
};

export class ScatterChunks {
  readonly chunkBytes: number;
  readonly #byMemory = new WeakMap<ArrayBufferLike, Chunk>();
  readonly #free: Chunk[] = [];
  /** Chunks allocated so far (tests: reuse shows as few). */
  allocated = 0;

  constructor(chunkBytes = CHUNK_BYTES) {
    this.chunkBytes = chunkBytes;
  }

  /** The receiver's next chunk, `previous` being full; slots of `stride` bytes. */
  next(previous: Buffer | null, stride: number): Buffer {
    assert(stride > 0 && stride <= this.chunkBytes, 'scatter stride out of range');
    if (previous !== null) {
      const chunk = this.#byMemory.get(previous.buffer);
      if (chunk !== undefined) {
        chunk.current = false;
        this.#maybeFree(chunk);
      }
    }
    const index = this.#free.findIndex((chunk) => chunk.stride === stride);
    let chunk: Chunk;
    if (index >= 0) {
      chunk = this.#free.splice(index, 1)[0]!;
    } else {
      const slots = Math.floor(this.chunkBytes / stride);
      chunk = { buffer: Buffer.allocUnsafeSlow(slots * stride), stride, slots, partials: 0, receiverHolds: false,
        current: false, abandoned: false };
      this.#byMemory.set(chunk.buffer.buffer, chunk);
      this.allocated += 1;
    }
    chunk.current = true;
    return chunk.buffer;
  }

  /** The chunk `bytes` lies in, or null (bytes from elsewhere). */
  of(bytes: Uint8Array): Chunk | null {
    return this.#byMemory.get(bytes.buffer) ?? null;
  }

  /** The slot `body` starts at (a body the receiver scattered into `chunk`). */
  slotOf(chunk: Chunk, body: Uint8Array): number {
    return Math.floor((body.byteOffset - chunk.buffer.byteOffset) / chunk.stride);
  }

  holdPartial(chunk: Chunk): void {
    chunk.partials += 1;
  }

  releasePartial(chunk: Chunk): void {
    assert(chunk.partials > 0, 'release of a partial frame that held no chunk');
    chunk.partials -= 1;
    this.#maybeFree(chunk);
  }

  /** The role keeps views of frames in `own`'s chunk (holdsFrame said true); other buffers are not ours. */
  claimed(own: Buffer): void {
    const chunk = this.#byMemory.get(own.buffer);
    if (chunk !== undefined) chunk.receiverHolds = true;
  }

  /** The role holds no view of `own`'s chunk any more; false for other buffers. */
  giveBack(own: Buffer): boolean {
    const chunk = this.#byMemory.get(own.buffer);
    if (chunk === undefined) return false;
    chunk.receiverHolds = false;
    this.#maybeFree(chunk);
    return true;
  }

  /** A frame in `own`'s chunk may be read at any later time: the chunk is never reused. */
  abandon(own: Buffer): void {
    const chunk = this.#byMemory.get(own.buffer);
    if (chunk !== undefined) chunk.abandoned = true;
  }

  #maybeFree(chunk: Chunk): void {
    if (chunk.current || chunk.partials > 0 || chunk.receiverHolds || chunk.abandoned) return;
    if (this.#free.includes(chunk) || this.#free.length >= CHUNKS_FREE_MAX) return;
    this.#free.push(chunk);
  }
}
