/**
 * What one subscriber of `x2 bench consume|e2e` received. A subscriber is an independent
 * reader of every partition (its `--consumers` consumers share the partitions among
 * themselves), so each keeps its own per-partition tallies: a record is counted once per
 * subscriber, and lost, out-of-order and changed partitions are judged per subscriber.
 * End-to-end latency goes to the run's histogram (all subscribers' receipts) and, with more
 * than one subscriber, to the subscriber's own, so a lagging subscriber shows.
 *
 * Bounds: one tally per partition (the CLI caps subscribers x partitions).
 */
import { LatencyRecorder, type LatencySummary } from './latency.ts';
import { nowUs, PartitionTally, valueScheduledUs } from './workload.ts';
import type { ConsumerSink } from './targets/target.ts';

export type SubscriberFigures = {
  records: number;
  /** Expected records (acknowledged or backlog, per partition) this subscriber never got. */
  lost: number;
  outOfOrder: number;
  /** e2e: partitions with as many records as were sent but another checksum; null for consume. */
  mismatchedPartitions: number | null;
  firstError: string | null;
  /** e2e: this subscriber's receipts only; null for consume. */
  e2eLatency: LatencySummary | null;
};

export class SubscriberReceipts implements ConsumerSink {
  readonly tallies: PartitionTally[];
  total = 0;
  bytes = 0;
  firstError: string | null = null;
  readonly #e2eAll: LatencyRecorder | null;
  /** Null when the run has one subscriber: its histogram is the run's. */
  readonly #e2eOwn: LatencyRecorder | null;

  constructor(partitions: number, e2eAll: LatencyRecorder | null, ownHistogram: boolean) {
    this.tallies = Array.from({ length: partitions }, () => new PartitionTally());
    this.#e2eAll = e2eAll;
    this.#e2eOwn = e2eAll !== null && ownHistogram ? new LatencyRecorder() : null;
  }

  record(partition: number, buffer: Buffer, start: number, end: number): void {
    const tally = this.tallies[partition];
    if (tally === undefined) return;
    tally.addRead(buffer, start, end);
    this.total++;
    this.bytes += end - start;
    if (this.#e2eAll !== null && end - start >= 8) {
      const latencyUs = nowUs() - valueScheduledUs(buffer, start);
      this.#e2eAll.recordUs(latencyUs);
      this.#e2eOwn?.recordUs(latencyUs);
    }
  }

  error(message: string): void {
    this.firstError ??= message;
  }

  /** Every partition holds at least `wanted[partition]` records. */
  caughtUp(wanted: ArrayLike<number>): boolean {
    return this.tallies.every((tally, index) => tally.records >= wanted[index]!);
  }

  /** Figures against what was expected per partition and (e2e) what was sent. */
  figures(wanted: ArrayLike<number>, sent: readonly PartitionTally[] | null): SubscriberFigures {
    return {
      records: this.total,
      lost: this.tallies.reduce((sum, tally, index) => sum + Math.max(0, wanted[index]! - tally.records), 0),
      outOfOrder: this.tallies.reduce((sum, tally) => sum + tally.outOfOrder, 0),
      mismatchedPartitions: sent === null ? null : this.tallies.filter((tally, index) =>
        tally.records === sent[index]!.records && tally.checksum !== sent[index]!.checksum).length,
      firstError: this.firstError,
      e2eLatency: this.#e2eAll === null ? null : (this.#e2eOwn ?? this.#e2eAll).summary(),
    };
  }

  destroy(): void {
    this.#e2eOwn?.destroy();
  }
}
