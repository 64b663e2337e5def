/**
 * Goal: the in-memory tail's ring keeps every field and every per-stream chain of its live
 * entries across wrap-around and growth, and finds entries by seq.
 * Method: push entries of three owners in an interleaved pattern, shift some from the head,
 * push past the initial capacity (the ring grows while wrapped), then compare every live entry
 * and every chain with arrays of what was pushed.
 */
import { describe, expect, it } from 'vitest';
import { NO_SERIAL, PendingTail } from './pending-tail.ts';

type Pushed = { serial: number; owner: string; seq: number; baseOffset: number };

describe('PendingTail', () => {
  it('keeps fields and chains across wrap-around and growth', () => {
    const tail = new PendingTail<string>();
    const owners = ['a', 'b', 'c'];
    const last = new Map<string, number>();
    const nextOffset = new Map<string, number>();
    const pushed: Pushed[] = [];
    const push = (seq: number): void => {
      const owner = owners[seq % 7 === 0 ? 2 : seq % 2] ?? 'a';
      const baseOffset = nextOffset.get(owner) ?? 0;
      const serial = tail.push(owner, last.get(owner) ?? NO_SERIAL, seq * 2, owners.indexOf(owner), baseOffset, 3,
        seq >> 10, seq * 100, 200 + (seq % 50), -seq);
      last.set(owner, serial);
      nextOffset.set(owner, baseOffset + 3);
      pushed.push({ serial, owner, seq: seq * 2, baseOffset });
    };
    for (let seq = 1; seq <= 3000; seq++) push(seq);
    for (let i = 0; i < 2500; i++) tail.shift();
    for (let seq = 3001; seq <= 12_000; seq++) push(seq);
    const live = pushed.slice(2500);
    expect(tail.count).toBe(live.length);
    for (const entry of live) {
      expect(tail.owner(entry.serial)).toBe(entry.owner);
      expect(tail.seq(entry.serial)).toBe(entry.seq);
      expect(tail.baseOffset(entry.serial)).toBe(entry.baseOffset);
      expect(tail.endOffset(entry.serial)).toBe(entry.baseOffset + 3);
      expect(tail.location(entry.serial)).toEqual({ seq: entry.seq, streamId: owners.indexOf(entry.owner),
        baseOffset: entry.baseOffset, recordCount: 3, segment: (entry.seq / 2) >> 10, position: entry.seq * 50,
        frameBytes: 200 + ((entry.seq / 2) % 50), maxTimestampMs: -entry.seq / 2 });
    }
    for (const owner of owners) {
      const chain = live.filter((e) => e.owner === owner).map((e) => e.serial);
      for (let i = 0; i < chain.length; i++) expect(tail.nextInStream(chain[i]!)).toBe(chain[i + 1] ?? NO_SERIAL);
    }
    expect(tail.firstAtLeast(live[10]!.seq)).toBe(live[10]!.serial);
    expect(tail.firstAtLeast(live[10]!.seq - 1)).toBe(live[10]!.serial);
    expect(tail.firstAtLeast(0)).toBe(tail.head);
    expect(tail.firstAtLeast(Number.MAX_SAFE_INTEGER)).toBe(tail.tail);
  });
});
