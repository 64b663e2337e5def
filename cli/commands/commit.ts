/**
 * `x2 commit`: a durable copy of the river (core/roles/commit). This file parses and validates
 * flags, resolves the river driver, starts the role and its /metrics server, and stops cleanly on
 * SIGTERM/SIGINT (sync, close the store).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { parseBytes, parseDurationMs } from '../../core/base/units.ts';
import { createRegistry, serveMetrics } from '../../core/metrics/metrics.ts';
import { startMetricsPublisher } from '../../core/metrics/publisher.ts';
import type { HostPort } from '../../core/river/address.ts';
import { LossGenerator } from '../../core/river/loss-generator.ts';
import { Commit } from '../../core/roles/commit/commit.ts';
import { retentionCheckMsOption } from './gateway.ts';
import { pageCacheKeepBytes, pageCacheKeepOption } from '../store-flags.ts';
import type { SyncPolicy } from '../../core/storage/store.ts';
import { DEFAULT_SEQUENCER, hostPortParser, integerParser, lossParser, resolveRiver, riverOptions,
  type RiverChoice } from '../river-options.ts';

type CommitFlags = {
  sequencer: HostPort; listen: HostPort; data: string; river: RiverChoice; interface?: string; metricsPort: number;
  memberId?: string; sync: SyncPolicy; loss: number; seed?: number;
  retentionMs: number; retentionBytes: number; retentionCheckMs: number; pageCacheKeep: number | 'all';
};

/** Store-wide --retention-ms: -1 (unlimited) or a duration of at least 1 s. */
function parseRetentionMs(value: string): number {
  if (value.trim() === '-1') return -1;
  const ms = parseDurationMs(value, 'ms');
  if (ms === null || !Number.isSafeInteger(ms) || ms < 1000) {
    throw usageError('--retention-ms', value, '-1 (unlimited) or a duration of at least 1s is allowed (e.g. 7d)');
  }
  return ms;
}

/** Store-wide --retention-bytes: -1 (unlimited) or a size of at least 1 MiB. */
function parseRetentionBytes(value: string): number {
  if (value.trim() === '-1') return -1;
  const bytes = parseBytes(value);
  if (bytes === null || !Number.isSafeInteger(bytes) || bytes < 1024 * 1024) {
    throw usageError('--retention-bytes', value, '-1 (unlimited) or a size of at least 1MiB is allowed (e.g. 500GiB)');
  }
  return bytes;
}

function parseDataDir(value: string): string {
  const dir = resolve(value);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw usageError('--data', value,
    'a directory is allowed, this is a file');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw usageError('--data', value,
      `a directory this process can create and write is allowed (${(error as Error).message})`);
  }
  return dir;
}

export function parseSyncPolicy(value: string): SyncPolicy {
  if (value === 'entry-set') return { kind: 'entry-set' };
  const [kind, amount = ''] = value.split(':');
  if (kind === 'interval') {
    const intervalMs = parseDurationMs(amount);
    if (intervalMs !== null && intervalMs >= 1 && intervalMs <= 10_000) return { kind: 'interval', intervalMs };
  }
  if (kind === 'bytes') {
    const bytes = parseBytes(amount);
    if (bytes !== null && bytes >= 4096 && bytes <= 1024 ** 3) return { kind: 'bytes', bytes };
  }
  throw usageError('--sync', value, 'entry-set, interval:<1ms..10s> or bytes:<4KiB..1GiB> is allowed');
}

export function commitCommand(): Command {
  const command = new Command('commit')
    .description('store the river durably, report durable seqs to the sequencer, serve stored entries to peers')
    .addOption(new Option('--sequencer <host:port>', 'the sequencer control address').env('X2_SEQUENCER')
      .argParser(hostPortParser('--sequencer')).default(hostPortParser('--sequencer')(DEFAULT_SEQUENCER),
        DEFAULT_SEQUENCER))
    .addOption(new Option('--listen <host:port>', 'address serving stored entries to peers (port 0 = any free port)')
      .env('X2_LISTEN').argParser(hostPortParser('--listen')).default(hostPortParser('--listen')('127.0.0.1:0'),
        '127.0.0.1:0'))
    .addOption(new Option('--data <dir>', 'data directory (created if missing)').env('X2_DATA').argParser(parseDataDir)
      .makeOptionMandatory())
    .addOption(new Option('--member-id <name>',
      'name of this commit in logs and metrics (default: host and data folder)')
      .env('X2_MEMBER_ID'))
    .addOption(new Option('--sync <policy>',
      'when to sync: entry-set (every append batch, O_DSYNC writes), interval:MS, bytes:SIZE (fdatasync)')
      .env('X2_SYNC').argParser(parseSyncPolicy).default({ kind: 'entry-set' } satisfies SyncPolicy, 'entry-set'))
    .addOption(pageCacheKeepOption())
    .addOption(new Option('--loss <fraction>', 'test/bench: drop this fraction of received river datagrams (seeded)')
      .env('X2_LOSS').argParser(lossParser).default(0))
    .addOption(new Option('--seed <n>', 'seed of the --loss generator (printed; default random)').env('X2_SEED')
      .argParser(integerParser('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--retention-ms <duration>',
      'store-wide: delete the oldest segment once all its entries are older (-1 = unlimited)')
      .env('X2_RETENTION_MS').argParser(parseRetentionMs).default(-1))
    .addOption(new Option('--retention-bytes <size>',
      'store-wide: delete the oldest segments while the store stays at least this big without them (-1 = unlimited)')
      .env('X2_RETENTION_BYTES').argParser(parseRetentionBytes).default(-1))
    .addOption(retentionCheckMsOption('how often whole segments no stream needs any more are deleted'));
  for (const option of riverOptions()) command.addOption(option);
  return command.action(async (flags: CommitFlags) => {
    const memberId = flags.memberId ?? `${hostname()}:${basename(flags.data)}`;
    const log = new Log(`commit ${memberId}`);
    const river = await resolveRiver(flags.river, flags.interface);
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
    const loss = flags.loss > 0 ? new LossGenerator(flags.loss, seed) : null;
    if (loss) log.info(`dropping ${flags.loss} of river datagrams, seed ${seed}`);
    const registry = createRegistry('commit');
    const commit = await Commit.start({
      memberId, sequencer: `${flags.sequencer.host}:${flags.sequencer.port}`, listenHost: flags.listen.host,
      listenPort: flags.listen.port, dataDir: flags.data, river: river.mode, interfaceAddress: river.interfaceAddress,
      sync: flags.sync, pageCacheKeepBytes: pageCacheKeepBytes(flags.pageCacheKeep), loss, log, registry,
      retentionCheckMs: flags.retentionCheckMs,
      retentionMs: flags.retentionMs < 0 ? undefined : flags.retentionMs,
      retentionBytes: flags.retentionBytes < 0 ? undefined : flags.retentionBytes,
    });
    const metrics = await serveMetrics(registry, flags.metricsPort);
    const publisher = startMetricsPublisher({ role: 'commit', nodeId: memberId, river: river.mode, registry,
      sequencer: `${flags.sequencer.host}:${flags.sequencer.port}`,
      state: () => (commit.member.live ? 'live' : 'catching-up') });
    log.info(`serving peers on ${commit.listen}; river ${river.mode} (${river.reason}); data ${flags.data}; ` +
      `holding seq ${commit.store.lastSeq}; metrics on :${metrics.port}/metrics`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    publisher.close();
    await commit.close();
    metrics.server.close();
  });
}
