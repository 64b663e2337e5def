/**
 * Goal: Store.readEntries (a gateway's history read, by stream and offset through the index)
 * returns one stream's batches with the fields they were stored with, whatever other streams
 * lie between them, across the indexed and the pending (not yet indexed) parts.
 * Method: interleave three streams, close (all indexed), reopen and append more (pending), then
 * read stream 2 from several offsets, inside batches too, and compare with what was appended.
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

type Appended = { seq: number; epoch: number; streamId: number; baseOffset: number; recordCount: number;
  batch: Buffer };

describe('Store.readEntries', () => {
  it('reads one stream among others, with seqs and epochs, from indexed and pending parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-read-entries-'));
    dirs.push(dir);
    const appended: Appended[] = [];
    const nextOffsets = new Map<number, number>();
    let seq = 0;
    const appendRound = (store: Store, epoch: number): void => {
      for (const streamId of [1, 2, 3]) {
        seq += 1;
        const recordCount = 1 + (seq % 3);
        const baseOffset = nextOffsets.get(streamId) ?? 0;
        nextOffsets.set(streamId, baseOffset + recordCount);
        const batch = syntheticBatch({ baseOffset, recordCount, baseTimestampMs: 1_000 + seq,
          maxTimestampMs: 1_000 + seq, bytes: 300 + streamId * 1000, fill: seq & 0xff });
        const entry = { seq, epoch, streamId, baseOffset, recordCount, batch };
        appended.push(entry);
        store.append(entry);
      }
    };
    let store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    for (let round = 0; round < 20; round++) appendRound(store, 1);
    await store.sync();
    await store.close();
    store = await Store.open({ dir, sync: { kind: 'entry-set' } });
    for (let round = 0; round < 10; round++) appendRound(store, 2);
    await store.sync();
    const stream2 = appended.filter((entry) => entry.streamId === 2);
    const pick = (entries: Appended[]): unknown[] => entries.map(({ seq: s, epoch, streamId, baseOffset,
      recordCount, batch }) => ({ seq: s, epoch, streamId, baseOffset, recordCount, batch: batch.toString('hex') }));
    for (const batchIndex of [0, 7, 19, 20, 29]) {
      const wanted = stream2[batchIndex]!;
      // From the batch's first offset and from its last: the batch holding the offset comes first.
      for (const offset of [wanted.baseOffset, wanted.baseOffset + wanted.recordCount - 1]) {
        const entries = await store.readEntries(2, offset, 1 << 20);
        expect(pick(entries), `from offset ${offset}`).toEqual(pick(stream2.slice(batchIndex)));
      }
    }
    const few = await store.readEntries(2, 0, 1);
    expect(few.map((entry) => entry.seq)).toEqual([stream2[0]!.seq]); // at least one, within the bytes
    expect(await store.readEntries(2, nextOffsets.get(2)!, 1 << 20)).toEqual([]);
    await expect(store.readEntries(2, nextOffsets.get(2)! + 1, 1 << 20)).rejects.toThrow(/offset out of range/);
    await store.close();
  });
});
