/**
 * `x2 bench produce|consume|e2e`: OpenMessaging-Benchmark-style workloads against x2 (any
 * Kafka-compatible broker), NATS JetStream or Redis Streams. This file parses and checks the
 * flags, picks the target from the URL, shows live progress on stderr (one updating line on a
 * TTY, a plain line per second otherwise) and prints the summary or one JSON object on stdout.
 * A kafka target speaks TLS with --tls-ca (and/or --tls-cert/--tls-key for a client certificate),
 * and authenticates with SASL given --sasl-username and a password (X2_SASL_PASSWORD).
 * The workload itself runs in core/bench/workload-runner.ts.
 */
import { parseBenchDurationMs } from '../bench-flags.ts';
import { clientTlsFrom, tlsClientOptions, type TlsClientFlags } from '../tls-options.ts';
import { clientSaslFrom, saslClientOptions, type SaslClientFlags } from '../sasl-options.ts';
import { Command, Option } from 'commander';
import { usageError, X2Error } from '../../core/base/errors.ts';
import { formatBytes, parseBytes } from '../../core/base/units.ts';
import type { LatencySummary } from '../../core/bench/latency.ts';
import type { SubscriberFigures } from '../../core/bench/subscriber-receipts.ts';
import { KAFKA_LIMITS, KafkaTarget } from '../../core/bench/targets/kafka.ts';
import { NatsTarget } from '../../core/bench/targets/nats.ts';
import { RedisTarget } from '../../core/bench/targets/redis.ts';
import type { Target } from '../../core/bench/targets/target.ts';
import {
  runWorkload, type ProgressSnapshot, type WorkloadMode, type WorkloadResult,
} from '../../core/bench/workload-runner.ts';
import {
  KEY_MODES, MESSAGE_BYTES_MAX, PRODUCERS_MAX, VALUE_HEADER_BYTES, type Acks, type Compression, type KeyMode,
  type WorkloadSpec,
} from '../../core/bench/workload.ts';

const TOPICS_MAX = 100_000;
const PARTITIONS_MAX = 10_000;
const CONSUMERS_MAX = 1_000;
/** Each subscriber past the first keeps its own e2e histogram (~200 KB) and connections. */
const SUBSCRIBERS_MAX = 100;
/** Each subscriber keeps a tally per partition: subscribers x partitions is capped like partitions alone. */
const TALLIES_MAX = 1_000_000;
const RATE_MAX = 100_000_000;
/** Smallest --batch-bytes: a batch header (61 bytes) and a few small records. */
const BATCH_BYTES_MIN = 1024;
const TARGET_ALLOWED = 'kafka://HOST:PORT, nats://HOST:PORT or redis://HOST:PORT is allowed';

export type TargetAddress = { kind: 'kafka' | 'nats' | 'redis'; host: string; port: number; url: string };

export function parseTarget(value: string): TargetAddress {
  const match = /^(kafka|nats|redis):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(value);
  if (match === null) throw usageError('--target', value, TARGET_ALLOWED);
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) throw usageError('--target', value, `a port from 1 to 65535: ${TARGET_ALLOWED}`);
  const host = match[2]!.replace(/^\[|\]$/g, '');
  return { kind: match[1] as TargetAddress['kind'], host, port, url: value };
}

function parseCount(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(count) || count < min || count > max) {
      throw usageError(flag, value, `a whole number from ${min} to ${max} is allowed`);
    }
    return count;
  };
}

function parseMessageBytes(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === null || !Number.isSafeInteger(bytes) || bytes < VALUE_HEADER_BYTES || bytes > MESSAGE_BYTES_MAX) {
    throw usageError('--message-bytes', value, `a size from ${VALUE_HEADER_BYTES} bytes (send time and sequence) ` +
      'to 1MiB is allowed (e.g. 100, 1KiB)');
  }
  return bytes;
}

function parseBatchBytes(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === null || !Number.isSafeInteger(bytes) || bytes < BATCH_BYTES_MIN || bytes > KAFKA_LIMITS.batchBytesMax) {
    throw usageError('--batch-bytes', value, 'a size from 1KiB to 1MiB is allowed (e.g. 16KiB)');
  }
  return bytes;
}

function parseRate(value: string): number | null {
  if (value === 'max') return null;
  const rate = Number(value);
  if (!/^\d+$/.test(value) || rate < 1 || rate > RATE_MAX) {
    throw usageError('--rate', value, `records per second from 1 to ${RATE_MAX}, or max, is allowed`);
  }
  return rate;
}

function parseAcks(value: string): Acks {
  if (value === '0') return 0;
  if (value === '1') return 1;
  if (value === 'all' || value === '-1') return -1;
  throw usageError('--acks', value, '0, 1 or all is allowed');
}

function parseKeys(value: string): KeyMode {
  if ((KEY_MODES as readonly string[]).includes(value)) return value as KeyMode;
  throw usageError('--keys', value, `${KEY_MODES.join(', ')} is allowed`);
}

function parseCompression(value: string): Compression {
  if (value === 'none' || value === 'gzip' || value === 'zstd') return value;
  if (value === 'snappy' || value === 'lz4') {
    throw usageError('--compression', value, 'none, gzip or zstd is allowed (snappy and lz4 need codecs this build ' +
      'does not carry)');
  }
  throw usageError('--compression', value, 'none, gzip or zstd is allowed');
}

function parseTopicPrefix(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) {
    throw usageError('--topic-prefix', value, 'letters, digits, _ and -, 1 to 200 characters, are allowed');
  }
  return value;
}

type WorkloadFlags = {
  target: TargetAddress; topics: number; partitions: number; producers?: number; consumers?: number;
  subscribers?: number; messageBytes?: number; rate?: number | null; duration?: number; acks?: Acks; keys?: KeyMode;
  compression?: Compression; batchBytes?: number; topicPrefix: string; json?: boolean;
} & TlsClientFlags & SaslClientFlags;

/** Cross-flag checks the single-flag parsers cannot make. */
export function checkFlags(mode: WorkloadMode, flags: WorkloadFlags): void {
  const kind = flags.target.kind;
  if (kind !== 'kafka' && flags.compression !== undefined && flags.compression !== 'none') {
    throw usageError('--compression', flags.compression,
      `none is allowed with a ${kind} target (gzip and zstd are Kafka record-batch codecs)`);
  }
  if (kind !== 'kafka' && flags.batchBytes !== undefined) {
    throw usageError('--batch-bytes', String(flags.batchBytes),
      `only a kafka target takes it (a ${kind} target has no record batches)`);
  }
  const tlsFlag = flags.tlsCa !== undefined ? '--tls-ca' : flags.tlsCert !== undefined ? '--tls-cert'
    : flags.tlsKey !== undefined ? '--tls-key' : null;
  if (kind !== 'kafka' && tlsFlag !== null) {
    throw usageError(tlsFlag, flags.tlsCa ?? flags.tlsCert ?? flags.tlsKey ?? '',
      `only a kafka target takes it (TLS to ${kind} is not wired into the bench)`);
  }
  const saslFlag = flags.saslUsername !== undefined ? '--sasl-username'
    : flags.saslMechanism !== undefined ? '--sasl-mechanism' : null;
  if (kind !== 'kafka' && saslFlag !== null) {
    throw usageError(saslFlag, flags.saslUsername ?? flags.saslMechanism ?? '',
      `only a kafka target takes it (SASL to ${kind} is not wired into the bench)`);
  }
  if (kind === 'redis' && flags.acks === 0) {
    throw usageError('--acks', '0', '1 or all is allowed with a redis target (every XADD is answered)');
  }
  if (flags.topics * flags.partitions > 1_000_000) {
    throw usageError('--partitions', String(flags.partitions),
      `at most 1000000 partitions in all (--topics ${flags.topics} x --partitions ${flags.partitions}) are allowed`);
  }
  const subscribers = flags.subscribers ?? 1;
  if (subscribers * flags.topics * flags.partitions > TALLIES_MAX) {
    throw usageError('--subscribers', String(subscribers), `at most ${TALLIES_MAX} subscribers x partitions in all ` +
      `(--subscribers ${subscribers} x ${flags.topics * flags.partitions} partitions) are allowed`);
  }
  if (mode === 'consume' && flags.consumers !== undefined && flags.consumers > flags.topics * flags.partitions) {
    throw usageError('--consumers', String(flags.consumers), 'at most one consumer per partition is allowed');
  }
}

export function makeTarget(address: TargetAddress, tls: TlsClientFlags = {}, sasl: SaslClientFlags = {}): Target {
  if (address.kind === 'kafka') {
    return new KafkaTarget(address.url, { host: address.host, port: address.port }, clientTlsFrom(tls),
      clientSaslFrom(sasl));
  }
  if (address.kind === 'nats') return new NatsTarget(address.url, address.host, address.port);
  return new RedisTarget(address.url, address.host, address.port);
}

const number = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function formatProgress(snapshot: ProgressSnapshot): string {
  const seconds = snapshot.elapsedMs / 1000;
  const left = Math.max(0, (snapshot.durationMs - snapshot.elapsedMs) / 1000);
  const parts = [`${snapshot.mode} ${seconds.toFixed(1)} s`, `${number(snapshot.recordsPerSecond)} rec/s`];
  if (snapshot.mode === 'consume') parts.push(`received ${number(snapshot.received)}`);
  else {
    parts.push(`acked ${number(snapshot.acked)}`,
      `ack p50 ${snapshot.ackP50Ms.toFixed(2)} ms p99 ${snapshot.ackP99Ms.toFixed(2)} ms`);
  }
  if (snapshot.mode === 'e2e') {
    parts.push(`e2e p50 ${snapshot.e2eP50Ms.toFixed(2)} ms p99 ${snapshot.e2eP99Ms.toFixed(2)} ms`);
  }
  if (snapshot.failed > 0) parts.push(`failed ${number(snapshot.failed)}`);
  parts.push(`${left.toFixed(0)} s left`);
  return parts.join('  ');
}

function latencyRow(name: string, summary: LatencySummary): string {
  const cells = [summary.p50Ms, summary.p90Ms, summary.p99Ms, summary.p999Ms, summary.maxMs]
    .map((ms) => ms.toFixed(3).padStart(9));
  return `  ${name.padEnd(14)}${cells.join('')}  (${number(summary.count)} records)`;
}

/** One subscriber's share of the consumed line, and its own end-to-end p50/p99 (e2e). */
function subscriberLine(figures: SubscriberFigures, index: number): string {
  const latency = figures.e2eLatency === null ? ''
    : `; e2e p50 ${figures.e2eLatency.p50Ms.toFixed(3)} ms p99 ${figures.e2eLatency.p99Ms.toFixed(3)} ms`;
  const changed = figures.mismatchedPartitions === null ? ''
    : `, partitions with changed bytes ${number(figures.mismatchedPartitions)}`;
  return `  subscriber ${String(index + 1).padEnd(3)}${number(figures.records)} records; ` +
    `lost ${number(figures.lost)}, out of order ${number(figures.outOfOrder)}${changed}${latency}` +
    (figures.firstError === null ? '' : `; read error ${figures.firstError}`);
}

export function formatWorkloadResult(result: WorkloadResult): string {
  const w = result.workload;
  const plural = (count: number, word: string): string => `${number(count)} ${word}${count === 1 ? '' : 's'}`;
  const readers = w.subscribers === 1 ? plural(w.consumers, 'consumer')
    : `${plural(w.subscribers, 'subscriber')} x ${plural(w.consumers, 'consumer')}`;
  const who = result.mode === 'consume' ? readers
    : result.mode === 'produce' ? plural(w.producers, 'producer') : `${plural(w.producers, 'producer')}, ${readers}`;
  const shape = result.mode === 'consume' ? ''
    : `, ${w.messageBytes}-byte records, rate ${w.ratePerSecond === null ? 'max' : `${number(w.ratePerSecond)}/s`}, ` +
      `acks ${w.acks === -1 ? 'all' : w.acks}, keys ${w.keys}, compression ${w.compression}` +
      (result.target.startsWith('kafka://') ? `, batches up to ${formatBytes(w.batchBytes)}` : '');
  const lines = [`x2 bench ${result.mode}: ${result.target}, ${plural(w.topics, 'topic')} x ` +
    `${plural(w.partitions, 'partition')}, ` +
    `${who}${shape}, ${result.seconds.toFixed(2)} s`];
  if (result.produced !== null) {
    const p = result.produced;
    lines.push(`  produced      ${number(p.acked)} acked of ${number(p.sent)} sent, ${number(p.failed)} failed; ` +
      `${number(p.recordsPerSecond)} rec/s, ${number(p.megabytesPerSecond, 1)} MB/s`);
    if (p.firstError !== null) lines.push(`  first error   ${p.firstError}`);
  }
  if (result.consumed !== null) {
    const c = result.consumed;
    const over = c.subscribers.length > 1 ? ` over ${c.subscribers.length} subscribers` : '';
    lines.push(`  consumed      ${number(c.records)} of ${number(c.expected ?? 0)} expected${over}; ` +
      `${number(c.recordsPerSecond)} rec/s, ${number(c.megabytesPerSecond, 1)} MB/s; lost ${number(c.lost ?? 0)}, ` +
      `out of order ${number(c.outOfOrder)}` +
      (c.mismatchedPartitions === null ? '' : `, partitions with changed bytes ${number(c.mismatchedPartitions)}`));
    if (c.firstError !== null) lines.push(`  read error    ${c.firstError}`);
    if (c.subscribers.length > 1) lines.push(...c.subscribers.map(subscriberLine));
  }
  if (result.ackLatency !== null || result.e2eLatency !== null) {
    lines.push(`  latency ms         p50      p90      p99    p99.9      max`);
    if (result.ackLatency !== null) lines.push(latencyRow('produce-ack', result.ackLatency));
    if (result.e2eLatency !== null) lines.push(latencyRow('end-to-end', result.e2eLatency));
  }
  return `${lines.join('\n')}\n`;
}

function failureOf(result: WorkloadResult): string | null {
  const problems: string[] = [];
  if (result.produced !== null && result.produced.failed > 0) {
    problems.push(`${number(result.produced.failed)} records failed (${result.produced.firstError ?? 'unknown'})`);
  }
  if (result.consumed !== null) {
    if (result.consumed.firstError !== null) problems.push(`reading failed (${result.consumed.firstError})`);
    else if ((result.consumed.lost ?? 0) > 0) {
      const missing = result.consumed.subscribers.filter((one) => one.lost > 0).length;
      const where = result.consumed.subscribers.length > 1
        ? ` (counted per subscriber; ${missing} of ${result.consumed.subscribers.length} subscribers missed some)` : '';
      problems.push(`${number(result.consumed.lost ?? 0)} records never arrived${where}`);
    }
    if (result.consumed.outOfOrder > 0) problems.push(`${number(result.consumed.outOfOrder)} records out of order`);
    if ((result.consumed.mismatchedPartitions ?? 0) > 0) {
      const mismatched = number(result.consumed.mismatchedPartitions ?? 0);
      problems.push(`${mismatched} partitions read back other bytes than were sent`);
    }
  }
  return problems.length === 0 ? null : problems.join('; ');
}

async function runCommand(mode: WorkloadMode, flags: WorkloadFlags): Promise<void> {
  checkFlags(mode, flags);
  const spec: WorkloadSpec = {
    topicPrefix: flags.topicPrefix, topics: flags.topics, partitions: flags.partitions,
    producers: flags.producers ?? 1, consumers: flags.consumers ?? 1, subscribers: flags.subscribers ?? 1,
    messageBytes: flags.messageBytes ?? 1024,
    // Commander stores '' when a parser returns null, as parseRate does for an explicit `--rate max`.
    ratePerSecond: typeof flags.rate === 'number' ? flags.rate : null,
    durationMs: flags.duration ?? (mode === 'consume' ? 60_000 : 10_000),
    acks: flags.acks ?? -1, keys: flags.keys ?? 'none', compression: flags.compression ?? 'none',
    batchBytes: flags.batchBytes ?? KAFKA_LIMITS.batchBytesMax,
  };
  const target = makeTarget(flags.target, flags, flags);
  const tty = process.stderr.isTTY === true;
  let result: WorkloadResult;
  try {
    result = await runWorkload(target, spec, {
      mode, seed: 1, progressIntervalMs: 1000,
      onProgress: (snapshot) => {
        const line = formatProgress(snapshot);
        process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      },
    });
  } finally {
    if (tty) process.stderr.write('\r\x1b[2K');
    await target.close();
  }
  process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatWorkloadResult(result));
  const failure = failureOf(result);
  if (failure !== null) throw new X2Error('X2_ERR_IO', `bench ${mode} against ${flags.target.url}: ${failure}`);
}

function commonOptions(command: Command, mode: WorkloadMode): Command {
  command
    .addOption(new Option('--target <url>', 'kafka://HOST:PORT, nats://HOST:PORT or redis://HOST:PORT')
      .makeOptionMandatory().argParser(parseTarget))
    .addOption(new Option('--topics <n>', 'number of topics (streams)').argParser(parseCount('--topics', 1, TOPICS_MAX))
      .default(1))
    .addOption(new Option('--partitions <n>', 'partitions per topic')
      .argParser(parseCount('--partitions', 1, PARTITIONS_MAX)).default(1));
  if (mode !== 'consume') {
    command.addOption(new Option('--producers <n>', 'producers, each with its own connection')
      .argParser(parseCount('--producers', 1, PRODUCERS_MAX)).default(1));
  }
  if (mode !== 'produce') {
    command.addOption(new Option('--consumers <n>',
      'consumers sharing the partitions round-robin, each with its own connection')
      .argParser(parseCount('--consumers', 1, CONSUMERS_MAX)).default(1))
      .addOption(new Option('--subscribers <n>',
        'independent subscribers, each reading every partition with its own --consumers consumers')
        .argParser(parseCount('--subscribers', 1, SUBSCRIBERS_MAX)).default(1));
  }
  if (mode !== 'consume') {
    command
      .addOption(new Option('--message-bytes <size>', 'bytes of each record value').argParser(parseMessageBytes)
        .default(1024, '1KiB'))
      .addOption(new Option('--rate <n|max>', 'records per second over all producers, or max').argParser(parseRate)
        .default(null, 'max'))
      .addOption(new Option('--acks <0|1|all>', 'produce acknowledgement').argParser(parseAcks).default(-1, 'all'))
      .addOption(new Option('--keys <mode>', 'record keys: none, round-robin or random').argParser(parseKeys)
        .default('none'))
      .addOption(new Option('--compression <codec>', 'none, gzip or zstd (kafka targets)').argParser(parseCompression)
        .default('none'))
      .addOption(new Option('--batch-bytes <size>',
        'largest record batch per partition, header included (kafka targets; Kafka\'s batch.size)')
        .argParser(parseBatchBytes).default(undefined, '1MiB'));
  }
  command
    .addOption(new Option('--duration <seconds>', mode === 'consume'
      ? 'longest time to read the backlog' : 'how long producers send').argParser(parseBenchDurationMs)
      .default(mode === 'consume' ? 60_000 : 10_000, mode === 'consume' ? '60 s' : '10 s'))
    .addOption(new Option('--topic-prefix <name>', 'topics are named <name>-0, <name>-1, ...')
      .argParser(parseTopicPrefix).default('x2-bench'));
  for (const option of tlsClientOptions(false)) command.addOption(option);
  for (const option of saslClientOptions(false)) command.addOption(option);
  command
    .option('--json', 'print the result as one JSON object')
    .action((flags: WorkloadFlags) => runCommand(mode, flags));
  return command;
}

export function benchProduceCommand(): Command {
  return commonOptions(new Command('produce')
    .description('produce records for a duration: throughput and produce-ack latency'), 'produce');
}

export function benchConsumeCommand(): Command {
  return commonOptions(new Command('consume')
    .description('read every partition from its earliest record: throughput, counts and checksums'), 'consume');
}

export function benchE2eCommand(): Command {
  return commonOptions(new Command('e2e')
    .description('produce and consume at once: throughput, produce-ack and end-to-end latency'), 'e2e');
}
