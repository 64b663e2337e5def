/**
 * Goal: damaged bytes are never served. A flipped bit in a stored entry makes reads of it fail
 * with X2_ERR_SEGMENT_CRC (logged and counted) while the rest stays readable; a torn tail is
 * cut on reopen; a bad frame followed by good ones (corruption, not a torn write) and unknown
 * formats stop the open with a clear error instead of being "repaired".
 * Method: write a store, close it, edit its segment files directly (flip one bit, append half a
 * frame, rename a file to another version), reopen and read through the public API.
 */
import { appendFileSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync, writeSync,
  closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { X2Error } from '../base/errors.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './format.ts';
import { Store, type StoreOptions } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function options(extra: Partial<StoreOptions> = {}): StoreOptions {
  const dir = mkdtempSync(join(tmpdir(), 'x2-corrupt-'));
  dirs.push(dir);
  return { dir, sync: { kind: 'entry-set' }, segmentBytesMax: 4096, ...extra };
}

const BATCH_BYTES = 300;

/** 20 entries over 2 streams; with 4 KiB segments they span two segments. */
async function writeStore(opts: StoreOptions): Promise<Buffer[]> {
  const store = await Store.open(opts);
  const batches: Buffer[] = [];
  for (let seq = 1; seq <= 20; seq++) {
    const streamId = seq % 2;
    const baseOffset = Math.floor((seq - 1) / 2);
    const batch = syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: seq, maxTimestampMs: seq,
      bytes: BATCH_BYTES, fill: seq });
    batches.push(batch);
    store.append({ seq, epoch: 1, streamId, baseOffset, recordCount: 1, batch });
  }
  await store.sync();
  expect(store.segmentFiles().length).toBe(2);
  await store.close();
  return batches;
}

function flipBit(file: string, position: number): void {
  const fd = openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, position);
  byte[0] = byte[0]! ^ 0x10;
  writeSync(fd, byte, 0, 1, position);
  closeSync(fd);
}

/** File position of the frame of the n-th entry (1-based) of a segment of equal-size frames. */
function framePosition(n: number): number {
  return SEGMENT_HEADER_BYTES + (n - 1) * (FRAME_HEADER_BYTES + BATCH_BYTES);
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

describe('store corruption', () => {
  it('never serves an entry with a flipped bit, counts it, and serves the others', async () => {
    const opts = options();
    const batches = await writeStore(opts);
    let store = await Store.open(opts);
    const [first] = store.segmentFiles();
    // Entry seq 3 is the third frame of the first segment: stream 1, offset 1. Flip a payload bit.
    flipBit(first!.file, framePosition(3) + FRAME_HEADER_BYTES + 100);
    const error = await errorOf(store.read(1, 1, 1));
    expect(error.code).toBe('X2_ERR_SEGMENT_CRC');
    expect(error.message).toContain(first!.file);
    expect(error.message).toContain('seq 3');
    expect(store.metrics.corruptEntriesDetected).toBe(1);
    expect((await errorOf(store.read(1, 0, 1 << 20))).code).toBe('X2_ERR_SEGMENT_CRC');
    expect((await errorOf(store.readBySeq(2, 1 << 20))).code).toBe('X2_ERR_SEGMENT_CRC');
    expect(await store.read(1, 0, 1)).toEqual([batches[0]]);
    expect(await store.read(0, 0, 1 << 20)).toEqual(batches.filter((_, i) => (i + 1) % 2 === 0));
    expect(await store.read(1, 2, 1 << 20)).toEqual(batches.filter((_, i) => (i + 1) % 2 === 1).slice(2));
    await store.close();
    store = await Store.open(opts);
    expect((await errorOf(store.read(1, 1, 1))).code).toBe('X2_ERR_SEGMENT_CRC');
    await store.close();
  });

  it('detects a flipped bit in the frame header too (seq, stream, offset are covered)', async () => {
    const opts = options();
    await writeStore(opts);
    const store = await Store.open(opts);
    flipBit(store.segmentFiles()[0]!.file, framePosition(2) + 9);
    expect((await errorOf(store.read(0, 0, 1))).code).toBe('X2_ERR_SEGMENT_CRC');
    await store.close();
  });

  it('cuts a torn tail (a frame cut short) on reopen and keeps appending', async () => {
    const opts = options();
    const batches = await writeStore(opts);
    let store = await Store.open(opts);
    const last = store.segmentFiles()[1]!;
    await store.close();
    const sizeBytes = statSync(last.file).size;
    const frame = Buffer.alloc(FRAME_HEADER_BYTES + BATCH_BYTES);
    frame.writeUInt32BE(frame.length, 0);
    appendFileSync(last.file, frame.subarray(0, 77));
    store = await Store.open(opts);
    expect(statSync(last.file).size).toBe(sizeBytes);
    expect(store.lastSeq).toBe(20);
    const batch = syntheticBatch({ baseOffset: 10, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1, bytes: 100 });
    store.append({ seq: 21, epoch: 1, streamId: 1, baseOffset: 10, recordCount: 1, batch });
    await store.sync();
    expect(await store.read(1, 9, 1 << 20)).toEqual([batches[18], batch]);
    await store.close();
  });

  it('refuses to open when a bad entry in the unindexed tail is followed by good ones', async () => {
    const opts = options({ indexing: 'paused' });
    await writeStore(opts);
    const paused = await Store.open(opts);
    const tailFile = paused.segmentFiles()[1]!.file;
    await paused.close();
    flipBit(tailFile, framePosition(2) + FRAME_HEADER_BYTES + 5);
    const sizeBytes = statSync(tailFile).size;
    const error = await errorOf(Store.open({ ...opts, indexing: 'background' }));
    expect(error.code).toBe('X2_ERR_SEGMENT_CRC');
    expect(error.message).toContain('corruption, not a torn tail');
    expect(error.message).toContain(tailFile);
    expect(statSync(tailFile).size).toBe(sizeBytes);
  });

  it('stops with X2_ERR_FORMAT on a segment of an unknown format version', async () => {
    const opts = options();
    await writeStore(opts);
    const store = await Store.open(opts);
    const first = store.segmentFiles()[0]!.file;
    await store.close();
    renameSync(first, first.replace('-v1.seg', '-v9.seg'));
    const error = await errorOf(Store.open(opts));
    expect(error.code).toBe('X2_ERR_FORMAT');
    expect(error.message).toMatch(/unknown segment format version \(got 9\), supported: 1/);
  });
});
