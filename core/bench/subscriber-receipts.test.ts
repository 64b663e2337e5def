/**
 * Subscriber receipts: each subscriber is judged on its own tallies (a record one subscriber got
 * does not count for another), while the run's end-to-end histogram holds every subscriber's
 * receipts and each subscriber's own histogram only its own. Method: feed stamped values to two
 * subscribers directly and compare their figures with the sent tallies.
 */
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from './latency.ts';
import { SubscriberReceipts } from './subscriber-receipts.ts';
import { makeValueTemplate, nowUs, PartitionTally, stampValue } from './workload.ts';

describe('SubscriberReceipts', () => {
  it('counts per subscriber: the one that missed records is the one that loses them', () => {
    const all = new LatencyRecorder();
    const [first, second] = [new SubscriberReceipts(2, all, true), new SubscriberReceipts(2, all, true)];
    const sent = [new PartitionTally(), new PartitionTally()];
    const value = makeValueTemplate(64, 7);
    for (let sequence = 0; sequence < 10; sequence++) {
      for (const partition of [0, 1]) {
        stampValue(value, nowUs() - 1000, 0, sequence);
        sent[partition]!.add(value);
        first.record(partition, value, 0, value.length);
        if (partition === 0 || sequence < 6) second.record(partition, value, 0, value.length);
      }
    }
    const wanted = [10, 10];
    expect(first.caughtUp(wanted)).toBe(true);
    expect(second.caughtUp(wanted)).toBe(false);
    const clean = { outOfOrder: 0, mismatchedPartitions: 0 };
    expect(first.figures(wanted, sent)).toMatchObject({ records: 20, lost: 0, ...clean });
    expect(second.figures(wanted, sent)).toMatchObject({ records: 16, lost: 4, ...clean });
    expect(first.figures(wanted, sent).e2eLatency!.count).toBe(20);
    expect(second.figures(wanted, sent).e2eLatency!.count).toBe(16);
    expect(all.count).toBe(36);
    expect(first.figures(wanted, null).mismatchedPartitions).toBeNull();
    first.destroy();
    second.destroy();
    all.destroy();
  });

  it('a lone subscriber reports the run histogram as its own, and consume runs have none', () => {
    const all = new LatencyRecorder();
    const only = new SubscriberReceipts(1, all, false);
    const value = makeValueTemplate(32, 1);
    stampValue(value, nowUs() - 500, 0, 0);
    only.record(0, value, 0, value.length);
    expect(only.figures([1], null).e2eLatency).toEqual(all.summary());
    expect(new SubscriberReceipts(1, null, true).figures([0], null).e2eLatency).toBeNull();
    all.destroy();
  });
});
