/**
 * FrameSplitter: cuts a TCP byte stream into Kafka frames (int32 big-endian size, then that
 * many bytes). One per connection, fed every chunk the socket delivers; it is the first step
 * of the gateway's request path, before registry.ts reads the header.
 *
 * Method: a chunk that arrives while nothing is pending is read in place (frames are views of
 * the chunk, no copy). Only an incomplete tail is kept: it is copied into the connection's own
 * buffer before `next` says 'more' (the caller's chunk may be overwritten after that), and the
 * next chunk is appended there; there is no Buffer.concat per chunk.
 * Bounds: a declared size above `requestBytesMax` is reported as 'oversize' as soon as the 4 size
 * bytes arrive, before any of it is buffered, so the connection can be closed; the connection
 * buffer never exceeds one maximal frame plus one chunk. A negative size is 'malformed'. Both are
 * final for the connection.
 * Read in place: once the start of a large frame is in the own buffer, `readTarget` offers the
 * rest of its place there, and a socket that reads into it (reused-read-buffer.ts) hands `push` a
 * chunk that is already where it belongs: the kernel's copy is the only one.
 * Invariant for callers: a returned frame is valid until the next `push` (and the gateway's
 * chunks only until its read callback returns); bytes kept longer must be copied out first, or
 * the own buffer holding the frame taken over (`adoptFrame`, given back with `returnBuffer`).
 */
import { assert } from '../base/assert.ts';
import { READ_IN_PLACE_BYTES_MIN } from '../base/reused-read-buffer.ts';
import { SpareBuffers } from '../base/spare-buffers.ts';

export const FRAME_SIZE_BYTES = 4;
export type FrameResult = Buffer | 'more' | 'oversize' | 'malformed';

export class FrameSplitter {
  /** May change between frames: a SASL connection is held to a small limit until it authenticates. */
  requestBytesMax: number;
  /** Declared size of the frame that made the splitter fail, for the log line. */
  failedSizeBytes = 0;
  #failure: 'oversize' | 'malformed' | null = null;
  #own: Buffer;
  #source: Buffer;
  readonly #spares: SpareBuffers;
  #start = 0;
  #end = 0;

  /** `spares`: where adopted buffers go back to (a gateway shares one among its connections). */
  constructor(requestBytesMax: number, initialBytes = 64 * 1024, spares = new SpareBuffers(8 * 1024 * 1024)) {
    this.#spares = spares;
    assert(Number.isSafeInteger(requestBytesMax) && requestBytesMax > 0, 'requestBytesMax > 0');
    this.requestBytesMax = requestBytesMax;
    this.#own = Buffer.allocUnsafe(Math.min(initialBytes, requestBytesMax + FRAME_SIZE_BYTES));
    this.#source = this.#own;
  }

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.#end - this.#start;
  }

  /** Adds one chunk from the socket; call `next()` until it returns 'more' before pushing again. */
  push(chunk: Buffer): void {
    if (this.#failure !== null) return;
    if (this.#source === this.#own && chunk.buffer === this.#own.buffer
      && chunk.byteOffset === this.#own.byteOffset + this.#end && this.#end + chunk.length <= this.#own.length) {
      this.#end += chunk.length; // read in place, into readTarget()
      return;
    }
    const pendingBytes = this.#end - this.#start;
    if (pendingBytes === 0) {
      this.#source = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    assert(!this.#isWholeFramePending(), 'push called before the pending frames were taken');
    const neededBytes = pendingBytes + chunk.length;
    if (neededBytes > this.#own.length) {
      const grown = this.#grown(neededBytes);
      this.#source.copy(grown, 0, this.#start, this.#end);
      this.#own = grown;
    } else if (this.#source !== this.#own || this.#start !== 0) {
      this.#source.copy(this.#own, 0, this.#start, this.#end);
    }
    chunk.copy(this.#own, pendingBytes);
    this.#source = this.#own;
    this.#start = 0;
    this.#end = neededBytes;
  }

  #isWholeFramePending(): boolean {
    const pendingBytes = this.#end - this.#start;
    if (pendingBytes < FRAME_SIZE_BYTES) return false;
    return pendingBytes >= FRAME_SIZE_BYTES + this.#source.readInt32BE(this.#start);
  }

  /**
   * Keeps an incomplete tail in the connection's own buffer, never in the caller's chunk: the
   * gateway reads into one reused buffer (reused-read-buffer.ts), overwritten by the next read.
   */
  #more(): 'more' {
    const pendingBytes = this.#end - this.#start;
    if (pendingBytes > 0 && this.#source !== this.#own) {
      if (pendingBytes > this.#own.length) this.#own = this.#grown(pendingBytes);
      this.#source.copy(this.#own, 0, this.#start, this.#end);
      this.#source = this.#own;
      this.#start = 0;
      this.#end = pendingBytes;
    }
    return 'more';
  }

  /** A new own buffer for `neededBytes`: bounded by one maximal frame plus one chunk. */
  #grown(neededBytes: number): Buffer {
    const doubledBytes = Math.min(this.#own.length * 2, this.requestBytesMax + FRAME_SIZE_BYTES);
    return Buffer.allocUnsafe(Math.max(neededBytes, doubledBytes));
  }

  /**
   * Where the next read may land: the rest of a frame whose start is pending in the own buffer,
   * when at least READ_IN_PLACE_BYTES_MIN of it is missing; otherwise null (read elsewhere, then
   * `push`). The view is valid until the next `push` or `next`.
   */
  readTarget(): Buffer | null {
    if (this.#failure !== null || this.#source !== this.#own) return null;
    const pendingBytes = this.#end - this.#start;
    if (pendingBytes < FRAME_SIZE_BYTES) return null;
    const sizeBytes = this.#own.readInt32BE(this.#start);
    if (sizeBytes < 0 || sizeBytes > this.requestBytesMax) return null;
    const missingBytes = FRAME_SIZE_BYTES + sizeBytes - pendingBytes;
    if (missingBytes < READ_IN_PLACE_BYTES_MIN) return null;
    const frameBytes = FRAME_SIZE_BYTES + sizeBytes;
    if (this.#start + frameBytes > this.#own.length) {
      // Make room for the whole frame from the buffer's start (bounded as push's growth is).
      const target = frameBytes > this.#own.length ? this.#grown(frameBytes) : this.#own;
      this.#own.copy(target, 0, this.#start, this.#end);
      this.#own = target;
      this.#source = target;
      this.#start = 0;
      this.#end = pendingBytes;
    }
    return this.#own.subarray(this.#end, this.#end + missingBytes);
  }

  /**
   * When `frame` (just returned by `next`) lies in the own buffer: hands that buffer to the
   * caller, who may keep the frame past the next `push` and gives the buffer back with
   * `returnBuffer`. The splitter moves what is pending after the frame to a spare (or a new
   * buffer of the same size). Null when the frame is a view of the caller's chunk.
   */
  adoptFrame(frame: Buffer): Buffer | null {
    const own = this.#own;
    if (this.#source !== own || frame.buffer !== own.buffer || frame.byteOffset < own.byteOffset
      || frame.byteOffset + frame.length > own.byteOffset + own.length) return null;
    const next = this.#spares.take(own.length);
    own.copy(next, 0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
    this.#own = next;
    this.#source = next;
    return own;
  }

  /** An adopted buffer nothing refers to any more: kept as a spare (within the pool's bound). */
  returnBuffer(buffer: Buffer): void {
    this.#spares.give(buffer);
  }

  /** The next whole frame (without its size prefix), or why there is none. */
  next(): FrameResult {
    if (this.#failure !== null) return this.#failure;
    const pendingBytes = this.#end - this.#start;
    if (pendingBytes < FRAME_SIZE_BYTES) return this.#more();
    const sizeBytes = this.#source.readInt32BE(this.#start);
    if (sizeBytes < 0 || sizeBytes > this.requestBytesMax) {
      this.failedSizeBytes = sizeBytes;
      this.#failure = sizeBytes < 0 ? 'malformed' : 'oversize';
      this.#start = this.#end;
      return this.#failure;
    }
    if (pendingBytes < FRAME_SIZE_BYTES + sizeBytes) return this.#more();
    const frameStart = this.#start + FRAME_SIZE_BYTES;
    this.#start = frameStart + sizeBytes;
    return this.#source.subarray(frameStart, this.#start);
  }
}
