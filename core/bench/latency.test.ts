/**
 * LatencyRecorder: the percentiles it reports must match exact order statistics within HDR's
 * 3-significant-digit bucket width, never exceed the exact maximum, and count clock-step
 * (negative) samples instead of hiding them. Method: seeded random latency samples are
 * recorded and compared with the sorted samples' own percentiles (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { LatencyRecorder } from './latency.ts';

const seed = testSeed('bench latency');

function exactPercentileUs(sorted: number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('LatencyRecorder', () => {
  it('reports p50/p90/p99/p99.9/max within 0.1% of the exact order statistics', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 2000 }),
      (samplesUs) => {
        const recorder = new LatencyRecorder();
        for (const sample of samplesUs) recorder.recordUs(sample);
        const sorted = [...samplesUs].sort((a, b) => a - b);
        const summary = recorder.summary();
        expect(summary.count).toBe(samplesUs.length);
        expect(summary.maxMs).toBeCloseTo(sorted[sorted.length - 1]! / 1000, 1);
        const cases: Array<[number, number]> = [[50, summary.p50Ms], [90, summary.p90Ms], [99, summary.p99Ms],
          [99.9, summary.p999Ms]];
        for (const [percentile, reportedMs] of cases) {
          const exactUs = exactPercentileUs(sorted, percentile);
          expect(Math.abs(reportedMs * 1000 - exactUs)).toBeLessThanOrEqual(exactUs * 0.001 + 1);
          expect(reportedMs).toBeLessThanOrEqual(summary.maxMs);
        }
        recorder.destroy();
      }), { seed, numRuns: 100 });
  });

  it('recordSinceUs gives the histogram of recording each sample alone', () => {
    // Ack-time batches: schedules mostly ascending (runs share buckets), with jumps and repeats.
    const batch = fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5_000_000 })),
      { minLength: 1, maxLength: 300 });
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), batch, (nowUs, stepsUs) => {
      let at = nowUs - 3_000_000;
      const scheduledUs = stepsUs.map((step) => (at += step % 2 === 0 ? step : -step));
      const grouped = new LatencyRecorder();
      const single = new LatencyRecorder();
      grouped.recordSinceUs(nowUs, scheduledUs);
      for (const scheduled of scheduledUs) single.recordUs(nowUs - scheduled);
      expect(grouped.summary()).toEqual(single.summary());
      expect(grouped.negativeCount).toBe(single.negativeCount);
      for (let percentile = 1; percentile <= 100; percentile += 3) {
        expect(grouped.percentileMs(percentile)).toBe(single.percentileMs(percentile));
      }
      grouped.destroy();
      single.destroy();
    }), { seed, numRuns: 200 });
  });

  it('counts negative latencies (clock steps) and records them as 1 µs', () => {
    const recorder = new LatencyRecorder();
    recorder.recordUs(-50);
    recorder.recordUsTimes(-1, 3);
    recorder.recordUs(2000);
    expect(recorder.negativeCount).toBe(4);
    expect(recorder.count).toBe(5);
    expect(recorder.summary().p50Ms).toBe(0.001);
    expect(recorder.summary().maxMs).toBe(2);
  });

  it('summarises an empty histogram as zeros', () => {
    const recorder = new LatencyRecorder();
    expect(recorder.summary()).toEqual({ count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 });
    expect(recorder.percentileMs(99)).toBe(0);
  });
});
