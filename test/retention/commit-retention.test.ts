/**
 * The commit side of retention on a real store (temp directory, real segment files, real
 * LevelDB), without processes. Method: store a user stream over several small segments, then a
 * `__x2_control` entry carrying a log-start-moved record, hand it to CommitRetention the way the
 * commit does, and check: nothing moves while the entry is not committed; once it is, the store's
 * log start moves, the sealed segments no stream needs any more are deleted, and reads below the
 * log start are OFFSET_OUT_OF_RANGE while the rest reads back; a move above a truncation point is
 * dropped; a malformed control entry is counted and skipped; after a restart (the move noted but
 * never applied) the stored `__x2_control` is re-read and the move applied.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../core/base/log.ts';
import { X2Error } from '../../core/base/errors.ts';
import { encodeControlRecord } from '../../core/control/control-records.ts';
import { CommitRetention, CONTROL_STREAM_ID } from '../../core/roles/commit/retention.ts';
import { buildInternalBatch } from '../../core/roles/gateway/internal-batch.ts';
import { Store } from '../../core/storage/store.ts';
import { syntheticBatch } from '../../core/storage/synthetic-batch.ts';

const USER_STREAM_ID = 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function openStore(existingDir?: string): Promise<{ store: Store; dir: string }> {
  const dir = existingDir ?? mkdtempSync(join(tmpdir(), 'x2-commit-retention-'));
  if (existingDir === undefined) dirs.push(dir);
  return { store: await Store.open({ dir, sync: { kind: 'entry-set' }, segmentBytesMax: 1000 }), dir };
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.seg')).sort();
}

/** Seqs 1..6: six 400-byte batches of the user stream, one record each (offsets 0..5), several segments. */
function appendUserBatches(store: Store): void {
  for (let i = 0; i < 6; i++) {
    store.append({ seq: i + 1, epoch: 1, streamId: USER_STREAM_ID, baseOffset: i, recordCount: 1,
      batch: syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1000 + i, maxTimestampMs: 1000 + i,
        bytes: 400 }) });
  }
}

function controlEntry(seq: number, baseOffset: number, logStartOffset: number) {
  const batch = buildInternalBatch([encodeControlRecord({ kind: 'log-start-moved', streamId: USER_STREAM_ID,
    logStartOffset })]);
  return { seq, epoch: 1, streamId: CONTROL_STREAM_ID, baseOffset, recordCount: 1, batch };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof X2Error) return error.code;
    throw error;
  }
  return 'none';
}

describe('CommitRetention', () => {
  it('applies a committed log start move and deletes the segments no stream needs', async () => {
    const { store, dir } = await openStore();
    let committedSeq = 6;
    const retention = new CommitRetention(store, new Log('test commit'), () => committedSeq);
    appendUserBatches(store);
    const entry = controlEntry(7, 0, 4);
    store.append(entry);
    retention.noteEntry(entry);
    await store.sync();
    const filesBefore = segmentFiles(dir);
    expect(filesBefore.length).toBeGreaterThanOrEqual(3);

    await retention.run(true);
    expect(store.stream(USER_STREAM_ID)?.logStartOffset).toBe(0);
    expect(retention.logStartMovesApplied).toBe(0);

    committedSeq = 7;
    await retention.run(true);
    expect(retention.logStartMovesApplied).toBe(1);
    expect(store.stream(USER_STREAM_ID)?.logStartOffset).toBe(4);
    expect(retention.segmentsDeleted).toBeGreaterThanOrEqual(1);
    expect(segmentFiles(dir).length).toBe(filesBefore.length - retention.segmentsDeleted);
    expect(await codeOf(store.read(USER_STREAM_ID, 0, 1))).toBe('X2_ERR_OFFSET_OUT_OF_RANGE');
    const kept = await store.read(USER_STREAM_ID, 4, 1 << 20);
    expect(kept.length).toBe(2);
    await retention.close();
    await store.close();
  });

  it('drops a move above a truncation point and skips a malformed control entry', async () => {
    const { store } = await openStore();
    const retention = new CommitRetention(store, new Log('test commit'), () => 100);
    appendUserBatches(store);
    const entry = controlEntry(7, 0, 3);
    store.append(entry);
    retention.noteEntry(entry);
    retention.dropAfter(6);
    const garbled = Buffer.from(entry.batch);
    garbled.writeInt32BE(0x7fffffff, 57); // record count beyond the batch
    retention.noteEntry({ ...entry, seq: 8, baseOffset: 1, batch: garbled });
    await retention.run(true);
    expect(retention.logStartMovesApplied).toBe(0);
    expect(store.stream(USER_STREAM_ID)?.logStartOffset).toBe(0);
    expect(retention.malformedRecords).toBe(1);
    await retention.close();
    await store.close();
  });

  it('re-reads the stored __x2_control after a restart and applies a move left unapplied', async () => {
    const { store, dir } = await openStore();
    appendUserBatches(store);
    store.append(controlEntry(7, 0, 5));
    await store.sync();
    await store.close();
    const reopened = (await openStore(dir)).store;
    const retention = new CommitRetention(reopened, new Log('test commit'), () => 0);
    await retention.replayStored();
    await retention.run(false);
    expect(retention.logStartMovesApplied).toBe(1);
    expect(reopened.stream(USER_STREAM_ID)?.logStartOffset).toBe(5);
    await retention.close();
    await reopened.close();
  });
});
