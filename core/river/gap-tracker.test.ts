/**
 * Goal: whatever the network does (loss, reordering, duplicates, retransmits), a member delivers
 * every seq exactly once, in order, and its NAK ranges name exactly what is missing. Method: seeded
 * random schedules over frames of 1..4 entries: shuffle, duplicate and drop, then answer the NAKs
 * (as the sequencer would from the ring) until nothing is missing.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { GapTracker } from './gap-tracker.ts';
import type { CompleteFrame } from './reassembler.ts';

describe('gap tracker', () => {
  it('delivers each seq once, in order, under loss and reordering', () => {
    const seed = testSeed('gap-tracker');
    const random = prng(seed);
    for (let run = 0; run < 50; run++) {
      const frames: CompleteFrame[] = [];
      let seq = 1;
      for (let i = 0; i < 300; i++) {
        const entryCount = 1 + Math.floor(random() * 4);
        frames.push({ seq, epoch: 1, entryCount, body: Buffer.alloc(8) });
        seq += entryCount;
      }
      const lastSeq = seq - 1;
      const delivered: number[] = [];
      const tracker = new GapTracker(1, { pendingFramesMax: 64 });
      const deliver = (frame: CompleteFrame, skip: number): void => {
        for (let i = skip; i < frame.entryCount; i++) delivered.push(frame.seq + i);
      };
      const schedule = frames.filter(() => random() > 0.2).flatMap((f) => (random() < 0.1 ? [f, f] : [f]));
      for (let i = schedule.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        if (Math.abs(i - j) < 10) [schedule[i], schedule[j]] = [schedule[j]!, schedule[i]!];
      }
      for (const frame of schedule) tracker.offer(frame, deliver);
      for (let rounds = 0; rounds < 10_000; rounds++) {
        // Half the runs answer one NAK range per round, half every range at once (as members NAK).
        const ranges = run % 2 === 0 ? [tracker.gap(lastSeq)].filter((gap) => gap !== null) : tracker.gaps(lastSeq, 32);
        if (ranges.length === 0) break;
        for (const gap of ranges) {
          expect(gap.toSeq).toBeGreaterThan(gap.fromSeq);
          expect(gap.fromSeq).toBeGreaterThanOrEqual(tracker.nextSeq);
          for (const frame of frames) {
            if (frame.seq + frame.entryCount > gap.fromSeq && frame.seq < gap.toSeq) tracker.offer(frame, deliver);
          }
        }
      }
      expect(tracker.gap(lastSeq)).toBeNull();
      expect(delivered).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    }
  });

  it('skips entries already delivered by a repair', () => {
    const tracker = new GapTracker(1);
    const delivered: number[] = [];
    tracker.reset(3);
    tracker.offer({ seq: 1, epoch: 1, entryCount: 4, body: Buffer.alloc(0) }, (frame, skip) => {
      for (let i = skip; i < frame.entryCount; i++) delivered.push(frame.seq + i);
    });
    expect(delivered).toEqual([3, 4]);
    expect(tracker.nextSeq).toBe(5);
  });
});

describe('gap tracker ranges', () => {
  it('names every missing range between held frames', () => {
    const tracker = new GapTracker(1);
    const ignore = (): void => undefined;
    tracker.offer({ seq: 4, epoch: 1, entryCount: 2, body: Buffer.alloc(0) }, ignore);
    tracker.offer({ seq: 9, epoch: 1, entryCount: 1, body: Buffer.alloc(0) }, ignore);
    expect(tracker.gaps(12, 32))
      .toEqual([{ fromSeq: 1, toSeq: 4 }, { fromSeq: 6, toSeq: 9 }, { fromSeq: 10, toSeq: 13 }]);
    expect(tracker.gaps(12, 2)).toHaveLength(2);
    expect(tracker.gap(12)).toEqual({ fromSeq: 1, toSeq: 4 });
  });
});
