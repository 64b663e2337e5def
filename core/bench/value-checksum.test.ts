/**
 * Goal: ValueChecksum gives exactly the CRC-32C the native (and JS) code computes over the whole
 * value, for any stamp and any value size, so produce's checksums still match consume's.
 * Method: fast-check over value sizes (the bare stamp up to 64 KiB, and 1 MiB once), templates
 * and stamps, against crc32c and its JS twin.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32cJs } from '../base/crc32c.ts';
import { crc32c } from '../../native/index.ts';
import { testSeed } from '../../test/harness/seed.ts';
import { ValueChecksum } from './value-checksum.ts';
import { makeValueTemplate, stampValue, VALUE_HEADER_BYTES } from './workload.ts';

describe('ValueChecksum', () => {
  it('equals crc32c over the whole stamped value', () => {
    fc.assert(fc.property(fc.integer({ min: VALUE_HEADER_BYTES, max: 64 * 1024 }), fc.integer(),
      fc.array(fc.tuple(fc.double({ min: 0, max: 2 ** 52, noNaN: true }), fc.integer({ min: 0, max: 4095 }),
        fc.integer({ min: 0, max: 2 ** 40 - 1 })), { minLength: 1, maxLength: 8 }), (bytes, seed, stamps) => {
      const value = makeValueTemplate(bytes, seed);
      const checksum = new ValueChecksum(value);
      for (const [scheduledUs, producer, sequence] of stamps) {
        stampValue(value, scheduledUs, producer, sequence);
        expect(checksum.of(value)).toBe(crc32c(value));
        expect(checksum.of(value)).toBe(crc32cJs(value));
      }
    }), { seed: testSeed('value-checksum'), numRuns: 60 });
  });

  it('equals crc32c for a 1 MiB value', () => {
    const value = makeValueTemplate(1024 * 1024, 7);
    const checksum = new ValueChecksum(value);
    stampValue(value, 123_456_789, 3, 42);
    expect(checksum.of(value)).toBe(crc32c(value));
  });
});
