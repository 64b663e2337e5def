/**
 * Goal: a member NAKs a new missing range at once, repeats it after the minimum wait, then backs
 * off by doubling up to the maximum; a range that moved on (a new first seq) starts over, and the
 * memory stays bounded. Method: the schedule alone, with a hand-driven clock.
 */
import { describe, expect, it } from 'vitest';
import { NakSchedule } from './nak-schedule.ts';

/** The times in [0, untilMs) at which a range that never fills is NAKed, checked every stepMs. */
function nakTimes(schedule: NakSchedule, fromSeq: number, untilMs: number, stepMs: number): number[] {
  const times: number[] = [];
  for (let nowMs = 0; nowMs < untilMs; nowMs += stepMs) if (schedule.due(fromSeq, nowMs)) times.push(nowMs);
  return times;
}

describe('NakSchedule', () => {
  it('NAKs at once, then after 20, 40, 80 ms and every 160 ms from there', () => {
    const schedule = new NakSchedule(20, 160, 128);
    expect(nakTimes(schedule, 7, 1000, 10)).toEqual([0, 20, 60, 140, 300, 460, 620, 780, 940]);
  });

  it('a second of an unrepaired gap costs 9 NAKs instead of the 50 a fixed 20 ms retry sends', () => {
    expect(nakTimes(new NakSchedule(20, 160, 128), 1, 1000, 10)).toHaveLength(9);
    expect(nakTimes(new NakSchedule(20, 20, 128), 1, 1000, 10)).toHaveLength(50);
  });

  it('ranges back off on their own; a delivered range is forgotten and starts over', () => {
    const schedule = new NakSchedule(20, 160, 128);
    expect(schedule.due(5, 0)).toBe(true);
    expect(schedule.due(9, 0)).toBe(true);
    expect(schedule.due(5, 10)).toBe(false);
    expect(schedule.due(5, 20)).toBe(true); // next wait 40 ms
    expect(schedule.due(9, 30)).toBe(true);
    expect(schedule.due(5, 50)).toBe(false);
    schedule.forgetBelow(6); // seq 5 delivered: a new loss there is NAKed at once
    expect(schedule.size).toBe(1);
    expect(schedule.due(5, 51)).toBe(true);
    expect(schedule.due(9, 51)).toBe(false);
  });

  it('remembers at most rangesMax ranges', () => {
    const schedule = new NakSchedule(20, 160, 4);
    for (let seq = 0; seq < 10; seq++) schedule.due(seq, 0);
    expect(schedule.size).toBeLessThanOrEqual(4);
  });
});
