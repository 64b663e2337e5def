/**
 * Goal: spanCrc, the CRC of a range of a reassembled body joined from its fragments' CRCs, equals
 * the CRC read from the bytes, for any fragment size and range; it declines (undefined) only when
 * the range holds no whole fragment to join. Method: fast-check over bodies, fragment sizes and
 * ranges, with fragment CRCs computed as the sequencer states them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../native/index.ts';
import { crc32cZerosFactor } from '../base/crc32c.ts';
import { spanCrc } from './fragment-crcs.ts';

describe('spanCrc', () => {
  it('equals the CRC of the range read directly, or declines when no whole fragment lies inside', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 1, max: 9000 }), fc.nat(), fc.nat(),
      fc.nat(), (bodyBytes, fragmentBytes, seed, a, b) => {
        const body = Buffer.from(Array.from({ length: bodyBytes }, (_, i) => (seed + i * 167 + (i >> 7)) & 0xff));
        const fragmentCount = Math.max(1, Math.ceil(bodyBytes / fragmentBytes));
        const crcs = new Uint32Array(fragmentCount);
        for (let i = 0; i < fragmentCount; i++) {
          crcs[i] = crc32c(body, 0, i * fragmentBytes, Math.min(bodyBytes, (i + 1) * fragmentBytes));
        }
        const start = a % bodyBytes;
        const end = start + 1 + (b % (bodyBytes - start));
        const crc = spanCrc(body, start, end, { fragmentBytes, crcs, zerosFactor: crc32cZerosFactor(fragmentBytes) });
        const wholeInside = Math.floor(end / fragmentBytes) - Math.ceil(start / fragmentBytes);
        if (wholeInside <= 0) expect(crc).toBeUndefined();
        else expect(crc).toBe(crc32c(body, 0, start, end));
      }), { numRuns: 300 });
  });
});
