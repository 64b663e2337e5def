/**
 * The latency figure of one interval. Goal: it counts only what was observed between two
 * readings, its quantiles are the linear interpolation within the bucket where they fall (as
 * Prometheus's histogram_quantile), and it is null when the interval observed nothing. Method:
 * hand-made readings with known deltas, then a real prom-client histogram read by name.
 */
import { describe, expect, it } from 'vitest';
import { createRegistry, Histogram, LATENCY_BUCKETS_SECONDS } from './metrics.ts';
import { bucketQuantileSeconds, intervalLatency, type HistogramReading } from './interval-latency.ts';
import { histogramReading } from './snapshot-sources.ts';

const BOUNDS = [0.001, 0.002, 0.005, Infinity];
const reading = (cumulativeCounts: number[], sumSeconds: number): HistogramReading =>
  ({ boundsSeconds: BOUNDS, cumulativeCounts, sumSeconds });

describe('interval latency', () => {
  it('takes the bucket counts\' difference and interpolates within the bucket of each quantile', () => {
    // In the interval: 20 in (1, 2] ms and 60 in (2, 5] ms, 0.24 s in all.
    const before = reading([10, 20, 20, 20], 0.03);
    const now = reading([10, 40, 100, 100], 0.27);
    // p50: rank 40 is the 20th of 60 in (2, 5]: 2 + 3 x 20/60; p99: rank 79.2, 2 + 3 x 59.2/60.
    expect(intervalLatency('Produce', before, now)).toEqual({ what: 'Produce', count: 80,
      p50Ms: 3, p99Ms: 4.96, maxBucketMs: 5, meanMs: 3 });
  });

  it('is null for an interval without observations or without a histogram', () => {
    const same = reading([3, 5, 5, 5], 0.01);
    expect(intervalLatency('write', same, reading([3, 5, 5, 5], 0.01))).toBeNull();
    expect(intervalLatency('write', same, null)).toBeNull();
    expect(intervalLatency('write', null, reading([0, 0, 0, 0], 0))).toBeNull();
  });

  it('reads the +Inf bucket as the highest finite bound, and says the max was above it', () => {
    const figure = intervalLatency('append→commit', reading([2, 2, 2, 2], 0.002), reading([2, 2, 2, 7], 40));
    expect(figure).toEqual({ what: 'append→commit', count: 5, p50Ms: 5, p99Ms: 5, maxBucketMs: -1, meanMs: 7999.6 });
  });

  it('interpolates the first bucket from 0; no reading before counts from 0; a reset counts from the reset', () => {
    expect(bucketQuantileSeconds(0.5, BOUNDS, [4, 4, 4, 4])).toBeCloseTo(0.0005, 12);
    expect(intervalLatency('Produce', null, reading([4, 4, 4, 4], 0.002)))
      .toMatchObject({ count: 4, p50Ms: 0.5, p99Ms: 0.99, maxBucketMs: 1, meanMs: 0.5 });
    expect(intervalLatency('write', reading([50, 50, 50, 50], 1), reading([0, 2, 2, 2], 0.003)))
      .toMatchObject({ count: 2, p50Ms: 1.5, maxBucketMs: 2, meanMs: 1.5 });
    // Other bounds than before: the interval cannot be told apart from the rest.
    const other = { boundsSeconds: [0.01, Infinity], cumulativeCounts: [9, 9], sumSeconds: 0.05 };
    expect(intervalLatency('write', reading([1, 1, 1, 1], 0), other)).toBeNull();
  });

  it('reads a labelled prom-client histogram by name, only the label set asked for', async () => {
    const registry = createRegistry('gateway');
    const histogram = new Histogram({ name: 'x2_test_request_seconds', help: 'x', labelNames: ['api'],
      registers: [registry], buckets: LATENCY_BUCKETS_SECONDS });
    expect(await histogramReading(registry, 'x2_test_request_seconds', { api: 'Produce' })).toBeNull();
    expect(await histogramReading(registry, 'x2_no_such_seconds', {})).toBeNull();
    for (const seconds of [0.0003, 0.0004, 0.003]) histogram.observe({ api: 'Produce' }, seconds);
    histogram.observe({ api: 'Fetch' }, 0.4);
    const produce = await histogramReading(registry, 'x2_test_request_seconds', { api: 'Produce' });
    expect(produce?.boundsSeconds).toEqual([...LATENCY_BUCKETS_SECONDS, Infinity]);
    expect(produce?.cumulativeCounts.slice(0, 5)).toEqual([0, 2, 2, 2, 3]);
    expect(produce?.cumulativeCounts.at(-1)).toBe(3);
    expect(produce?.sumSeconds).toBeCloseTo(0.0037, 12);
    const all = await histogramReading(registry, 'x2_test_request_seconds', {});
    expect(all?.cumulativeCounts.at(-1)).toBe(4);
  });
});
