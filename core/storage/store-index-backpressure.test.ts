/**
 * Goal: when more entries wait for the index than the store allows, append refuses with the
 * retriable X2_ERR_STORE_BACKPRESSURE, and the documented answer (await sync(), append again)
 * makes progress: sync() waits until the index caught up, so the next append is taken. Before,
 * sync() resolved at once for durable entries and a commit retrying its append spun in microtasks,
 * never letting the index finish (seen as `x2 bench storage` failing on a machine with a slow index).
 * Method: a real store in a temp directory with a small pendingEntriesMax and an index that would
 * otherwise wait 60 s before writing; every entry reads back in order after a reopen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { X2Error } from '../base/errors.ts';
import { Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('Store index backpressure', () => {
  it('refuses appends past pendingEntriesMax, and after sync() takes them again, nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-store-index-bp-'));
    dirs.push(dir);
    const pendingEntriesMax = 50;
    const store = await Store.open({ dir, sync: { kind: 'entry-set' }, pendingEntriesMax, indexLagMsMax: 60_000 });
    const entries = 400;
    let refusals = 0;
    for (let i = 0; i < entries; i++) {
      const batch = syntheticBatch({ baseOffset: i, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1,
        bytes: 100, fill: i });
      const entry = { seq: i + 1, epoch: 1, streamId: 3, baseOffset: i, recordCount: 1, batch };
      try {
        store.append(entry);
      } catch (error) {
        expect(error).toBeInstanceOf(X2Error);
        expect((error as X2Error).code).toBe('X2_ERR_STORE_BACKPRESSURE');
        expect((error as X2Error).retriable).toBe(true);
        refusals += 1;
        await store.sync();
        store.append(entry); // one sync is enough: a second refusal would throw here
      }
    }
    await store.sync();
    await store.close();
    // Every pendingEntriesMax appends the index is full once (the lag timer never fires in time).
    expect(refusals).toBeGreaterThanOrEqual(Math.floor(entries / pendingEntriesMax) - 1);
    const reopened = await Store.open({ dir, sync: { kind: 'entry-set' } });
    const offsets: number[] = [];
    for (const entry of await reopened.readEntries(3, 0, 1 << 20)) offsets.push(entry.baseOffset);
    await reopened.close();
    expect(offsets).toEqual(Array.from({ length: entries }, (_, i) => i));
  });
});
