/**
 * Goal: sidecar claims and checkpoints round-trip, and anything else is refused with a message.
 * Method: encode/decode both kinds, then malformed values (wrong version, kinds, fields).
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeSidecarRecord, encodeSidecarRecord, type SidecarRecord } from './checkpoint-records.ts';

describe('sidecar records', () => {
  it('round-trip claims and checkpoints', () => {
    const records: SidecarRecord[] = [
      { kind: 'claim', name: 'aapl', member: 1, members: 3, token: '42-abcd' },
      { kind: 'checkpoint', name: 'aapl', member: 0, token: '42-abcd', positions: [[1024, 0], [1025, 2 ** 40]] },
    ];
    for (const record of records) expect(decodeSidecarRecord(encodeSidecarRecord(record))).toEqual(record);
  });

  it('refuses malformed values', () => {
    const bad = [
      pack([2, 1, 'a', 0, 1, 't']), pack([1, 9, 'a', 0, 1, 't']), pack([1, 1, 5, 0, 1, 't']),
      pack([1, 2, 'a', 0, 't', [[1, -1]]]), pack([1, 2, 'a', 0, 't', [[1]]]), pack({ not: 'an array' }),
      pack([1, 1, 'a', -1, 1, 't']),
    ];
    for (const value of bad) expect(() => decodeSidecarRecord(value)).toThrow(/__x2_sidecars/);
  });
});
