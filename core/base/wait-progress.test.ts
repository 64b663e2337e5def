/**
 * Goal: a wait that has no deadline while its progress moves, fails once it stands still, and
 * reports along the way. Method: progress values driven by timers, short stall and report times.
 */
import { describe, expect, it } from 'vitest';
import { waitWhileProgressing } from './wait-progress.ts';

describe('waitWhileProgressing', () => {
  it('outlasts its stall time while progress moves, reporting along the way, and returns when done', async () => {
    let value = 0;
    const ticker = setInterval(() => { value += 1; }, 20);
    const reports: number[] = [];
    const startedMs = Date.now();
    try {
      await waitWhileProgressing({ what: 'replay', isDone: () => value >= 30, progress: () => value, stallMs: 150,
        pollMs: 5, reportEveryMs: 100, report: (at) => reports.push(at) });
    } finally {
      clearInterval(ticker);
    }
    expect(Date.now() - startedMs).toBeGreaterThan(300); // longer than the stall time, and no failure
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports).toEqual([...reports].sort((a, b) => a - b));
  });

  it('fails once progress stood still for the stall time, saying where it stuck', async () => {
    let value = 0;
    const ticker = setInterval(() => { if (value < 5) value += 1; }, 10);
    const startedMs = Date.now();
    try {
      await expect(waitWhileProgressing({ what: 'river replay', isDone: () => false, progress: () => value,
        stallMs: 200, pollMs: 5 })).rejects.toThrow('river replay made no progress for 200 ms (stuck at 5)');
    } finally {
      clearInterval(ticker);
    }
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(200);
  });

  it('stops at once when aborted', async () => {
    await expect(waitWhileProgressing({ what: 'replay', isDone: () => false, progress: () => 0, stallMs: 10_000,
      abortReason: () => 'stopped while replaying' })).rejects.toThrow('replay: stopped while replaying');
  });
});
