/**
 * A store directory held by one process cannot be opened by another: the second open fails with
 * X2_ERR_IO naming the directory and saying it is in use, and the first store keeps working.
 * Method: open one Store, then a second on the same directory in the same process (LevelDB's
 * lock is per open handle), check the error, append and sync through the first.
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

describe('a store in use', () => {
  it('refuses a second open with a clear X2_ERR_IO', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-in-use-'));
    dirs.push(dir);
    const first = await Store.open({ dir, sync: { kind: 'entry-set' } });
    const error = await Store.open({ dir, sync: { kind: 'entry-set' } }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(X2Error);
    expect((error as X2Error).code).toBe('X2_ERR_IO');
    expect((error as X2Error).message).toMatch(/in use by another process/);
    const batch = syntheticBatch({ baseOffset: 0, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1, bytes: 100 });
    first.append({ seq: 1, epoch: 1, streamId: 5, baseOffset: 0, recordCount: 1, batch });
    expect(await first.sync()).toBe(1);
    await first.close();
  });
});
