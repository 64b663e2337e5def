/**
 * Goal: the store keeps, finds and drops exactly what a simple in-memory model says, across
 * segment rolls, index lag, reopen, per-stream log starts, retention and truncation.
 * Method: example tests for each operation, then a fast-check property test that runs random
 * operation sequences against both the real store (a temp directory, real files, real
 * LevelDB) and a model (arrays of batches per stream), comparing every read byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { X2Error } from '../base/errors.ts';
import { Store, type StoreOptions } from './store.ts';
import { syntheticBatch, syntheticBatchBytesMin, syntheticRecordTimestampMs } from './synthetic-batch.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'x2-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function batch(baseOffset: number, recordCount: number, maxTimestampMs: number, bytes: number, fill = 0): Buffer {
  return syntheticBatch({ baseOffset, recordCount, baseTimestampMs: maxTimestampMs - 5, maxTimestampMs, bytes, fill });
}

async function errorOf(promise: Promise<unknown>): Promise<X2Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof X2Error) return error;
    throw error;
  }
  throw new Error('expected an X2Error');
}

describe('Store', () => {
  it('appends, syncs, notifies and reads whole batches back', async () => {
    const store = await Store.open({ dir: tempDir(), sync: { kind: 'entry-set' } });
    const seen: number[] = [];
    store.onDurable((seq) => seen.push(seq));
    const batches = [batch(0, 3, 1000, 200), batch(3, 2, 1010, 100), batch(5, 1, 1020, 300)];
    store.append({ seq: 1, epoch: 1, streamId: 7, baseOffset: 0, recordCount: 3, batch: batches[0]! });
    store.append({ seq: 2, epoch: 1, streamId: 9, baseOffset: 0, recordCount: 1, batch: batch(0, 1, 5, 90) });
    store.append({ seq: 3, epoch: 1, streamId: 7, baseOffset: 3, recordCount: 2, batch: batches[1]! });
    store.append({ seq: 4, epoch: 1, streamId: 7, baseOffset: 5, recordCount: 1, batch: batches[2]! });
    expect(store.lastSeq).toBe(4);
    expect(await store.sync()).toBe(4);
    expect(store.durableSeq).toBe(4);
    expect(seen[seen.length - 1]).toBe(4);
    expect(await store.read(7, 4, 1)).toEqual([batches[1]]);
    expect(await store.read(7, 0, 250)).toEqual([batches[0], batches[1]]);
    expect(await store.read(7, 6, 100)).toEqual([]);
    expect(store.stream(7)).toEqual({ logStartOffset: 0, nextOffset: 6, sizeBytes: 600 });
    expect((await errorOf(store.read(7, 7, 10))).code).toBe('X2_ERR_OFFSET_OUT_OF_RANGE');
    expect(await store.offsetForTimestamp(7, 1005)).toBe(3);
    expect(await store.offsetForTimestamp(7, 2000)).toBe(null);
    expect((await store.readBySeq(3, 1)).map((e) => e.seq)).toEqual([3]);
    expect((await store.readBySeq(2, 10_000)).map((e) => [e.seq, e.streamId])).toEqual([[2, 9], [3, 7], [4, 7]]);
    await store.close();
    const reopened = await Store.open({ dir: store === null ? '' : dirs[0]!, sync: { kind: 'entry-set' } });
    expect(reopened.lastSeq).toBe(4);
    expect(reopened.durableSeq).toBe(4);
    expect(await reopened.read(7, 0, 10_000)).toEqual(batches);
    expect([...reopened.streams()].map(([id]) => id).sort()).toEqual([7, 9]);
    await reopened.close();
  });

  it('rolls segments by size and names them by first seq and epoch', async () => {
    const dir = tempDir();
    const store = await Store.open({ dir, sync: { kind: 'entry-set' }, segmentBytesMax: 1000 });
    for (let seq = 1; seq <= 10; seq++) {
      store.append({ seq, epoch: seq > 8 ? 2 : 1, streamId: 1, baseOffset: seq - 1, recordCount: 1,
        batch: batch(seq - 1, 1, seq, 300) });
    }
    await store.sync();
    const names = store.segmentFiles().map((s) => s.file.slice(dir.length + 1));
    expect(names).toEqual([
      '00000000000000000001-1-v1.seg', '00000000000000000003-1-v1.seg', '00000000000000000005-1-v1.seg',
      '00000000000000000007-1-v1.seg', '00000000000000000009-2-v1.seg',
    ]);
    expect((await store.read(1, 0, 100_000)).length).toBe(10);
    await store.close();
  });

  it('moves a stream log start and deletes segments no stream needs, by bytes and by time', async () => {
    const dir = tempDir();
    const options: StoreOptions = { dir, sync: { kind: 'entry-set' }, segmentBytesMax: 1000, retentionBytes: 1400 };
    const store = await Store.open(options);
    for (let seq = 1; seq <= 8; seq++) {
      store.append({ seq, epoch: 1, streamId: seq % 2, baseOffset: Math.floor((seq - 1) / 2), recordCount: 1,
        batch: batch(0, 1, 100 * seq, 300) });
    }
    await store.sync();
    await store.setLogStartOffset(1, 2);
    expect(store.stream(1)).toEqual({ logStartOffset: 2, nextOffset: 4, sizeBytes: 600 });
    expect((await errorOf(store.read(1, 1, 10))).code).toBe('X2_ERR_OFFSET_OUT_OF_RANGE');
    expect(store.segmentFiles().length).toBe(4);
    expect(await store.applyRetention(Date.now())).toEqual({ segmentsDeleted: 2 });
    expect(store.segmentFiles().map((s) => s.firstSeq)).toEqual([5, 7]);
    expect(store.stream(0)).toEqual({ logStartOffset: 2, nextOffset: 4, sizeBytes: 600 });
    expect((await store.read(0, 2, 10_000)).length).toBe(2);
    await store.close();
    const reopened = await Store.open({ ...options, retentionBytes: undefined, retentionMs: 1000 });
    expect(reopened.stream(0)).toEqual({ logStartOffset: 2, nextOffset: 4, sizeBytes: 600 });
    expect(await reopened.applyRetention(650 + 1000)).toEqual({ segmentsDeleted: 1 });
    expect(reopened.stream(1)).toEqual({ logStartOffset: 3, nextOffset: 4, sizeBytes: 300 });
    await reopened.close();
  });

  it('truncates a divergent tail and keeps appending in a new epoch', async () => {
    const dir = tempDir();
    const store = await Store.open({ dir, sync: { kind: 'entry-set' }, segmentBytesMax: 1000 });
    for (let seq = 1; seq <= 9; seq++) {
      store.append({ seq, epoch: 1, streamId: seq <= 6 ? 1 : 2, baseOffset: seq <= 6 ? seq - 1 : seq - 7,
        recordCount: 1,
        batch: batch(0, 1, seq, 300) });
    }
    await store.sync();
    await store.truncateAfter(4);
    expect(store.lastSeq).toBe(4);
    expect(store.stream(1)).toEqual({ logStartOffset: 0, nextOffset: 4, sizeBytes: 1200 });
    expect(store.stream(2)).toBe(null);
    expect(await store.offsetForTimestamp(1, 5)).toBe(null);
    store.append({ seq: 5, epoch: 2, streamId: 1, baseOffset: 4, recordCount: 1, batch: batch(4, 1, 50, 100) });
    await store.sync();
    await store.close();
    const reopened = await Store.open({ dir, sync: { kind: 'entry-set' } });
    expect(reopened.lastSeq).toBe(5);
    expect((await reopened.read(1, 4, 10))[0]).toEqual(batch(4, 1, 50, 100));
    expect((await reopened.readBySeq(1, 100_000)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    await reopened.close();
  });

  it('throws a retriable backpressure error when the write buffer is full, and recovers after sync()', async () => {
    const store = await Store.open({ dir: tempDir(), sync: { kind: 'interval', intervalMs: 60_000 },
      writeBufferBytes: 4096 });
    let seq = 0;
    let error: unknown = null;
    try {
      for (;;) {
        store.append({ seq: seq + 1, epoch: 1, streamId: 1, baseOffset: seq, recordCount: 1, batch: batch(seq, 1, 1,
          500) });
        seq += 1;
      }
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(X2Error);
    expect((error as X2Error).code).toBe('X2_ERR_STORE_BACKPRESSURE');
    expect((error as X2Error).retriable).toBe(true);
    expect(await store.sync()).toBe(seq);
    store.append({ seq: seq + 1, epoch: 1, streamId: 1, baseOffset: seq, recordCount: 1, batch: batch(seq, 1, 1,
      500) });
    expect(await store.sync()).toBe(seq + 1);
    await store.close();
  });

  it('reads any offset of a long unindexed tail (the in-memory chain and its samples)', async () => {
    const store = await Store.open({ dir: tempDir(), sync: { kind: 'entry-set' }, indexing: 'paused' });
    const batches: Buffer[] = [];
    for (let seq = 1; seq <= 1000; seq++) {
      const baseOffset = (seq - 1) * 2;
      batches.push(batch(baseOffset, 2, seq, 100, seq));
      store.append({ seq, epoch: 1, streamId: 3, baseOffset, recordCount: 2, batch: batches[seq - 1]! });
      if (seq % 100 === 0) await store.sync();
    }
    for (const offset of [0, 1, 2, 127, 128, 129, 130, 1000, 1001, 1997, 1998, 1999]) {
      const [first] = await store.read(3, offset, 1);
      expect(first).toEqual(batches[Math.floor(offset / 2)]);
    }
    expect((await store.read(3, 1001, 250)).length).toBe(3);
    expect(await store.read(3, 2000, 1)).toEqual([]);
    await store.close();
  });

  it('syncs under the interval and bytes policies without being asked', async () => {
    for (const sync of [{ kind: 'interval', intervalMs: 20 }, { kind: 'bytes', bytes: 1 << 20 }] as const) {
      const store = await Store.open({ dir: tempDir(), sync });
      const durable = new Promise<number>((resolve) => store.onDurable(resolve));
      store.append({ seq: 1, epoch: 1, streamId: 1, baseOffset: 0, recordCount: 1, batch: batch(0, 1, 1, 100) });
      expect(await durable).toBe(1);
      await store.close();
    }
  });
});

type ModelBatch = { seq: number; baseOffset: number; recordCount: number; maxTimestampMs: number; bytes: Buffer };

/** Record timestamps of batch(): spread from max - 5 to max (synthetic-batch.ts). */
function recordTimestampMs(b: ModelBatch, index: number): number {
  return syntheticRecordTimestampMs({ baseOffset: b.baseOffset, recordCount: b.recordCount,
    baseTimestampMs: b.maxTimestampMs - 5, maxTimestampMs: b.maxTimestampMs, bytes: b.bytes.length }, index);
}
type ModelStream = { logStart: number; batches: ModelBatch[] };

class Model {
  streams = new Map<number, ModelStream>();
  lastSeq = 0;

  next(streamId: number): number {
    const stream = this.streams.get(streamId);
    const last = stream?.batches[stream.batches.length - 1];
    return last === undefined ? (stream?.logStart ?? 0) : last.baseOffset + last.recordCount;
  }

  read(streamId: number, offset: number, maxBytes: number): Buffer[] | 'range' {
    const stream = this.streams.get(streamId);
    if (stream === undefined || offset < stream.logStart || offset > this.next(streamId)) return 'range';
    const out: Buffer[] = [];
    let bytes = 0;
    for (const b of stream.batches) {
      if (b.baseOffset + b.recordCount <= offset) continue;
      if (out.length > 0 && bytes >= maxBytes) break;
      out.push(b.bytes);
      bytes += b.bytes.length;
    }
    return out;
  }

  offsetForTimestamp(streamId: number, timestampMs: number): number | null {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return null;
    for (const b of stream.batches) {
      if (b.baseOffset + b.recordCount <= stream.logStart) continue;
      if (b.maxTimestampMs < timestampMs) continue;
      for (let i = 0; i < b.recordCount; i++) {
        if (b.baseOffset + i >= stream.logStart && recordTimestampMs(b, i) >= timestampMs) return b.baseOffset + i;
      }
    }
    return null;
  }

  truncateAfter(seq: number): void {
    for (const [streamId, stream] of this.streams) {
      const kept = stream.batches.filter((b) => b.seq <= seq);
      if (kept.length === stream.batches.length) continue;
      stream.batches = kept;
      if (!kept.some((b) => b.baseOffset + b.recordCount > stream.logStart)) this.streams.delete(streamId);
      else stream.logStart = Math.min(stream.logStart, this.next(streamId));
    }
    this.lastSeq = Math.min(this.lastSeq, seq);
  }
}

const operation = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), streamId: fc.integer({ min: 1, max: 4 }),
    recordCount: fc.integer({ min: 1, max: 5 }), timestampMs: fc.integer({ min: 0, max: 1000 }),
    bytes: fc.integer({ min: syntheticBatchBytesMin(5), max: 700 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), streamId: fc.integer({ min: 1, max: 4 }),
    offsetFraction: fc.double({ min: 0, max: 1.2, noNaN: true }), maxBytes: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('time' as const), streamId: fc.integer({ min: 1, max: 4 }),
    timestampMs: fc.integer({ min: -10, max: 1100 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const)}) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('logStart' as const), streamId: fc.integer({ min: 1, max: 4 }),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retention' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bySeq' as const), back: fc.integer({ min: 0, max: 20 }),
    maxBytes: fc.integer({ min: 1, max: 4000 }) }) },
);

describe('Store against a model (property)', () => {
  it('every operation agrees with the model', async () => {
    const seed = testSeed('store model property');
    // indexLagMsMax 0 indexes after every sync, 1000 keeps most entries in the in-memory tail.
    const lags = fc.constantFrom(0, 2, 1000);
    await fc.assert(fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 60 }), lags, async (operations,
      lag) => {
      const options: StoreOptions = { dir: tempDir(), sync: { kind: 'entry-set' }, segmentBytesMax: 2048,
        retentionBytes: 4096, indexLagMsMax: lag };
      let store = await Store.open(options);
      const model = new Model();
      try {
        for (const op of operations) {
          const reopened = await step(op, store, model, options);
          if (reopened) store = reopened;
        }
        await checkAll(store, model);
      } finally {
        await store.close();
      }
    }), { seed, numRuns: 100 });

    async function step(op: Operation, store: Store, model: Model, options: StoreOptions): Promise<Store | null> {
      switch (op.kind) {
        case 'append': {
          const seq = model.lastSeq + 1;
          const baseOffset = model.next(op.streamId);
          const bytes = batch(baseOffset, op.recordCount, op.timestampMs, op.bytes, seq);
          store.append({ seq, epoch: 1, streamId: op.streamId, baseOffset, recordCount: op.recordCount, batch: bytes });
          model.lastSeq = seq;
          let stream = model.streams.get(op.streamId);
          if (stream === undefined) model.streams.set(op.streamId, (stream = { logStart: baseOffset, batches: [] }));
          stream.batches.push({ seq, baseOffset, recordCount: op.recordCount, maxTimestampMs: op.timestampMs, bytes });
          return null;
        }
        case 'read': {
          const next = model.next(op.streamId);
          const offset = Math.floor(next * op.offsetFraction);
          const expected = model.read(op.streamId, offset, op.maxBytes);
          if (expected === 'range') expect((await errorOf(store.read(op.streamId, offset,
            op.maxBytes))).code).toBe('X2_ERR_OFFSET_OUT_OF_RANGE');
          else expect(await store.read(op.streamId, offset, op.maxBytes)).toEqual(expected);
          return null;
        }
        case 'time':
          expect(await store.offsetForTimestamp(op.streamId,
            op.timestampMs)).toBe(model.offsetForTimestamp(op.streamId, op.timestampMs));
          return null;
        case 'sync':
          expect(await store.sync()).toBe(model.lastSeq);
          return null;
        case 'logStart': {
          const stream = model.streams.get(op.streamId);
          if (stream === undefined) return null;
          const offset = Math.floor(stream.logStart + (model.next(op.streamId) - stream.logStart) * op.fraction);
          await store.setLogStartOffset(op.streamId, offset);
          stream.logStart = Math.max(stream.logStart, offset);
          return null;
        }
        case 'reopen':
          await store.close();
        {
          const reopened = await Store.open(options);
          await checkAll(reopened, model);
          return reopened;
        }
        case 'truncate': {
          const seq = Math.max(0, model.lastSeq - op.back);
          await store.truncateAfter(seq);
          model.truncateAfter(seq);
          expect(store.lastSeq).toBe(model.lastSeq);
          return null;
        }
        case 'retention': {
          await store.applyRetention(Date.now());
          for (const [streamId, info] of store.streams()) {
            const stream = model.streams.get(streamId);
            expect(stream).toBeDefined();
            expect(info.logStartOffset).toBeGreaterThanOrEqual(stream!.logStart);
            expect(info.logStartOffset).toBeLessThanOrEqual(model.next(streamId));
            stream!.logStart = info.logStartOffset;
          }
          return null;
        }
        case 'bySeq': {
          // Exactly the next entries in seq order from fromSeq (or from the oldest retained segment).
          const fromSeq = Math.max(1, model.lastSeq - op.back);
          const entries = await store.readBySeq(fromSeq, op.maxBytes);
          const retainedSeq = store.segmentFiles()[0]?.firstSeq ?? 1;
          const expected = [...model.streams.entries()]
            .flatMap(([streamId, s]) => s.batches.map((b) => ({ streamId, ...b })))
            .filter((b) => b.seq >= Math.max(fromSeq, retainedSeq))
            .sort((x, y) => x.seq - y.seq);
          if (expected.length > 0) expect(entries.length).toBeGreaterThan(0);
          expect(entries.map((e) => e.seq)).toEqual(expected.slice(0, entries.length).map((b) => b.seq));
          entries.forEach((entry, i) => {
            expect(entry.batch).toEqual(expected[i]?.bytes);
            expect(entry.streamId).toBe(expected[i]?.streamId);
          });
          return null;
        }
      }
    }

    async function checkAll(store: Store, model: Model): Promise<void> {
      expect(await store.sync()).toBe(model.lastSeq);
      const ids = [...store.streams()].map(([id]) => id).sort();
      expect(ids).toEqual([...model.streams.keys()].sort());
      for (const [streamId, stream] of model.streams) {
        const info = store.stream(streamId)!;
        expect(info.logStartOffset).toBe(stream.logStart);
        expect(info.nextOffset).toBe(model.next(streamId));
        const sizeBytes = stream.batches.filter((b) => b.baseOffset + b.recordCount > stream.logStart)
          .reduce((sum, b) => sum + b.bytes.length, 0);
        expect(info.sizeBytes).toBe(sizeBytes);
        expect(await store.read(streamId, stream.logStart, 1 << 30)).toEqual(model.read(streamId, stream.logStart,
          1 << 30));
      }
    }
  });
});

type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;
