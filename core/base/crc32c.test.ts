/**
 * CRC-32C: the JS twin against published check values, and the native SSE4.2 path against the
 * JS twin on random inputs (lengths 0..2 KiB, random ranges, chained continuation), so both
 * paths are tested alike. crc32cCopy (copy and CRC in one pass) against a plain copy and crc32cJs;
 * crc32cCombine against the CRC of the joined bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cCopy, nativeAddon } from '../../native/index.ts';
import { crc32cCombine, crc32cJs, crc32cZerosFactor } from './crc32c.ts';

describe('crc32c', () => {
  it('matches the standard check values', () => {
    expect(crc32cJs(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cJs(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32cJs(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32cJs(Buffer.alloc(0))).toBe(0);
  });

  it('continues a checksum across chunks', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(), (bytes, cut) => {
      const at = bytes.length === 0 ? 0 : cut % bytes.length;
      const whole = crc32cJs(bytes);
      expect(crc32cJs(bytes, crc32cJs(bytes, 0, 0, at), at)).toBe(whole);
    }));
  });

  it('the native addon is built here and agrees with the JS twin', () => {
    const addon = nativeAddon();
    expect(addon, 'native addon loaded (npm run build:native)').not.toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      expect(addon!.crc32c(bytes, 0, start, end)).toBe(crc32cJs(bytes, 0, start, end));
      expect(crc32c(bytes)).toBe(crc32cJs(bytes));
    }));
  });

  it('the native addon agrees on large inputs (its three-chain blocks of 3 x 256 and 3 x 8192 bytes)', () => {
    const addon = nativeAddon();
    expect(addon).not.toBeNull();
    fc.assert(fc.property(fc.integer({ min: 0, max: 120_000 }), fc.nat(), fc.nat(), fc.nat(),
      (length, seed, a, b) => {
        const bytes = Buffer.allocUnsafe(length);
        let x = seed | 1;
        for (let i = 0; i < length; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          bytes[i] = x & 0xff;
        }
        const start = length === 0 ? 0 : a % Math.min(length, 64); // unaligned starts too
        const end = start + (length - start === 0 ? 0 : b % (length - start + 1));
        const crc = addon!.crc32c(bytes, 0, start, end);
        expect(crc).toBe(crc32cJs(bytes, 0, start, end));
        const cut = start + Math.floor((end - start) / 3);
        expect(addon!.crc32c(bytes, addon!.crc32c(bytes, 0, start, cut), cut, end)).toBe(crc);
      }), { numRuns: 200 });
    for (const length of [767, 768, 769, 24_575, 24_576, 24_577, 3 * 24_576 + 3 * 256 + 7]) {
      const bytes = Buffer.alloc(length, 0xa5);
      expect(addon!.crc32c(bytes, 0, 0, length), `length ${length}`).toBe(crc32cJs(bytes));
    }
  });

  it('the native addon rejects ranges outside the buffer', () => {
    const addon = nativeAddon();
    expect(addon).not.toBeNull();
    expect(() => addon!.crc32c(Buffer.alloc(4), 0, 2, 9)).toThrow(RangeError);
  });

  it('crc32cCopy copies exactly the range and returns its CRC, continued (native and JS twin)', () => {
    const addon = nativeAddon();
    expect(addon?.crc32cCopy, 'native crc32cCopy loaded').toBeDefined();
    fc.assert(fc.property(fc.integer({ min: 0, max: 70_000 }), fc.nat(), fc.nat(), fc.nat(), fc.nat(),
      (length, seed, a, b, c) => {
        const source = Buffer.allocUnsafe(length);
        let x = seed | 1;
        for (let i = 0; i < length; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          source[i] = x & 0xff;
        }
        const start = length === 0 ? 0 : a % Math.min(length, 64);
        const end = start + (length - start === 0 ? 0 : b % (length - start + 1));
        const prior = c % 2 === 0 ? 0 : crc32cJs(Buffer.from([c & 0xff]));
        const at = c % 13;
        for (const copy of [addon!.crc32cCopy!, crc32cCopy]) {
          const target = Buffer.alloc(at + end - start + 5, 0xee);
          expect(copy(source, start, end, target, at, prior)).toBe(crc32cJs(source, prior, start, end));
          expect(target.subarray(at, at + end - start).equals(source.subarray(start, end))).toBe(true);
          expect(target.subarray(0, at).every((v) => v === 0xee)).toBe(true);
          expect(target.subarray(at + end - start).every((v) => v === 0xee)).toBe(true);
        }
      }), { numRuns: 150 });
  });

  it('crc32cCopy handles overlapping ranges like memmove and refuses ranges outside a buffer', () => {
    const bytes = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff));
    const expected = Buffer.from(bytes.subarray(0, 30_000));
    const crc = crc32cCopy(bytes, 0, 30_000, bytes, 10_000, 0);
    expect(bytes.subarray(10_000).equals(expected)).toBe(true);
    expect(crc).toBe(crc32cJs(expected));
    expect(() => crc32cCopy(Buffer.alloc(4), 0, 4, Buffer.alloc(3), 0, 0)).toThrow(RangeError);
    expect(() => crc32cCopy(Buffer.alloc(4), 2, 9, Buffer.alloc(9), 0, 0)).toThrow(RangeError);
  });

  it('crc32cCombine joins the CRCs of two pieces into the CRC of both, empty pieces too', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      const joined = crc32cJs(Buffer.concat([a, b]));
      expect(crc32cCombine(crc32cJs(a), crc32cJs(b), b.length)).toBe(joined);
      expect(crc32cCombine(crc32cJs(a), crc32cJs(b), b.length, crc32cZerosFactor(b.length))).toBe(joined);
    }));
    // Lengths far past what the property draws: the factor's binary powers up to 2^24 bytes.
    for (const length of [65_000, 1 << 20, (1 << 24) + 5]) {
      const a = Buffer.from('x2 river');
      const b = Buffer.alloc(length, 0x5a);
      expect(crc32cCombine(crc32cJs(a), crc32c(b), length), `length ${length}`).toBe(crc32c(Buffer.concat([a, b])));
    }
  });
});
