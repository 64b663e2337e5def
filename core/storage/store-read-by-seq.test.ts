/**
 * Regression: readBySeq from a seq that is already in the LevelDB index while later entries are
 * still pending (not yet indexed) must start at that seq, not at the first pending entry.
 * Method: write entries, close (everything indexed), reopen, append more (pending), then read
 * by seq from the start, from the middle of the indexed part, and from the pending part.
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
