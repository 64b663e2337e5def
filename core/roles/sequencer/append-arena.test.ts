/**
 * Goal: the append arena never hands out bytes of a region still held, releases in order, wraps,
 * refuses what does not fit, and starts over at 0 when empty. Method: a seeded model run of
 * random takes and in-order releases; each held region is filled with its own byte and checked
 * intact at its release.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../../test/harness/seed.ts';
import { AppendArena } from './append-arena.ts';

describe('append arena', () => {
  it('keeps every held region intact through random takes and in-order releases', () => {
    const random = prng(testSeed('append-arena'));
    const arena = new AppendArena(10_000);
    const held: Array<{ start: number; length: number; mark: number }> = [];
    let refused = 0;
    let wraps = 0;
    for (let step = 0; step < 50_000; step++) {
      if (held.length > 0 && random() < 0.48) {
        const oldest = held.shift()!;
        const region = arena.bytes.subarray(oldest.start, oldest.start + oldest.length);
        expect(region.every((byte) => byte === oldest.mark)).toBe(true);
        arena.release(oldest.start + oldest.length);
        continue;
      }
      const length = 1 + Math.floor(random() * (random() < 0.1 ? 6000 : 700));
      const start = arena.take(length);
      if (start < 0) {
        refused += 1;
        continue;
      }
      expect(start + length).toBeLessThanOrEqual(10_000);
      if (held.length > 0 && start < held[held.length - 1]!.start) wraps += 1;
      const mark = step & 0xff;
      arena.bytes.fill(mark, start, start + length);
      held.push({ start, length, mark });
      expect(arena.held).toBe(held.length);
    }
    expect(refused).toBeGreaterThan(100);
    expect(wraps).toBeGreaterThan(100);
    while (held.length > 0) {
      const oldest = held.shift()!;
      expect(arena.bytes.subarray(oldest.start, oldest.start + oldest.length).every((b) => b === oldest.mark))
        .toBe(true);
      arena.release(oldest.start + oldest.length);
    }
    expect(arena.take(10_000)).toBe(0); // empty: starts over, the whole capacity free
    expect(arena.take(1)).toBe(-1);
  });

  it('refuses a release out of the order regions were taken', () => {
    const arena = new AppendArena(1000);
    expect(arena.take(100)).toBe(0);
    expect(arena.take(100)).toBe(100);
    expect(() => arena.release(200)).toThrow(/in the order taken/); // the newest, not the oldest
    arena.release(100);
    arena.release(200);
    expect(arena.held).toBe(0);
  });
});
