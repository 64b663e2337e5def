/**
 * Goal: the retransmit ring returns exactly the frames asked for, never evicts an uncommitted
 * frame, and refuses space instead (flow control). Method: a seeded random workload of frame sizes
 * against a model of what must still be held; every visit checks bytes and seq ranges.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { RetransmitRing } from './retransmit-ring.ts';

describe('retransmit ring', () => {
  it('holds every frame above the evictable seq and returns them intact', () => {
    const seed = testSeed('retransmit-ring');
    const random = prng(seed);
    const ring = new RetransmitRing(64 * 1024, 64);
    let nextSeq = 1;
    let committedSeq = 0;
    const frames = new Map<number, { count: number; fill: number; bytes: number }>();
    for (let round = 0; round < 5000; round++) {
      if (random() < 0.3) committedSeq = Math.min(nextSeq - 1, committedSeq + Math.floor(random() * 20));
      const bytes = 1 + Math.floor(random() * 8000);
      const slot = ring.reserve(bytes, committedSeq);
      if (!slot) {
        // Refused only when an uncommitted frame would have to go.
        const oldest = frames.get(ring.firstSeq)!;
        expect(ring.firstSeq + oldest.count - 1).toBeGreaterThan(committedSeq);
        committedSeq = nextSeq - 1;
        continue;
      }
      const count = 1 + Math.floor(random() * 5);
      const fill = round & 0xff;
      slot.arena.fill(fill, slot.position, slot.position + bytes);
      ring.commit(nextSeq, count, bytes);
      frames.set(nextSeq, { count, fill, bytes });
      nextSeq += count;
      // Nothing uncommitted was evicted: the oldest held frame starts at or below committed + 1.
      expect(ring.firstSeq).toBeLessThanOrEqual(committedSeq + 1);
      const fromSeq = ring.firstSeq + Math.floor(random() * (nextSeq - ring.firstSeq));
      let expectedSeq = -1;
      const end = ring.visit(fromSeq, nextSeq, 1 << 30, (frame, firstSeq, entryCount) => {
        const model = frames.get(firstSeq)!;
        expect(entryCount).toBe(model.count);
        expect(frame.length).toBe(model.bytes);
        expect(frame.every((b) => b === model.fill)).toBe(true);
        if (expectedSeq >= 0) expect(firstSeq).toBe(expectedSeq);
        expect(firstSeq + entryCount).toBeGreaterThan(fromSeq);
        expectedSeq = firstSeq + entryCount;
      });
      expect(end).toBe(nextSeq);
    }
    expect(ring.visit(0, 5, 100, () => undefined)).toBe(-1);
  });
});
