/**
 * A node's latency figure over one snapshot interval, from a prom-client histogram read twice:
 * the difference of its cumulative bucket counts between this reading and the previous one, so
 * the figure is the last second, not everything since the process started.
 *
 * Quantiles are estimated from those bucket counts as Prometheus's histogram_quantile does: find
 * the bucket where the quantile's rank (q x count) falls and interpolate linearly between its
 * lower bound (the previous bound, 0 for the first bucket) and its upper bound, assuming the
 * observations spread evenly within it. The error is at most that bucket's width. A quantile in
 * the +Inf bucket reads as the highest finite bound: a floor of the truth, as in Prometheus.
 * Pure and O(buckets).
 */
import type { LatencySnapshot } from './snapshot.ts';

/** One reading of a histogram (summed over the label sets read). */
export type HistogramReading = {
  /** Upper bounds in seconds, ascending; the last is Infinity (the +Inf bucket). */
  boundsSeconds: number[];
  /** Observations at or below each bound (cumulative, as Prometheus exposes buckets). */
  cumulativeCounts: number[];
  sumSeconds: number;
};

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, index) => bound === b[index]);
}

/** The q-quantile (0 < q <= 1) in seconds of cumulative bucket counts with a total above 0. */
export function bucketQuantileSeconds(q: number, boundsSeconds: readonly number[],
  cumulativeCounts: readonly number[]): number {
  const total = cumulativeCounts[cumulativeCounts.length - 1] ?? 0;
  const rank = q * total;
  let index = 0;
  while (index < cumulativeCounts.length - 1 && cumulativeCounts[index]! < rank) index += 1;
  const upper = boundsSeconds[index]!;
  const lower = index === 0 ? 0 : boundsSeconds[index - 1]!;
  if (upper === Infinity) return lower;
  const countBelow = index === 0 ? 0 : cumulativeCounts[index - 1]!;
  const inBucket = cumulativeCounts[index]! - countBelow;
  return lower + (upper - lower) * (rank - countBelow) / inBucket;
}

const toMs = (seconds: number): number => Math.round(seconds * 1e6) / 1e3;

/**
 * The figure of the interval between `before` and `now`; null when nothing was observed in it
 * or there is no histogram. `before` null means nothing observed before (a labelled child is
 * made on first use). A count that went down means the histogram was reset in the interval:
 * then `now` alone is the interval, as Prometheus treats a counter reset.
 */
export function intervalLatency(what: string, before: HistogramReading | null,
  now: HistogramReading | null): LatencySnapshot | null {
  if (now === null) return null;
  if (before !== null && !sameBounds(before.boundsSeconds, now.boundsSeconds)) return null;
  const previous = before?.cumulativeCounts;
  const fromZero = previous?.some((count, index) => count > now.cumulativeCounts[index]!) ?? true;
  const counts = fromZero ? now.cumulativeCounts
    : now.cumulativeCounts.map((count, index) => count - previous![index]!);
  const count = counts[counts.length - 1] ?? 0;
  if (count <= 0) return null;
  let highest = 0;
  for (let index = 0; index < counts.length; index++) {
    if (counts[index]! > (index === 0 ? 0 : counts[index - 1]!)) highest = index;
  }
  const highestBound = now.boundsSeconds[highest]!;
  const sumSeconds = fromZero ? now.sumSeconds : now.sumSeconds - before!.sumSeconds;
  return {
    what, count,
    p50Ms: toMs(bucketQuantileSeconds(0.5, now.boundsSeconds, counts)),
    p99Ms: toMs(bucketQuantileSeconds(0.99, now.boundsSeconds, counts)),
    maxBucketMs: highestBound === Infinity ? -1 : toMs(highestBound),
    meanMs: toMs(Math.max(0, sumSeconds) / count),
  };
}
