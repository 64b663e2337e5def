/**
 * `x2 bench storage --stores N`: N stores written at once, each by its own x2 process, as the N
 * commits of a cluster on one machine write every entry N times. Why: a cluster with write quorum
 * 2 on one machine puts every byte through the disk and the kernel's write path twice, so its
 * produce rate is bounded by what one of two concurrent stores gets, not by what a store gets alone
 * (BENCHMARKS.md, "Kafka gateway"). Each child runs the ordinary single-store bench with --json;
 * this module starts them together and sums their results.
 * Bounds: at most STORES_MAX children; each child's output is kept up to OUTPUT_BYTES_MAX.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X2Error } from '../base/errors.ts';
import type { StorageBenchResult } from './storage-bench.ts';

export const STORES_MAX = 8;
const OUTPUT_BYTES_MAX = 1024 * 1024;

export type StoresBenchResult = {
  stores: StorageBenchResult[];
  /** Mean of the stores' MB/s: what each of N commits on this machine can store. */
  megabytesPerSecondPerStore: number;
  megabytesPerSecondMin: number;
  megabytesPerSecondTotal: number;
  entriesPerSecondTotal: number;
};

type Command = { file: string; prefix: string[] };

/** Runs one child; resolves with its JSON result, rejects with its exit and the end of its stderr. */
function runChild(command: Command, args: string[], name: string,
  started: ChildProcess[]): Promise<StorageBenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, [...command.prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { if (stdout.length < OUTPUT_BYTES_MAX) stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { if (stderr.length < OUTPUT_BYTES_MAX) stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new X2Error('X2_ERR_IO', `${name}: the store's process exited ${code ?? signal}: ` +
          stderr.trim().split('\n').slice(-3).join(' | ')));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as StorageBenchResult);
      } catch {
        reject(new X2Error('X2_ERR_IO', `${name}: the store's process printed no JSON result`));
      }
    });
  });
}

/** Starts `count` children at once (`argsFor(k)`, k from 1) and sums their results. */
export async function runStoresBench(command: Command, count: number,
  argsFor: (store: number) => string[]): Promise<StoresBenchResult> {
  if (!(Number.isSafeInteger(count) && count >= 1 && count <= STORES_MAX)) {
    throw new X2Error('X2_ERR_USAGE', `--stores: a whole number from 1 to ${STORES_MAX} is allowed (got ${count})`);
  }
  const started: ChildProcess[] = [];
  let stores: StorageBenchResult[];
  try {
    stores = await Promise.all(Array.from({ length: count },
      (_, index) => runChild(command, argsFor(index + 1), `store-${index + 1}`, started)));
  } catch (error) {
    // One store failed: the others' figures would be of a different run, so they stop too.
    for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
    throw error;
  }
  const rates = stores.map((s) => s.megabytesPerSecond);
  const total = rates.reduce((sum, r) => sum + r, 0);
  return {
    stores,
    megabytesPerSecondPerStore: total / count,
    megabytesPerSecondMin: Math.min(...rates),
    megabytesPerSecondTotal: total,
    entriesPerSecondTotal: stores.reduce((sum, s) => sum + s.entriesPerSecond, 0),
  };
}
