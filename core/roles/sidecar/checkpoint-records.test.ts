/**
 * Goal: sidecar membership, claim and checkpoint records round-trip, and anything else is refused
 * with a message. Method: encode/decode every kind, then malformed values (version, kinds, fields).
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeSidecarRecord, encodeSidecarRecord, type SidecarRecord } from './checkpoint-records.ts';

describe('sidecar records', () => {
  it('round-trip every kind', () => {
    const records: SidecarRecord[] = [
      { kind: 'join', name: 'aapl', memberId: '42-abcd', sessionTimeoutMs: 10_000 },
      { kind: 'heartbeat', name: 'aapl', memberId: '42-abcd' },
      { kind: 'leave', name: 'aapl', memberId: '42-abcd' },
      { kind: 'expel', name: 'aapl', memberId: '42-abcd', byMemberId: '43-ef01' },
      { kind: 'claim', name: 'aapl', memberId: '42-abcd' },
      { kind: 'checkpoint', name: 'aapl', memberId: '42-abcd', nextOffset: 2 ** 40 },
    ];
    for (const record of records) expect(decodeSidecarRecord(encodeSidecarRecord(record))).toEqual(record);
  });

  it('refuses malformed values', () => {
    const bad = [
      pack([1, 1, 'a', 'm']), pack([2, 9, 'a', 'm']), pack([2, 1, 5, 'm']), pack([2, 1, 'a', 7]),
      pack([2, 2, 'a', 'm', -1]), pack([2, 2, 'a', 'm']), pack([2, 3, 'a', 'm', 0]), pack([2, 6, 'a', 'm', 3]),
      pack([2, 4, 'a', 'm', 'extra']), pack({ not: 'an array' }),
    ];
    for (const value of bad) expect(() => decodeSidecarRecord(value)).toThrow(/sidecar record/);
  });
});
