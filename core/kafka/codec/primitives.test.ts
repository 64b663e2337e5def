/**
 * Property tests of the codec primitives: unsigned varints, zig-zag varints and varlongs,
 * int64 as safe numbers, classic and compact strings and bytes. Method: fast-check draws
 * values (seeded, seed printed), KafkaWriter writes them after sizing with varint.ts, and
 * KafkaReader must read back the same values and consume exactly the written bytes. Truncated
 * and malformed inputs must fail with KafkaDecodeError only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../../test/harness/seed.ts';
import { KafkaDecodeError } from './decode-error.ts';
import { KafkaReader } from './reader.ts';
import { uvarintBytes, varlongBytes, zigzagDecode, zigzagEncode } from './varint.ts';
import { KafkaWriter } from './writer.ts';

const seed = testSeed('kafka codec primitives');
const writer = new KafkaWriter(1 << 20);

function written(bytes: number, write: (w: KafkaWriter) => void): Buffer {
  writer.begin(bytes);
  write(writer);
  return Buffer.from(writer.finish());
}

function expectOnlyDecodeError(read: () => unknown): void {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaDecodeError);
  }
}

describe('varints', () => {
  it('unsigned varints round-trip with the size uvarintBytes predicts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (value) => {
        const bytes = written(uvarintBytes(value), (w) => w.writeUVarint(value));
        const reader = new KafkaReader(bytes);
        expect(reader.readUVarint()).toBe(value);
        expect(reader.remainingBytes).toBe(0);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('known encodings: 0, 127, 128, 300 and the 5-byte maximum', () => {
    expect([...written(1, (w) => w.writeUVarint(0))]).toEqual([0]);
    expect([...written(1, (w) => w.writeUVarint(127))]).toEqual([0x7f]);
    expect([...written(2, (w) => w.writeUVarint(128))]).toEqual([0x80, 0x01]);
    expect([...written(2, (w) => w.writeUVarint(300))]).toEqual([0xac, 0x02]);
    expect([...written(5, (w) => w.writeUVarint(2 ** 32 - 1))]).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('zig-zag maps small magnitudes to small numbers, as Kafka records do', () => {
    expect([0, -1, 1, -2, 2].map(zigzagEncode)).toEqual([0, 1, 2, 3, 4]);
    expect([...written(1, (w) => w.writeVarlong(-1))]).toEqual([0x01]);
    fc.assert(
      fc.property(
        fc.maxSafeInteger().filter((n) => Math.abs(n) < 2 ** 52),
        (value) => {
          expect(zigzagDecode(zigzagEncode(value))).toBe(value);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it('zig-zag varints (int32) and varlongs (safe integers) round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
        (int32, long) => {
          const bytes = written(varlongBytes(int32) + varlongBytes(long), (w) => {
            w.writeVarlong(int32);
            w.writeVarlong(long);
          });
          const reader = new KafkaReader(bytes);
          expect(reader.readVarint()).toBe(int32);
          expect(reader.readVarlong()).toBe(long);
          expect(reader.remainingBytes).toBe(0);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it('rejects over-long and truncated varints with KafkaDecodeError', () => {
    expect(() => new KafkaReader(Buffer.from([0x80, 0x80])).readUVarint()).toThrow(KafkaDecodeError);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).readUVarint()).toThrow(
      /longer than 5 bytes/,
    );
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f])).readUVarint()).toThrow(
      /32 bits/,
    );
    expect(() => new KafkaReader(Buffer.alloc(11, 0xff)).readVarlong()).toThrow(KafkaDecodeError);
  });
});

describe('fixed-width integers', () => {
  it('int64 round-trips every safe integer and rejects the rest', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        const bytes = written(8, (w) => w.writeInt64(value));
        expect(bytes.readBigInt64BE(0)).toBe(BigInt(value));
        expect(new KafkaReader(bytes).readInt64()).toBe(value);
      }),
      { seed, numRuns: 2000 },
    );
    const unsafe = Buffer.alloc(8);
    unsafe.writeBigInt64BE(2n ** 62n);
    expect(() => new KafkaReader(unsafe).readInt64()).toThrow(/safe integer/);
  });

  it('short input fails with a KafkaDecodeError that names the type and position', () => {
    const reader = new KafkaReader(Buffer.from([1, 2, 3]));
    reader.readInt8();
    expect(() => reader.readInt32()).toThrow(new KafkaDecodeError('int32', 1, 'needs 4 bytes, only 2 left'));
  });
});

describe('strings and bytes', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 });

  it('classic and compact (nullable) strings round-trip', () => {
    fc.assert(
      fc.property(text, fc.option(text, { nil: null }), (value, nullable) => {
        const length = Buffer.byteLength(value);
        const nullableLength = nullable === null ? 0 : Buffer.byteLength(nullable);
        const bytes = written(
          2 +
            length +
            uvarintBytes(length + 1) +
            length +
            2 +
            nullableLength +
            uvarintBytes(nullable === null ? 0 : nullableLength + 1) +
            nullableLength,
          (w) => {
            w.writeInt16(length);
            w.writeUtf8(value, length);
            w.writeUVarint(length + 1);
            w.writeUtf8(value, length);
            w.writeInt16(nullable === null ? -1 : nullableLength);
            if (nullable !== null) w.writeUtf8(nullable, nullableLength);
            w.writeUVarint(nullable === null ? 0 : nullableLength + 1);
            if (nullable !== null) w.writeUtf8(nullable, nullableLength);
          },
        );
        const reader = new KafkaReader(bytes);
        expect(reader.readString()).toBe(value);
        expect(reader.readCompactString()).toBe(value);
        expect(reader.readNullableString()).toBe(nullable);
        expect(reader.readCompactNullableString()).toBe(nullable);
        expect(reader.remainingBytes).toBe(0);
      }),
      { seed, numRuns: 1000 },
    );
  });

  it('bytes come back as views of the input, not copies', () => {
    const input = Buffer.from([0, 0, 0, 2, 7, 8, 3, 9, 9]);
    const reader = new KafkaReader(input);
    const bytes = reader.readBytes();
    expect([...bytes]).toEqual([7, 8]);
    expect(bytes.buffer).toBe(input.buffer);
    expect([...reader.readCompactBytes()]).toEqual([9, 9]);
  });

  it('null where not allowed, negative lengths and lengths past the end fail clearly', () => {
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff])).readString()).toThrow(/non-nullable/);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xfe])).readNullableString()).toThrow(/negative/);
    expect(() => new KafkaReader(Buffer.from([0, 5, 65])).readString()).toThrow(/needs 5 bytes/);
    expect(() => new KafkaReader(Buffer.from([0])).readCompactString()).toThrow(/null is not allowed/);
    expect(() => new KafkaReader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).readArrayLength(4)).toThrow(
      /cannot fit/,
    );
  });

  it('any byte string read as any primitive fails only with KafkaDecodeError', () => {
    const reads: ((r: KafkaReader) => unknown)[] = [
      (r) => r.readString(),
      (r) => r.readNullableString(),
      (r) => r.readCompactString(),
      (r) => r.readCompactNullableBytes(),
      (r) => r.readBytes(),
      (r) => r.readInt64(),
      (r) => r.readVarlong(),
      (r) => r.readArrayLength(1),
      (r) => r.readCompactArrayLength(0),
      (r) => r.skipTaggedFields(),
    ];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 12 }),
        fc.integer({ min: 0, max: reads.length - 1 }),
        (bytes, which) => {
          expectOnlyDecodeError(() =>
            (reads[which] as (r: KafkaReader) => unknown)(new KafkaReader(Buffer.from(bytes))),
          );
        },
      ),
      { seed, numRuns: 5000 },
    );
  });
});
