/**
 * Goal: `runStoresBench` sums what its children report, and when one child fails it names that
 * store and its last error lines, and stops the others (their figures would be of another run).
 * Method: /bin/sh children standing in for `x2 bench storage --json` (the real command is covered
 * by test/storage/bench-storage.test.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStoresBench } from './storage-stores.ts';

const sh = { file: '/bin/sh', prefix: ['-c'] };
const result = (mbps: number): string => JSON.stringify({ megabytesPerSecond: mbps, entriesPerSecond: mbps * 1000 });

describe('runStoresBench', () => {
  it('sums the stores', async () => {
    const summed = await runStoresBench(sh, 3, (store) => [`echo '${result(store * 100)}'`]);
    expect(summed.stores.map((s) => s.megabytesPerSecond)).toEqual([100, 200, 300]);
    expect(summed.megabytesPerSecondTotal).toBe(600);
    expect(summed.megabytesPerSecondPerStore).toBe(200);
    expect(summed.megabytesPerSecondMin).toBe(100);
    expect(summed.entriesPerSecondTotal).toBe(600_000);
  });

  it('names a failed store and stops the others', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'x2-stores-')), 'store-1-finished');
    const run = runStoresBench(sh, 2, (store) => [store === 2
      ? 'sleep 0.2; echo "x2: store: the disk is gone [X2_ERR_IO]" >&2; exit 74'
      : `sleep 2 && touch ${marker}; echo '${result(1)}'`]);
    await expect(run).rejects.toThrow(/store-2: the store's process exited 74: x2: store: the disk is gone/);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(existsSync(marker), 'store-1 was stopped before it finished').toBe(false);
    rmSync(dirname(marker), { recursive: true, force: true });
  });

  it('reports a child that prints no JSON', async () => {
    await expect(runStoresBench(sh, 2, () => ['echo not json'])).rejects.toThrow(/printed no JSON result/);
  });

  it('refuses a count outside 1..8', async () => {
    await expect(runStoresBench(sh, 9, () => ['true'])).rejects.toThrow(/--stores: a whole number from 1 to 8/);
  });
});
