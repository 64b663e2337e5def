/**
 * KafkaWriter: writes one message into one reused buffer. Encoders compute the exact size
 * first (schema `size` closures), call `begin(bytes)` once, then write every field in place;
 * there are no nested encoders and no Buffer.concat. It sits at the end of the gateway's data
 * path (responses) and in tests and tools that build requests.
 *
 * Bounds: the buffer grows in 4 KiB steps and never beyond `bufferBytesMax`; a larger
 * message is refused with a KafkaEncodeError before anything is written. Gather mode
 * (`beginGather`) references large raw runs (Fetch record batches) instead of copying them.
 * Invariant: the view returned by `finish()` is valid until the next `begin()`; callers that
 * keep it longer (queued responses) must copy it or use their own writer.
 */
import { assert } from '../../base/assert.ts';
import { zigzagEncode } from './varint.ts';

const TWO_POW_32 = 0x1_0000_0000;
const GROWTH_STEP_BYTES = 4096;

/** A message that would exceed the writer's limit, or a value that cannot be encoded. */
export class KafkaEncodeError extends Error {
  override name = 'KafkaEncodeError';
}

export class KafkaWriter {
  buffer: Buffer;
  position = 0;
  readonly bufferBytesMax: number;
  #expectedEnd = 0;
  /** Gather mode: raw byte runs of at least #gatherBytesMin are referenced, not copied. */
  #chunks: Buffer[] | null = null;
  #chunkStart = 0;
  #gatheredBytes = 0;
  #gatherBytesMin = 0;

  constructor(bufferBytesMax: number, initialBytes = GROWTH_STEP_BYTES) {
    assert(Number.isSafeInteger(bufferBytesMax) && bufferBytesMax > 0, 'bufferBytesMax > 0');
    this.bufferBytesMax = bufferBytesMax;
    this.buffer = Buffer.alloc(Math.min(initialBytes, bufferBytesMax));
  }

  /** Reserves exactly `bytes` for the next message; grows the buffer if needed. */
  begin(bytes: number): void {
    if (bytes > this.bufferBytesMax) {
      throw new KafkaEncodeError(
        `message of ${bytes} bytes exceeds the writer limit of ${this.bufferBytesMax} bytes`,
      );
    }
    if (bytes > this.buffer.length) {
      const grownBytes = Math.ceil(bytes / GROWTH_STEP_BYTES) * GROWTH_STEP_BYTES;
      this.buffer = Buffer.alloc(Math.min(grownBytes, this.bufferBytesMax));
    }
    this.position = 0;
    this.#expectedEnd = bytes;
    this.#chunks = null;
  }

  /**
   * Like begin, but raw byte runs (record data) of at least `gatherBytesMin` bytes are not
   * copied: `finishGather` returns the message as a list of views (this writer's buffer
   * between them), ready for one gathered socket write. The referenced inputs and this
   * writer's buffer must stay unchanged until that write has completed.
   */
  beginGather(bytes: number, gatherBytesMin: number): void {
    this.begin(bytes);
    this.#chunks = [];
    this.#chunkStart = 0;
    this.#gatheredBytes = 0;
    this.#gatherBytesMin = gatherBytesMin;
  }

  finishGather(): Buffer[] {
    const chunks = this.#chunks;
    assert(chunks !== null, 'finishGather without beginGather');
    assert(
      this.position + this.#gatheredBytes === this.#expectedEnd,
      `encoder wrote ${this.position + this.#gatheredBytes} bytes, sized ${this.#expectedEnd}`,
    );
    if (this.position > this.#chunkStart) {
      chunks.push(this.buffer.subarray(this.#chunkStart, this.position));
    }
    this.#chunks = null;
    return chunks;
  }

  /** Ends the message: checks the size computed up front was exact, returns the view. */
  finish(): Buffer {
    assert(
      this.position === this.#expectedEnd,
      `encoder wrote ${this.position} bytes, sized ${this.#expectedEnd}`,
    );
    return this.buffer.subarray(0, this.position);
  }

  writeInt8(value: number): void {
    this.buffer.writeInt8(value, this.position);
    this.position += 1;
  }

  writeBool(value: boolean): void {
    this.buffer[this.position] = value ? 1 : 0;
    this.position += 1;
  }

  writeInt16(value: number): void {
    this.buffer.writeInt16BE(value, this.position);
    this.position += 2;
  }

  writeInt32(value: number): void {
    this.buffer.writeInt32BE(value, this.position);
    this.position += 4;
  }

  writeUInt32(value: number): void {
    this.buffer.writeUInt32BE(value, this.position);
    this.position += 4;
  }

  /** int64 from a safe integer, as two 32-bit halves (no BigInt on the data path). */
  writeInt64(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new KafkaEncodeError(`int64 value ${value} is not a safe integer`);
    }
    const high = Math.floor(value / TWO_POW_32);
    this.buffer.writeInt32BE(high, this.position);
    this.buffer.writeUInt32BE(value - high * TWO_POW_32, this.position + 4);
    this.position += 8;
  }

  writeUVarint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.position] = (rest & 0x7f) | 0x80;
      this.position += 1;
      rest = Math.floor(rest / 128);
    }
    this.buffer[this.position] = rest;
    this.position += 1;
  }

  /** Zig-zag varint or varlong (records); same bytes for both kinds. */
  writeVarlong(value: number): void {
    this.writeUVarint(zigzagEncode(value));
  }

  /** UTF-8 bytes whose length the caller already computed (and wrote as a prefix). */
  writeUtf8(value: string, byteLength: number): void {
    this.position += this.buffer.write(value, this.position, byteLength, 'utf8');
  }

  writeRaw(bytes: Uint8Array): void {
    this.#writeRaw(bytes, this.#gatherBytesMin);
  }

  /**
   * Like writeRaw, but in gather mode `bytes` is referenced whatever its length: for record runs
   * that are already the caller's own copy (RecordRuns) or views it keeps unchanged until written.
   */
  writeRawReferenced(bytes: Uint8Array): void {
    this.#writeRaw(bytes, 0);
  }

  #writeRaw(bytes: Uint8Array, gatherBytesMin: number): void {
    const chunks = this.#chunks;
    if (chunks !== null && bytes.length >= gatherBytesMin) {
      if (this.position > this.#chunkStart) {
        chunks.push(this.buffer.subarray(this.#chunkStart, this.position));
      }
      const view = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      chunks.push(view);
      this.#chunkStart = this.position;
      this.#gatheredBytes += bytes.length;
      return;
    }
    this.buffer.set(bytes, this.position);
    this.position += bytes.length;
  }
}
