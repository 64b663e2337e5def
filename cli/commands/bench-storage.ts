/**
 * `x2 bench storage`: drives a commit store in-process (core/bench/storage-bench.ts) and prints
 * entries/s, MB/s, fsyncs/s, open files and index size, optionally with a raw write+fdatasync
 * baseline from the same run and a recovery measurement; with --stores N, N such runs at once in
 * child processes (core/bench/storage-stores.ts). This file validates flags and prints.
 */
import { parseBenchDurationMs } from '../bench-flags.ts';
import { pageCacheKeepBytes, pageCacheKeepOption } from '../store-flags.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { formatBytes, parseBytes, parseDurationMs } from '../../core/base/units.ts';
import { runStorageBench, syncPolicyText, type StorageBenchResult } from '../../core/bench/storage-bench.ts';
import { runStoresBench, STORES_MAX, type StoresBenchResult } from '../../core/bench/storage-stores.ts';
import { selfCommand } from '../../core/up/supervisor.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../core/storage/format.ts';
import { syntheticBatchBytesMin } from '../../core/storage/synthetic-batch.ts';
import { PENDING_ENTRIES_MAX, type SyncPolicy } from '../../core/storage/store.ts';

const STREAMS_MAX = 10_000_000;
const ENTRY_BYTES_MIN = syntheticBatchBytesMin(1);
const ENTRY_BYTES_MAX = 8 * 1024 * 1024 - FRAME_HEADER_BYTES - SEGMENT_HEADER_BYTES;

function parseCount(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(count) || count < min || count > max) {
      throw usageError(flag, value, `a whole number from ${min} to ${max} is allowed`);
    }
    return count;
  };
}

function parseEntryBytes(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === null || bytes < ENTRY_BYTES_MIN || bytes > ENTRY_BYTES_MAX) {
    throw usageError('--entry-bytes', value,
      `a size from ${ENTRY_BYTES_MIN} (a RecordBatch v2 header and one record) to ${ENTRY_BYTES_MAX} bytes ` +
      'is allowed (e.g. 1KiB)');
  }
  return bytes;
}

function parseSegmentBytes(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === null || bytes < 4096 || bytes > 2 ** 40) {
    throw usageError('--segment-bytes-max', value, 'a size from 4KiB to 1TiB is allowed (e.g. 1GiB)');
  }
  return bytes;
}

export function parseSyncPolicy(value: string): SyncPolicy {
  const allowed = 'entry-set, interval:MS (e.g. interval:5) or bytes:SIZE (e.g. bytes:1MiB) is allowed';
  if (value === 'entry-set') return { kind: 'entry-set' };
  const [kind, argument, extra] = value.split(':');
  if (extra !== undefined || argument === undefined) throw usageError('--sync', value, allowed);
  if (kind === 'interval') {
    const intervalMs = parseDurationMs(argument, 'ms');
    if (intervalMs === null || intervalMs < 1 || intervalMs > 60_000) {
      throw usageError('--sync', value, `an interval from 1 to 60000 ms: ${allowed}`);
    }
    return { kind: 'interval', intervalMs };
  }
  if (kind === 'bytes') {
    const bytes = parseBytes(argument);
    if (bytes === null || bytes < 1 || bytes > 2 ** 40) throw usageError('--sync', value,
      `a size of at least 1 byte: ${allowed}`);
    return { kind: 'bytes', bytes };
  }
  throw usageError('--sync', value, allowed);
}

function checkDataDir(value: string): string {
  if (fs.existsSync(value)) {
    if (!fs.statSync(value).isDirectory()) throw usageError('--data', value, 'a directory (new or empty) is required');
    if (fs.readdirSync(value).length > 0) {
      throw usageError('--data', value, 'a new or empty directory is required (the benchmark writes a fresh store)');
    }
  }
  return value;
}

type BenchStorageFlags = {
  data: string; streams: number; entryBytes: number; duration?: number; count?: number; sync: SyncPolicy;
  segmentBytesMax?: number; pageCacheKeep: number | 'all'; baseline?: boolean; recoveryTail?: number; json?: boolean;
  stores: number;
};

const number = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatStorageBench(result: StorageBenchResult): string {
  const lines = [
    `x2 bench storage: ${number(result.streams)} streams, ${result.entryBytes}-byte entries, sync ${result.sync}, ` +
      `${number(result.entries)} entries in ${result.seconds.toFixed(2)} s`,
    `  entries/s       ${number(result.entriesPerSecond)}`,
    `  MB/s            ${number(result.megabytesPerSecond, 1)}`,
    `  fsyncs/s        ${number(result.fsyncsPerSecond, 1)}  (${number(result.entriesPerFsync, 1)} entries per fsync)`,
    `  index waits     ${number(result.indexWaits)}  (appends refused until the index caught up)`,
    `  open files      ${result.openFiles}  (${result.openFilesAtStart} before the store opened)`,
    `  index size      ${formatBytes(result.indexBytes)}`,
    `  segments        ${result.segmentFiles} files, ${formatBytes(result.segmentBytes)}`,
    `  page cache      ${result.pageCacheKeepBytes === null ? 'every page kept'
      : `${formatBytes(result.pageCacheKeepBytes)} kept behind the end`}, ` +
      `${formatBytes(result.pageCacheDroppedBytes)} dropped`,
  ];
  if (result.baseline !== null) {
    const b = result.baseline;
    lines.push(`baseline: raw sequential write + fdatasync every ${number(b.entriesPerFsync)} entries (same bytes)`,
      `  entries/s       ${number(b.entriesPerSecond)}`,
      `  MB/s            ${number(b.megabytesPerSecond, 1)}`,
      `  store/baseline  ${b.ratio.toFixed(3)}`);
  }
  if (result.recovery !== null) {
    const r = result.recovery;
    const runs = r.recoveryRunsMs.map((ms) => number(ms)).join(', ');
    lines.push(`recovery: reopen with ${number(r.tailEntries)} unindexed entries, store ${formatBytes(r.storeBytes)}`,
      `  recovery ms     ${number(r.recoveryMs, 1)}  (median of ${runs})`);
  }
  return `${lines.join('\n')}\n`;
}

export function benchStorageCommand(): Command {
  return new Command('storage')
    .description('drive a commit store in-process: entries/s, MB/s, fsyncs/s, open files, index size')
    .addOption(new Option('--data <dir>', 'where the store is written (new or empty directory; left in place)')
      .makeOptionMandatory().argParser(checkDataDir))
    .addOption(new Option('--streams <n>', 'streams the entries are spread over, round-robin')
      .argParser(parseCount('--streams', 1, STREAMS_MAX)).default(1))
    .addOption(new Option('--entry-bytes <size>', 'bytes of each entry (one Kafka record batch)')
      .argParser(parseEntryBytes).default(1024, '1KiB'))
    .addOption(new Option('--duration <seconds>', 'how long to append (default 10 s unless --count)')
      .argParser(parseBenchDurationMs).conflicts('count'))
    .addOption(new Option('--count <n>', 'append exactly this many entries instead of a duration')
      .argParser(parseCount('--count', 1, 2 ** 40)))
    .addOption(new Option('--sync <policy>', 'entry-set | interval:MS | bytes:SIZE')
      .argParser(parseSyncPolicy).default({ kind: 'entry-set' }, 'entry-set'))
    .addOption(new Option('--segment-bytes-max <size>', 'segment roll size').argParser(parseSegmentBytes))
    .addOption(pageCacheKeepOption())
    .option('--baseline', 'also time a raw sequential write + fdatasync of the same bytes at the same cadence')
    .addOption(new Option('--recovery-tail <entries>', 'then append this many unindexed entries and time the reopen')
      .argParser(parseCount('--recovery-tail', 1, PENDING_ENTRIES_MAX)))
    .addOption(new Option('--stores <n>', 'write this many stores at once, each in its own process (as N commits '
      + 'on one machine store every entry N times)').argParser(parseCount('--stores', 1, STORES_MAX)).default(1))
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: BenchStorageFlags) => {
      if (flags.stores > 1) {
        if (flags.baseline === true) throw usageError('--stores', String(flags.stores), '1 with --baseline is allowed');
        if (flags.recoveryTail !== undefined) {
          throw usageError('--stores', String(flags.stores), '1 with --recovery-tail is allowed');
        }
        fs.mkdirSync(flags.data, { recursive: true });
        const result = await runStoresBench(selfCommand(), flags.stores, (store) => storeArgs(flags, store));
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatStoresBench(result));
        return;
      }
      const result = await runStorageBench({
        dir: flags.data, streams: flags.streams, entryBytes: flags.entryBytes, sync: flags.sync,
        durationMs: flags.count === undefined ? (flags.duration ?? 10_000) : null, count: flags.count ?? null,
        segmentBytesMax: flags.segmentBytesMax ?? null, pageCacheKeepBytes: pageCacheKeepBytes(flags.pageCacheKeep),
        baseline: flags.baseline === true,
        recoveryTailEntries: flags.recoveryTail ?? null,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatStorageBench(result));
    });
}

/** The single-store command line of store `store` (from 1), in DIR/store-K, with this run's flags. */
function storeArgs(flags: BenchStorageFlags, store: number): string[] {
  const args = ['bench', 'storage', '--data', path.join(flags.data, `store-${store}`),
    '--streams', String(flags.streams), '--entry-bytes', String(flags.entryBytes), '--sync', syncPolicyText(flags.sync),
    '--page-cache-keep', flags.pageCacheKeep === 'all' ? 'all' : String(flags.pageCacheKeep), '--json'];
  if (flags.count !== undefined) args.push('--count', String(flags.count));
  else args.push('--duration', `${flags.duration ?? 10_000}ms`);
  if (flags.segmentBytesMax !== undefined) args.push('--segment-bytes-max', String(flags.segmentBytesMax));
  return args;
}

export function formatStoresBench(result: StoresBenchResult): string {
  const first = result.stores[0]!;
  const lines = [
    `x2 bench storage: ${result.stores.length} stores at once, each in its own process, ${number(first.streams)} ` +
      `streams, ${first.entryBytes}-byte entries, sync ${first.sync}`,
    ...result.stores.map((s, index) => `  store-${index + 1}         ${number(s.megabytesPerSecond, 1)} MB/s  ` +
      `${number(s.entriesPerSecond)} entries/s  ${number(s.fsyncsPerSecond, 1)} fsyncs/s  ` +
      `${number(s.indexWaits)} index waits  (${number(s.entries)} entries in ${s.seconds.toFixed(2)} s)`),
    `  MB/s per store  ${number(result.megabytesPerSecondPerStore, 1)}  (mean; slowest ` +
      `${number(result.megabytesPerSecondMin, 1)})`,
    `  MB/s in all     ${number(result.megabytesPerSecondTotal, 1)}  ` +
      `(${number(result.entriesPerSecondTotal)} entries/s)`,
  ];
  return `${lines.join('\n')}\n`;
}
