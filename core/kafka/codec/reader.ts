/**
 * KafkaReader: a cursor over one received Buffer (a request frame, a record batch). It reads
 * Kafka's primitive types big-endian and advances `position`. It sits at the very start of the
 * gateway's data path: every byte a client sends is read through it.
 *
 * Invariants: reads never go past `end`; every short or malformed input throws a
 * KafkaDecodeError naming the type and the byte position (never a RangeError); bytes and
 * strings of type BYTES/RECORDS come back as views (`subarray`) of the input, never copies, so
 * the input must outlive them. int64 values are numbers and must be safe integers, otherwise
 * they are rejected (Kafka offsets and timestamps fit in 2^53).
 */
import { KafkaDecodeError } from './decode-error.ts';
import { zigzagDecode } from './varint.ts';

const TWO_POW_32 = 0x1_0000_0000;

export class KafkaReader {
  buffer: Buffer;
  position: number;
  end: number;

  constructor(buffer: Buffer, position = 0, end = buffer.length) {
    this.buffer = buffer;
    this.position = position;
    this.end = end;
  }

  /** Points the reader at a new input; lets one reader serve every frame of a connection. */
  reset(buffer: Buffer, position = 0, end = buffer.length): void {
    this.buffer = buffer;
    this.position = position;
    this.end = end;
  }

  get remainingBytes(): number {
    return this.end - this.position;
  }

  fail(what: string, problem: string): never {
    throw new KafkaDecodeError(what, this.position, problem);
  }

  #need(bytes: number, what: string): void {
    if (this.end - this.position < bytes) {
      this.fail(what, `needs ${bytes} bytes, only ${this.end - this.position} left`);
    }
  }

  readInt8(): number {
    this.#need(1, 'int8');
    const value = this.buffer.readInt8(this.position);
    this.position += 1;
    return value;
  }

  readBool(): boolean {
    this.#need(1, 'bool');
    const value = this.buffer[this.position] !== 0;
    this.position += 1;
    return value;
  }

  readInt16(): number {
    this.#need(2, 'int16');
    const value = this.buffer.readInt16BE(this.position);
    this.position += 2;
    return value;
  }

  readInt32(): number {
    this.#need(4, 'int32');
    const value = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return value;
  }

  readUInt32(): number {
    this.#need(4, 'uint32');
    const value = this.buffer.readUInt32BE(this.position);
    this.position += 4;
    return value;
  }

  /** int64 as a number; values outside the safe-integer range are rejected, not rounded. */
  readInt64(): number {
    this.#need(8, 'int64');
    const high = this.buffer.readInt32BE(this.position);
    const low = this.buffer.readUInt32BE(this.position + 4);
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) this.fail('int64', 'value is outside the safe integer range');
    this.position += 8;
    return value;
  }

  /** Unsigned varint (compact lengths, tag numbers): 0..2^32-1, at most 5 bytes. */
  readUVarint(): number {
    let value = 0;
    let multiplier = 1;
    for (let index = 0; index < 5; index++) {
      if (this.position >= this.end) this.fail('unsigned varint', 'input ends inside the varint');
      const byte = this.buffer[this.position] as number;
      this.position += 1;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (value >= TWO_POW_32) this.fail('unsigned varint', 'value exceeds 32 bits');
        return value;
      }
      multiplier *= 128;
    }
    return this.fail('unsigned varint', 'longer than 5 bytes');
  }

  /** Zig-zag signed varint holding an int32 (record fields). */
  readVarint(): number {
    const zigzag = this.readUVarint();
    return zigzagDecode(zigzag);
  }

  /** Zig-zag signed varlong (record timestamp deltas); must decode to a safe integer. */
  readVarlong(): number {
    let value = 0;
    let multiplier = 1;
    for (let index = 0; index < 10; index++) {
      if (this.position >= this.end) this.fail('varlong', 'input ends inside the varlong');
      const byte = this.buffer[this.position] as number;
      this.position += 1;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        // Zig-zag 2^53 still decodes to the safe 2^52; beyond it precision is lost.
        if (value > 2 ** 53) this.fail('varlong', 'value is outside the safe integer range');
        return zigzagDecode(value);
      }
      multiplier *= 128;
      if (multiplier > 2 ** 56) this.fail('varlong', 'value is outside the safe integer range');
    }
    return this.fail('varlong', 'longer than 10 bytes');
  }

  #utf8(length: number, what: string): string {
    this.#need(length, what);
    const value = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return value;
  }

  #view(length: number, what: string): Buffer {
    this.#need(length, what);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  /** STRING: int16 length then UTF-8; a null (-1) is rejected. */
  readString(): string {
    const length = this.readInt16();
    if (length < 0) {
      this.fail('string', `length ${length} is not allowed for a non-nullable string`);
    }
    return this.#utf8(length, 'string');
  }

  /** NULLABLE_STRING: int16 length (-1 = null) then UTF-8. */
  readNullableString(): string | null {
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < 0) this.fail('nullable string', `length ${length} is negative`);
    return this.#utf8(length, 'nullable string');
  }

  /** COMPACT_STRING: unsigned varint length+1 then UTF-8; 0 (null) is rejected. */
  readCompactString(): string {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) this.fail('compact string', 'null is not allowed here');
    return this.#utf8(lengthPlusOne - 1, 'compact string');
  }

  readCompactNullableString(): string | null {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) return null;
    return this.#utf8(lengthPlusOne - 1, 'compact nullable string');
  }

  /** BYTES: int32 length then bytes, as a view of the input. */
  readBytes(): Buffer {
    const length = this.readInt32();
    if (length < 0) this.fail('bytes', `length ${length} is not allowed for non-nullable bytes`);
    return this.#view(length, 'bytes');
  }

  /** NULLABLE_BYTES / RECORDS: int32 length (-1 = null) then bytes, as a view. */
  readNullableBytes(): Buffer | null {
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < 0) this.fail('nullable bytes', `length ${length} is negative`);
    return this.#view(length, 'nullable bytes');
  }

  readCompactBytes(): Buffer {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) this.fail('compact bytes', 'null is not allowed here');
    return this.#view(lengthPlusOne - 1, 'compact bytes');
  }

  readCompactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.readUVarint();
    if (lengthPlusOne === 0) return null;
    return this.#view(lengthPlusOne - 1, 'compact nullable bytes');
  }

  /**
   * ARRAY count: int32 (-1 = null). `elementBytesMin` bounds the count by the bytes left, so a
   * forged count can neither allocate nor loop more than the frame allows.
   */
  readArrayLength(elementBytesMin: number): number {
    const count = this.readInt32();
    if (count < -1) this.fail('array', `count ${count} is negative`);
    this.#checkCount(count, elementBytesMin);
    return count;
  }

  /** COMPACT_ARRAY count: unsigned varint count+1 (0 = null); returns -1 for null. */
  readCompactArrayLength(elementBytesMin: number): number {
    const count = this.readUVarint() - 1;
    this.#checkCount(count, elementBytesMin);
    return count;
  }

  #checkCount(count: number, elementBytesMin: number): void {
    if (count > 0 && count * Math.max(1, elementBytesMin) > this.end - this.position) {
      this.fail('array', `count ${count} cannot fit in the ${this.end - this.position} bytes left`);
    }
  }

  /** Skips a tagged-field section (flexible versions): count, then tag, size, bytes each. */
  skipTaggedFields(): void {
    const count = this.readUVarint();
    if (count > this.end - this.position) this.fail('tagged fields', `count ${count} cannot fit`);
    let previousTag = -1;
    for (let index = 0; index < count; index++) {
      const tag = this.readUVarint();
      if (tag <= previousTag) this.fail('tagged fields', `tag ${tag} is not in ascending order`);
      previousTag = tag;
      const size = this.readUVarint();
      this.#need(size, 'tagged field');
      this.position += size;
    }
  }

  /** A fixed-size raw view (record batch headers, UUIDs). */
  readRaw(length: number, what: string): Buffer {
    return this.#view(length, what);
  }
}
