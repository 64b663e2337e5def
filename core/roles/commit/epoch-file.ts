/**
 * The commit's river files in its data folder: `river-data-id` (see readOrCreateDataId) and the
 * record of sequencer epochs, `river-epochs.json`, holding the epoch
 * history ([epoch, first seq] pairs) of the last welcome. It is what makes the epoch survive
 * restarts of every process: a new sequencer takes an epoch above every epoch the commits report.
 * Written atomically (temp file, fsync, rename, fsync of the folder) before the commit says ready.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { X2Error } from '../../base/errors.ts';
import type { EpochHistory } from '../../river/messages.ts';

export const EPOCH_FILE = 'river-epochs.json';
export const DATA_ID_FILE = 'river-data-id';
const FORMAT_VERSION = 1;

export function readEpochHistory(dataDir: string): EpochHistory {
  let text: string;
  try {
    text = readFileSync(join(dataDir, EPOCH_FILE), 'utf8');
  } catch {
    return [];
  }
  const parsed = JSON.parse(text) as { version?: number; history?: EpochHistory };
  if (parsed.version !== FORMAT_VERSION || !Array.isArray(parsed.history)) {
    throw new X2Error('X2_ERR_FORMAT', `${join(dataDir, EPOCH_FILE)}: format version ${String(parsed.version)}, ` +
      `version ${FORMAT_VERSION} is supported`);
  }
  return parsed.history;
}

export function writeEpochHistory(dataDir: string, history: EpochHistory): void {
  const file = join(dataDir, EPOCH_FILE);
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ version: FORMAT_VERSION, history })}\n`);
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, file);
  const dirFd = openSync(dataDir, 'r');
  fsyncSync(dirFd);
  closeSync(dirFd);
}

/** The epoch that wrote `seq` according to `history` (0 when before any epoch). */
export function epochOfSeq(history: EpochHistory, seq: number): number {
  let epoch = 0;
  for (const [candidate, startSeq] of history) if (startSeq <= seq) epoch = candidate;
  return epoch;
}

/**
 * Where a local log whose last entry is (lastSeq, lastEpoch) leaves the authoritative history: the
 * seq to truncate after, or null when the last entry agrees with it. `local` is this commit's own
 * previous history (to find where an epoch unknown to the authority began).
 */
export function divergencePoint(authority: EpochHistory, local: EpochHistory, lastSeq: number,
  lastEpoch: number): number | null {
  if (lastSeq === 0 || epochOfSeq(authority, lastSeq) === lastEpoch) return null;
  const index = authority.findIndex(([epoch]) => epoch === lastEpoch);
  if (index >= 0) {
    // Entries of lastEpoch are valid up to where the authority's next epoch begins.
    const nextStart = authority[index + 1]?.[1];
    return nextStart === undefined ? null : Math.min(lastSeq - 1, nextStart - 1);
  }
  const localStart = local.find(([epoch]) => epoch === lastEpoch)?.[1];
  return Math.max(0, (localStart ?? lastSeq) - 1);
}

/**
 * The identity of a data folder on the river: random, created once (atomically), the same across
 * restarts, so the sequencer can tell a reconnecting commit from a different one with the same name.
 */
export function readOrCreateDataId(dataDir: string): string {
  const file = join(dataDir, DATA_ID_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(existing)) return existing;
  } catch {
    // Not created yet.
  }
  const dataId = randomBytes(16).toString('hex');
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${dataId}\n`);
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, file);
  return dataId;
}
