/**
 * Goal: the delivery check counts exactly the faults it is meant to find (so a bench or test that
 * reports zeros is believable). Method: feed hand-made delivery orders with known faults.
 */
import { describe, expect, it } from 'vitest';
import { BENCH_STREAM_BASE, benchBatch, DeliveryCheck, setBenchCounter } from './delivery-check.ts';

function deliver(check: DeliveryCheck, order: Array<[appender: number, counter: number]>): void {
  order.forEach(([appender, counter], i) => {
    const batch = benchBatch(100, appender);
    setBenchCounter(batch, counter);
    check.add(i + 1, BENCH_STREAM_BASE + appender, batch);
  });
}

describe('delivery check', () => {
  it('reports zeros for a perfect delivery', () => {
    const check = new DeliveryCheck();
    deliver(check, [[0, 0], [1, 0], [0, 1], [1, 1]]);
    expect(check.finish(new Map([[0, 2], [1, 2]]))).toMatchObject({ delivered: 4, missing: 0, duplicated: 0,
      outOfOrder: 0, seqGaps: 0 });
  });

  it('counts missing, duplicated and out-of-order entries', () => {
    const check = new DeliveryCheck();
    deliver(check, [[0, 0], [0, 2], [0, 2], [0, 1], [0, 3]]);
    expect(check.finish(new Map([[0, 6]]))).toMatchObject({ missing: 2, duplicated: 1, outOfOrder: 1 });
  });

  it('counts seq gaps', () => {
    const check = new DeliveryCheck();
    const batch = benchBatch(80, 0);
    check.add(1, BENCH_STREAM_BASE, batch);
    check.add(3, 3, batch);
    expect(check.seqGaps).toBe(1);
    expect(check.foreign).toBe(1);
    expect(check.delivered).toBe(1);
  });
});
