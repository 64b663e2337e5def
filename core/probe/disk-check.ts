/**
 * The data directory check of `x2 probe --data DIR`: file system type and mount (from
 * /proc/self/mountinfo, statfs magic as fallback), space (statfs), and the latency of
 * fdatasync after a small append, measured over a short burst in DIR itself, because group
 * commit waits on exactly that call. The commit role will validate its --data the same way
 * (dataDirProblem). Bounds: at most FDATASYNC_COUNT_MAX syncs, none started after
 * FDATASYNC_BUDGET_MS; one temp file of at most FDATASYNC_COUNT_MAX x FDATASYNC_WRITE_BYTES,
 * removed before returning.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X2Error } from '../base/errors.ts';
import type { DataReport, FdatasyncReport } from './report.ts';
import { readText } from './sysfs.ts';

export const FDATASYNC_COUNT_MAX = 100;
export const FDATASYNC_BUDGET_MS = 1000;
export const FDATASYNC_WRITE_BYTES = 4096;

/** What is wrong with `dir` as a data directory, or null when it is usable. */
export function dataDirProblem(dir: string): string | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'it does not exist';
    return `it cannot be read (${code ?? String(error)})`;
  }
  if (!stat.isDirectory()) return 'it is not a directory';
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return 'it is on a read-only file system (EROFS)';
    return `it is not writable by this process (${code})`;
  }
  return null;
}

/** statfs f_type values of file systems a data directory is likely to sit on. */
const FILESYSTEM_MAGIC: Record<number, string> = {
  0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs',
  0x794c7630: 'overlay', 0x2fc12fc1: 'zfs', 0xf2f52010: 'f2fs', 0x6969: 'nfs',
  0x01021997: '9p', 0x65735546: 'fuse',
};

type Mount = { mountPoint: string; filesystem: string; device: string };

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount that holds `realDir`: the longest mount point that is a prefix of it (last wins). */
export function mountOf(realDir: string, mountinfo: string): Mount | null {
  let best: Mount | null = null;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = unescapeMount(left.split(' ')[4] ?? '');
    const [filesystem, device] = right.split(' ');
    const inside = realDir === mountPoint || realDir.startsWith(mountPoint === '/' ? '/' : `${mountPoint}/`);
    if (!inside || !filesystem) continue;
    if (!best || mountPoint.length >= best.mountPoint.length) {
      best = { mountPoint, filesystem, device: unescapeMount(device ?? '') };
    }
  }
  return best;
}

function percentile(sortedMs: number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] ?? 0;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/**
 * Appends FDATASYNC_WRITE_BYTES and fdatasyncs, repeatedly, in a temp file in `dir`: at most
 * `limits.countMax` syncs, none started after `limits.budgetMs` (the probe's defaults are small;
 * a benchmark baseline asks for enough samples to make a p99).
 */
export function measureFdatasync(dir: string,
  limits: { countMax: number; budgetMs: number } = { countMax: FDATASYNC_COUNT_MAX, budgetMs: FDATASYNC_BUDGET_MS },
): FdatasyncReport {
  const file = path.join(dir, `.x2-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`);
  const block = Buffer.alloc(FDATASYNC_WRITE_BYTES, 0x78);
  const samplesMs: number[] = [];
  const fd = fs.openSync(file, 'wx', 0o600);
  const startMs = performance.now();
  try {
    while (samplesMs.length < limits.countMax) {
      fs.writeSync(fd, block, 0, block.length, samplesMs.length * block.length);
      const syncStartMs = performance.now();
      fs.fdatasyncSync(fd);
      samplesMs.push(performance.now() - syncStartMs);
      // A slow disk gets fewer samples rather than a longer probe: the budget bounds the burst.
      if (performance.now() - startMs > limits.budgetMs) break;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const totalMs = performance.now() - startMs;
  samplesMs.sort((a, b) => a - b);
  return {
    count: samplesMs.length,
    writeBytes: FDATASYNC_WRITE_BYTES,
    p50Ms: round3(percentile(samplesMs, 0.5)),
    p99Ms: round3(percentile(samplesMs, 0.99)),
    maxMs: round3(samplesMs[samplesMs.length - 1] ?? 0),
    totalMs: round3(totalMs),
  };
}

/** Throws X2_ERR_IO when the directory fails under the probe (vanished, EIO, ENOSPC). */
export function probeData(dir: string, procRoot = '/proc'): DataReport {
  try {
    return probeDataUnchecked(dir, procRoot);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new X2Error('X2_ERR_IO', `data directory ${dir}: the probe failed (${code})`, { cause: error });
  }
}

function probeDataUnchecked(dir: string, procRoot: string): DataReport {
  const realDir = fs.realpathSync(dir);
  const mount = mountOf(realDir, readText(path.join(procRoot, 'self/mountinfo')) ?? '');
  const statfs = fs.statfsSync(realDir);
  return {
    path: realDir,
    filesystem: mount?.filesystem ?? FILESYSTEM_MAGIC[statfs.type] ?? null,
    mountPoint: mount?.mountPoint ?? null,
    device: mount?.device ?? null,
    totalBytes: statfs.blocks * statfs.bsize,
    freeBytes: statfs.bfree * statfs.bsize,
    availableBytes: statfs.bavail * statfs.bsize,
    fdatasync: measureFdatasync(realDir),
  };
}
