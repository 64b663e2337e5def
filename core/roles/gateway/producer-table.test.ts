/**
 * ProducerTable: Kafka's idempotent-producer rules as the gateway applies them. Method: drive
 * the table through commits and in-flight batches and check each verdict (append, duplicate
 * with the original offset, in flight, epoch fencing, sequence gaps, a new epoch from 0, and a
 * producer in doubt after a lost link: wait, then judged by what the river brought meanwhile).
 */
import { describe, expect, it } from 'vitest';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { ProducerTable, PRODUCER_BATCHES_KEPT, type InflightBatch } from './producer-table.ts';

const STREAM = 2000;
const PRODUCER = 77;

describe('ProducerTable', () => {
  it('lets an unknown producer start anywhere', () => {
    expect(new ProducerTable().check(STREAM, PRODUCER, 0, 42, 45)).toEqual({ kind: 'append' });
  });

  it('answers a committed duplicate with its original offset, for the last kept batches only', () => {
    const table = new ProducerTable();
    for (let i = 0; i < PRODUCER_BATCHES_KEPT + 1; i++) table.commit(STREAM, PRODUCER, 0, i * 10, 10, 100 + i * 10, 1);
    expect(table.check(STREAM, PRODUCER, 0, 10, 19)).toEqual({ kind: 'duplicate', baseOffset: 110 });
    expect(table.check(STREAM, PRODUCER, 0, 60, 69)).toEqual({ kind: 'append' });
    expect(table.check(STREAM, PRODUCER, 0, 0, 9).kind).toBe('error'); // evicted: no longer known, and not next
  });

  it('refuses gaps and older epochs, accepts a new epoch from 0', () => {
    const table = new ProducerTable();
    table.commit(STREAM, PRODUCER, 3, 0, 5, 0, 1);
    expect(table.check(STREAM, PRODUCER, 3, 7, 7)).toMatchObject({ kind: 'error',
      errorCode: KAFKA_ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(table.check(STREAM, PRODUCER, 2, 5, 5)).toMatchObject({ kind: 'error',
      errorCode: KAFKA_ERROR.INVALID_PRODUCER_EPOCH });
    expect(table.check(STREAM, PRODUCER, 4, 0, 0)).toEqual({ kind: 'append' });
    expect(table.check(STREAM, PRODUCER, 4, 3, 3).kind).toBe('error');
  });

  it('tracks in-flight batches: a retry waits for the original, the next one follows it', () => {
    const table = new ProducerTable();
    table.commit(STREAM, PRODUCER, 0, 0, 1, 0, 1);
    const settled: Array<[number, number]> = [];
    const inflight: InflightBatch = { epoch: 0, firstSequence: 1, lastSequence: 2, waiters: [(offset,
      code) => settled.push([offset, code])] };
    table.addInflight(STREAM, PRODUCER, inflight);
    const retry = table.check(STREAM, PRODUCER, 0, 1, 2);
    expect(retry).toEqual({ kind: 'inflight', batch: inflight });
    expect(table.check(STREAM, PRODUCER, 0, 3, 3)).toEqual({ kind: 'append' });
    table.commit(STREAM, PRODUCER, 0, 1, 2, 1, 1);
    table.settle(STREAM, PRODUCER, inflight, 1, 0);
    expect(settled).toEqual([[1, 0]]);
    expect(table.check(STREAM, PRODUCER, 0, 1, 2)).toEqual({ kind: 'duplicate', baseOffset: 1 });
  });

  it('holds a producer in doubt until its barrier resolves, then judges by what was committed meanwhile', async () => {
    for (const original of ['committed', 'lost'] as const) {
      const table = new ProducerTable();
      table.commit(STREAM, PRODUCER, 0, 0, 10, 0, 1);
      const batch: InflightBatch = { epoch: 0, firstSequence: 10, lastSequence: 19, waiters: [] };
      table.addInflight(STREAM, PRODUCER, batch);
      let pass!: () => void;
      const barrier = new Promise<void>((resolve) => { pass = resolve; });
      table.settle(STREAM, PRODUCER, batch, -1, KAFKA_ERROR.REQUEST_TIMED_OUT, barrier);
      // The retry, and any later batch, waits: the next sequence is unknown here.
      expect(table.check(STREAM, PRODUCER, 0, 10, 19)).toEqual({ kind: 'wait', until: barrier });
      expect(table.check(STREAM, PRODUCER, 0, 20, 29)).toEqual({ kind: 'wait', until: barrier });
      if (original === 'committed') table.commit(STREAM, PRODUCER, 0, 10, 10, 10, 1);
      pass();
      await barrier;
      expect(table.check(STREAM, PRODUCER, 0, 10, 19)).toEqual(original === 'committed'
        ? { kind: 'duplicate', baseOffset: 10 } : { kind: 'append' });
    }
  });
});
