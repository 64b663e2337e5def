/**
 * StreamLog and TailCache: the per-stream batch index (offset -> batch, bytes from an offset,
 * offsets by time) and the bounded live-tail cache. Method: add batches and check lookups at
 * batch starts, middles and ends, then fill the cache past its bound and check that the oldest
 * batches leave first and every stream's cached view stays consistent.
 */
import { describe, expect, it } from 'vitest';
import { StreamLog, TailCache } from './stream-log.ts';

function logWith(batches: Array<[baseOffset: number, count: number, timestampMs: number]>): StreamLog {
  const log = new StreamLog(1024);
  batches.forEach(([baseOffset, count, timestampMs], i) => log.add(baseOffset, count, i + 1, timestampMs, 100));
  return log;
}

describe('StreamLog', () => {
  it('finds the batch holding an offset and the bytes from it', () => {
    const log = logWith([[0, 3, 10], [3, 2, 20], [5, 5, 30]]);
    expect([0, 2, 3, 4, 5, 9].map((offset) => log.batchAt(offset))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(log.nextOffset).toBe(10);
    expect(log.bytesFrom(4)).toBe(200);
    expect(log.bytesFrom(10)).toBe(0);
    expect(log.seqOf(2)).toBe(3);
    const sized = new StreamLog(1025);
    [70, 5, 300].forEach((bytes, i) => sized.add(i * 2, 2, i + 1, 0, bytes));
    expect([0, 1, 2].map((batchIndex) => sized.batchBytes(batchIndex))).toEqual([70, 5, 300]);
  });

  it('answers offsets by time at batch granularity, from the log start', () => {
    const log = logWith([[0, 3, 10], [3, 2, 20], [5, 5, 30]]);
    expect(log.offsetForTimestamp(15, 0)).toEqual({ offset: 3, timestampMs: 20 });
    expect(log.offsetForTimestamp(5, 4)).toEqual({ offset: 4, timestampMs: 20 });
    expect(log.offsetForTimestamp(31, 0)).toBeNull();
  });
});

describe('TailCache', () => {
  it('evicts the oldest batches first and keeps each stream consistent', () => {
    const streams = new Map([[1, new StreamLog(1)], [2, new StreamLog(2)]]);
    const cache = new TailCache(1000);
    cache.bind((streamId) => streams.get(streamId));
    for (let i = 0; i < 30; i++) {
      const log = streams.get(1 + (i % 2))!;
      const baseOffset = Math.floor(i / 2) * 2;
      cache.add(log, { streamId: log.streamId, seq: i + 1, baseOffset, lastOffset: baseOffset + 1,
        batch: Buffer.alloc(100) });
    }
    expect(cache.bytes).toBeLessThanOrEqual(1000);
    const one = streams.get(1)!;
    expect(one.cachedFrom(0)).toBeNull();
    const from = one.cachedFrom(28);
    expect(from).not.toBeNull();
    expect(one.cache[from!.from]!.baseOffset).toBe(28);
    expect(one.cache.length - one.cacheHead).toBe(5);
  });

  it('keeps each stream array at most about twice its live batches while evicting (dead slots go)', () => {
    const streamCount = 500;
    const streams = new Map<number, StreamLog>();
    for (let id = 0; id < streamCount; id++) streams.set(id, new StreamLog(id));
    const cache = new TailCache(20 * streamCount * 100);
    cache.bind((streamId) => streams.get(streamId));
    const nextOffset = new Array<number>(streamCount).fill(0);
    let seq = 0;
    for (let i = 0; i < 200 * streamCount; i++) {
      const id = (i * 7919) % streamCount;
      const log = streams.get(id)!;
      const baseOffset = nextOffset[id]!;
      nextOffset[id] = baseOffset + 3;
      cache.add(log, { streamId: id, seq: ++seq, baseOffset, lastOffset: baseOffset + 2, batch: Buffer.alloc(100) });
    }
    for (const log of streams.values()) {
      const live = log.cache.length - log.cacheHead;
      expect(live).toBe(20);
      expect(log.cache.length).toBeLessThanOrEqual(2 * live + 16);
      // The live batches are the newest, in offset order, and found by offset.
      expect(log.cache[log.cacheHead]!.baseOffset).toBe(nextOffset[log.streamId]! - 60);
      expect(log.cachedFrom(nextOffset[log.streamId]! - 1)).not.toBeNull();
    }
  });
});
