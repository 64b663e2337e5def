/**
 * Regressions of the commit store found by the roles that use it.
 * 1. readBySeq from a seq already in the LevelDB index while later entries are still pending must
 *    start at that seq. Method: write, close (all indexed), reopen, append more (pending), read by
 *    seq from the start, the middle of the indexed part, and the pending part.
 * 2. After truncateAfter drops a tail of a newer epoch, repair may append entries of an older
 *    epoch at the same seqs. Method: write epochs 1 and 3, truncate the epoch-3 tail, append epoch 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function entry(seq: number): { seq: number; epoch: number; streamId: number; baseOffset: number;
  recordCount: number; batch: Buffer } {
  const baseOffset = seq - 1;
  const batch = syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: 1_000 + seq,
    maxTimestampMs: 1_000 + seq, bytes: 200, fill: seq & 0xff });
  return { seq, epoch: 1, streamId: 7, baseOffset, recordCount: 1, batch };
}

describe('Store.readBySeq across the indexed and pending parts', () => {
  it('starts at the requested seq', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-read-by-seq-'));
    dirs.push(dir);
    let store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    for (let seq = 1; seq <= 20; seq++) store.append(entry(seq));
    await store.sync();
    await store.close();
    store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    for (let seq = 21; seq <= 30; seq++) store.append(entry(seq));
    await store.sync();
    for (const fromSeq of [1, 5, 20, 21, 25]) {
      const entries = await store.readBySeq(fromSeq, 1 << 20);
      expect(entries.map((e) => e.seq), `from ${fromSeq}`)
        .toEqual(Array.from({ length: 31 - fromSeq }, (_, i) => fromSeq + i));
    }
    await store.close();
  });
});

describe('Store.truncateAfter across epochs', () => {
  it('accepts entries of an older epoch than the dropped tail had', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-truncate-epoch-'));
    dirs.push(dir);
    const store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    for (let seq = 1; seq <= 5; seq++) store.append({ ...entry(seq), epoch: 1 });
    // A divergent tail written under epoch 3 by a sequencer that never reached a quorum.
    for (let seq = 6; seq <= 8; seq++) store.append({ ...entry(seq), epoch: 3 });
    await store.sync();
    await store.truncateAfter(5);
    // Repair from the head commit brings the quorum's entries of epoch 2 at the same seqs.
    for (let seq = 6; seq <= 8; seq++) store.append({ ...entry(seq), epoch: 2 });
    expect(await store.sync()).toBe(8);
    const entries = await store.readBySeq(1, 1 << 20);
    expect(entries.map((e) => [e.seq, e.epoch]))
      .toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 2], [7, 2], [8, 2]]);
    await store.close();
  });
});
