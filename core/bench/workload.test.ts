/**
 * Workload pieces: the keyed partition choice must be Kafka's (murmur2, checked against
 * kafkajs's implementation of the Java client's hash), the open-loop schedule must release
 * exactly rate x time records with their scheduled times, and the partition tally must be
 * independent of producer interleaving while catching gaps and reorders. Method: seeded
 * random keys and schedules (fast-check) against direct computations.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import {
  KeyChooser, makeValueTemplate, murmur2, PartitionTally, SendSchedule, stampValue, type WorkloadSpec,
} from './workload.ts';

const seed = testSeed('bench workload');
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const spec: WorkloadSpec = {
  topicPrefix: 't', topics: 2, partitions: 3, producers: 1, consumers: 1, subscribers: 1, messageBytes: 32,
  ratePerSecond: null, durationMs: 1000, acks: -1, keys: 'none', compression: 'none', batchBytes: 1024 * 1024,
};

describe('murmur2', () => {
  it('matches the Java client test vectors', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
  });

  it('agrees with kafkajs on random keys', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (key) => {
      expect(murmur2(key)).toBe(kafkajsMurmur2(Buffer.from(key)));
    }), { seed, numRuns: 500 });
  });
});

describe('KeyChooser', () => {
  it('without keys goes round-robin over every partition, starting at the producer index', () => {
    const chooser = new KeyChooser(spec, 4);
    const picks = Array.from({ length: 8 }, () => chooser.nextPartition());
    expect(picks).toEqual([4, 5, 0, 1, 2, 3, 4, 5]);
    expect(chooser.key).toBeNull();
    chooser.unpick();
    expect(chooser.nextPartition()).toBe(5);
  });

  it('with keys hashes within the round-robin topic', () => {
    const chooser = new KeyChooser({ ...spec, keys: 'round-robin' }, 0);
    for (let index = 0; index < 12; index++) {
      const partition = chooser.nextPartition();
      const topicIndex = Math.floor((index % 6) / 3);
      expect(chooser.key?.toString()).toBe(String(index));
      const expected = topicIndex * 3 + ((kafkajsMurmur2(chooser.key!) & 0x7fffffff) % 3);
      expect(partition).toBe(expected);
    }
  });
});

describe('SendSchedule', () => {
  it('releases floor(elapsed x rate) + 1 records, each at start + i / rate', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.integer({ min: 0, max: 5_000 }),
      { minLength: 1, maxLength: 20 }), (rate, steps) => {
      const startUs = 1_000_000;
      const schedule = new SendSchedule(startUs, rate);
      let nowUs = startUs;
      for (const step of steps) {
        nowUs += step;
        const due = schedule.due(nowUs, Number.MAX_SAFE_INTEGER);
        for (let index = 0; index < due; index++) {
          expect(schedule.nextScheduledUs(nowUs)).toBeCloseTo(startUs + (schedule.taken * 1_000_000) / rate, 3);
          expect(schedule.nextScheduledUs(nowUs)).toBeLessThanOrEqual(nowUs + 1e-6);
          schedule.taken++;
        }
        expect(schedule.taken).toBe(Math.floor(((nowUs - startUs) * rate) / 1_000_000 + 1e-9) + 1);
      }
    }), { seed, numRuns: 200 });
  });

  it('caps a burst at the limit and is unpaced without a rate', () => {
    const schedule = new SendSchedule(0, 1000);
    expect(schedule.due(10_000_000, 5)).toBe(5);
    const unpaced = new SendSchedule(0, null);
    expect(unpaced.paced).toBe(false);
    expect(unpaced.due(123, 7)).toBe(7);
    expect(unpaced.nextScheduledUs(123)).toBe(123);
  });
});

describe('PartitionTally', () => {
  function values(producer: number, count: number): Buffer[] {
    return Array.from({ length: count }, (_, sequence) => {
      const value = makeValueTemplate(24, 7);
      stampValue(value, 1000 + sequence, producer, sequence);
      return Buffer.from(value);
    });
  }

  it('gives the same checksum whatever the interleaving of producers', () => {
    const a = values(0, 50);
    const b = values(1, 50);
    const sequential = new PartitionTally();
    for (const value of [...a, ...b]) sequential.addRead(value, 0, value.length);
    const interleaved = new PartitionTally();
    for (let index = 0; index < 50; index++) {
      interleaved.addRead(b[index]!, 0, 24);
      interleaved.addRead(a[index]!, 0, 24);
    }
    expect(interleaved.checksum).toBe(sequential.checksum);
    expect(interleaved.records).toBe(100);
    expect(interleaved.outOfOrder).toBe(0);
    expect(sequential.outOfOrder).toBe(0);
  });

  it('counts a gap or a swap of one producer as out of order', () => {
    const a = values(0, 5);
    const tally = new PartitionTally();
    for (const index of [0, 1, 3, 2, 4]) tally.addRead(a[index]!, 0, 24);
    expect(tally.outOfOrder).toBe(3);
    const changed = new PartitionTally();
    const copy = Buffer.from(a[1]!);
    copy[20] = copy[20]! ^ 1;
    changed.add(copy);
    const original = new PartitionTally();
    original.add(a[1]!);
    expect(changed.checksum).not.toBe(original.checksum);
  });
});
