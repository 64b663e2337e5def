/**
 * `x2 bench river`: starts a sequencer and K receivers (commits, or bare subscribers) as child
 * processes of this same executable, drives N appenders over TCP for S seconds, then reports
 * appends/s, MB/s, append-to-commit latency percentiles (HDR histogram), NAKs and retransmits, the
 * fan-out amplification (bytes the sequencer sent / bytes appended), the river driver of every
 * process (mmsg: native sendmmsg/recvmmsg; dgram: Node, X2_NATIVE=0; tcp: unicast), CPU seconds per
 * MB appended (sequencer, receivers; /proc/PID/stat over the timed window) and, per receiver,
 * missing, duplicated and out-of-order entries (all must be 0; otherwise the exit status is 65).
 *
 * `--child subscriber` is the bare subscriber process this command starts for
 * `--receivers-kind subscriber`: it joins the river, checks delivery, and prints its report as
 * one JSON line when it gets SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import * as hdr from 'hdr-histogram-js';
import { usageError, X2Error } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { parseBytes, parseDurationMs } from '../../core/base/units.ts';
import { processCpuSeconds } from '../../core/bench/river-cpu.ts';
import { measureFdatasync } from '../../core/probe/disk-check.ts';
import type { HostPort } from '../../core/river/address.ts';
import { AppendClient, type AppendHandler } from '../../core/river/append-client.ts';
import { BENCH_BATCH_BYTES_MIN, BENCH_STREAM_BASE, benchBatch, DeliveryCheck, setBenchCounter,
  type DeliveryReport } from '../../core/river/delivery-check.ts';
import { LossGenerator } from '../../core/river/loss-generator.ts';
import type { RiverMode } from '../../core/river/messages.ts';
import { multicastDriver } from '../../core/river/multicast-driver.ts';
import { RiverMember } from '../../core/river/river-member.ts';
import { selfCommand } from '../../core/up/supervisor.ts';
import { Store } from '../../core/storage/store.ts';
import { hostPortParser, integerParser, interfaceParser, lossParser } from '../river-options.ts';

/** The fdatasync baseline: up to 5000 syncs in one second, enough for a p99. */
const FDATASYNC_BASELINE_LIMITS = { countMax: 5000, budgetMs: 1000 };

type BenchFlags = {
  receivers: number; receiversKind: 'commit' | 'subscriber'; appenders: number; entryBytes: number; duration: number;
  river: RiverMode; loss: number; seed?: number; json?: boolean; interface: string; inflight: number; rate?: number;
  writeQuorum?: number; child?: 'subscriber'; sequencer?: HostPort; mtuBytes?: number;
};

type ReceiverReport = DeliveryReport & {
  receiver: string; naksSent: number; retransmitsReceived: number; repairedEntries: number; driver: string | null;
};

export type RiverBenchReport = {
  river: RiverMode; receivers: number; receiversKind: string; appenders: number; entryBytes: number; durationS: number;
  loss: number; seed: number; appends: number; appendsPerSec: number; mbPerSec: number; errors: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  fdatasyncP99Us: number | null; p99OverFdatasyncP99: number | null;
  bytesAppended: number; bytesSent: number; amplification: number; naks: number; retransmits: number;
  /** River driver of the sequencer (each receiver's is in `delivery`). */
  sequencerDriver: string | null;
  /** CPU seconds over the timed window per MB appended; receivers: their mean. Null without /proc. */
  cpuMsPerMb: { sequencer: number | null; receiver: number | null };
  delivery: ReceiverReport[]; ok: boolean;
};

function durationParser(value: string): number {
  const ms = parseDurationMs(value, 's');
  if (ms === null || ms < 1000 || ms > 3_600_000) throw usageError('--duration', value,
    'from 1s to 1h is allowed (e.g. 10 or 10s)');
  return ms / 1000;
}

function entryBytesParser(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === null || bytes < BENCH_BATCH_BYTES_MIN || bytes > 1024 * 1024) {
    throw usageError('--entry-bytes', value, `a size from ${BENCH_BATCH_BYTES_MIN} bytes to 1MiB is allowed`);
  }
  return bytes;
}

function choiceParser<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw usageError(flag, value, `one of ${choices.join(', ')} is allowed`);
  };
}

export function benchRiverCommand(): Command {
  return new Command('river')
    .description('benchmark the river: sequencer + K receivers as processes, N appenders; verifies delivery')
    .addOption(new Option('--receivers <k>', 'receiver processes').argParser(integerParser('--receivers', 1,
      8)).default(2))
    .addOption(new Option('--receivers-kind <kind>', 'commit (stores, syncs to disk) or subscriber (bare reader)')
      .argParser(choiceParser('--receivers-kind', ['commit', 'subscriber'] as const)).default('commit'))
    .addOption(new Option('--appenders <n>', 'appender connections').argParser(integerParser('--appenders', 1,
      64)).default(4))
    .addOption(new Option('--entry-bytes <bytes>',
      'bytes per appended batch').argParser(entryBytesParser).default(1024))
    .addOption(new Option('--duration <s>', 'how long appenders run').argParser(durationParser).default(10))
    .addOption(new Option('--river <mode>', 'multicast or unicast')
      .argParser(choiceParser('--river', ['multicast', 'unicast'] as const)).default('multicast'))
    .addOption(new Option('--loss <fraction>', 'fraction of river datagrams dropped at each receiver (seeded)')
      .argParser(lossParser).default(0))
    .addOption(new Option('--seed <n>', 'seed of the loss generators (default random; printed)')
      .argParser(integerParser('--seed', 0, 2 ** 32 - 1)))
    .addOption(new Option('--rate <appends/s>',
      'total append rate, spread over the appenders (default: as fast as acks allow)')
      .argParser(integerParser('--rate', 1, 10_000_000)))
    .addOption(new Option('--inflight <n>', 'appends each appender keeps in flight')
      .argParser(integerParser('--inflight', 1, 4096)).default(64))
    .addOption(new Option('--write-quorum <w>', 'commits needed to commit (default: a majority of --receivers)')
      .argParser(integerParser('--write-quorum', 1, 8)))
    .addOption(new Option('--interface <addr>',
      'interface address for the river').argParser(interfaceParser).default('127.0.0.1'))
    .addOption(new Option('--mtu-bytes <bytes>',
      'largest river datagram incl. IP/UDP headers, passed to the sequencer (default: the interface MTU)')
      .argParser(integerParser('--mtu-bytes', 576, 65000)))
    .option('--json', 'print the report as one JSON object')
    .addOption(new Option('--child <kind>',
      'internal: run as the bench subscriber process').choices(['subscriber']).hideHelp())
    .addOption(new Option('--sequencer <host:port>',
      'internal: the sequencer of --child').argParser(hostPortParser('--sequencer'))
      .hideHelp())
    .action(async (flags: BenchFlags) => {
      if (flags.child === 'subscriber') return runSubscriber(flags);
      if (flags.writeQuorum !== undefined && flags.writeQuorum > flags.receivers) {
        throw usageError('--write-quorum', String(flags.writeQuorum),
          `at most --receivers (${flags.receivers}) is allowed`);
      }
      const report = await runBench(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      if (!report.ok) process.exitCode = 65;
    });
}

function startSelf(args: string[], log: Log, name: string): ChildProcess {
  const { file, prefix } = selfCommand();
  const child = spawn(file, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (/ (warn|error) /.test(line)) log.warn(`${name}: ${line}`);
  });
  return child;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** The `driver` label of x2_river_driver on a role's /metrics. */
async function scrapeDriver(port: number): Promise<string | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return /^x2_river_driver\{[^}]*driver="([a-z]+)"/m.exec(text)?.[1] ?? null;
}

/** CPU seconds of each child (sequencer first), null where /proc has none. */
function childrenCpuSeconds(children: readonly ChildProcess[]): Array<number | null> {
  return children.map((child) => processCpuSeconds(child.pid));
}

async function scrape(port: number): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z0-9_]+)(?:\{[^}]*\})? ([-\d.e+]+)$/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function runBench(flags: BenchFlags): Promise<RiverBenchReport> {
  const log = new Log('bench river');
  const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`bench river: seed ${seed} (replay with --seed ${seed})\n`);
  const dataRoot = mkdtempSync(join(tmpdir(), 'x2-bench-river-'));
  const children: ChildProcess[] = [];
  const clients: AppendClient[] = [];
  try {
    const sequencerPort = await freePort();
    const groupPort = await freePort();
    const metricsPort = await freePort();
    const isCommit = flags.receiversKind === 'commit';
    const sequencerAddress = `127.0.0.1:${sequencerPort}`;
    const group = `239.192.${(seed >>> 8) & 0xff}.${(seed & 0xff) | 1}:${groupPort}`;
    // Baseline for the latency target: a bare 4 KiB write + fdatasync, repeated for a second on the
    // commits' disk before any role starts (measured while the commits started, it took their
    // start-up I/O and read 3-30x too high).
    const fdatasync = isCommit ? measureFdatasync(dataRoot, FDATASYNC_BASELINE_LIMITS) : null;
    children.push(startSelf(['sequencer', '--listen', sequencerAddress, '--replication',
      String(isCommit ? flags.receivers : 0),
      ...(isCommit && flags.writeQuorum ? ['--write-quorum', String(flags.writeQuorum)] : []),
      '--river', flags.river, '--interface', flags.interface, '--group', group, '--metrics-port',
      String(metricsPort), ...(flags.mtuBytes ? ['--mtu-bytes', String(flags.mtuBytes)] : [])], log, 'sequencer'));
    const receiverMetricsPorts: number[] = [];
    const subscriberReports: Array<Promise<ReceiverReport>> = [];
    for (let i = 0; i < flags.receivers; i++) {
      const port = await freePort();
      receiverMetricsPorts.push(port);
      const common = ['--sequencer', sequencerAddress, '--river', flags.river, '--interface', flags.interface,
        '--loss', String(flags.loss), '--seed', String((seed + i) >>> 0)];
      const child = isCommit
        ? startSelf(['commit', ...common, '--data', join(dataRoot, `commit-${i}`), '--member-id', `commit-${i}`,
          '--metrics-port', String(port)], log, `commit-${i}`)
        : startSelf(['bench', 'river', '--child', 'subscriber', ...common], log, `subscriber-${i}`);
      children.push(child);
      if (!isCommit) subscriberReports.push(readChildReport(child, `subscriber-${i}`));
    }
    const readyMetric = isCommit ? 'x2_river_commits_ready' : 'x2_river_subscribers_ready';
    const allReady = await waitUntil(async () =>
      ((await scrape(metricsPort).catch(() => new Map<string, number>())).get(readyMetric) ?? 0) >= flags.receivers,
        60_000);
    if (!allReady) throw new X2Error('X2_ERR_IO', `bench river: the receivers did not all join the river within 60 s`);

    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000,
      numberOfSignificantValueDigits: 3 });
    let running = true;
    let errors = 0;
    const sentCount = new Map<number, number>();
    const committedCount: number[] = [];
    // Warm-up: one append per appender, committed before timing starts (joins, recovery).
    for (let a = 0; a < flags.appenders; a++) {
      const client = new AppendClient(sequencerAddress, { inflightMax: flags.inflight, committedNotices: 'own' });
      clients.push(client);
      const batch = benchBatch(flags.entryBytes, a);
      setBenchCounter(batch, 0);
      const result = await client.appendAsync([{ streamId: BENCH_STREAM_BASE + a, recordCount: 1, batch }]);
      await result.committed;
      sentCount.set(a, 1);
      committedCount.push(1);
    }
    const startMs = performance.now();
    const cpuAtStart = childrenCpuSeconds(children);
    const pumps = clients.map((client, a) => {
      const batch = benchBatch(flags.entryBytes, a);
      const sentAtMs = new Float64Array(flags.inflight + 1);
      let sent = 1;
      let committed = 1;
      let waiting = false;
      let paced = false;
      const ratePerMs = flags.rate === undefined ? Infinity : flags.rate / flags.appenders / 1000;
      const pump = (): void => {
        while (running) {
          if (sent - 1 >= (performance.now() - startMs) * ratePerMs) {
            // Open loop at --rate: wait for the next slot instead of sending early.
            if (!paced) {
              paced = true;
              setTimeout(() => { paced = false; pump(); }, 1);
            }
            return;
          }
          setBenchCounter(batch, sent);
          sentAtMs[sent % sentAtMs.length] = performance.now();
          if (!client.append([{ streamId: BENCH_STREAM_BASE + a, recordCount: 1, batch }], handler)) break;
          sent += 1;
          sentCount.set(a, sent);
        }
        if (running && !waiting) {
          waiting = true;
          client.whenWritable().then(() => { waiting = false; pump(); }, () => undefined);
        }
      };
      const handler: AppendHandler = {
        onAppended: () => undefined,
        onCommitted: () => {
          histogram.recordValue(Math.max(1,
            Math.round((performance.now() - sentAtMs[committed % sentAtMs.length]!) * 1000)));
          committed += 1;
          committedCount[a] = committed;
        },
        onError: () => { errors += 1; committed += 1; committedCount[a] = committed; },
      };
      pump();
      return { sentCount: () => sent };
    });
    await new Promise((resolve) => setTimeout(resolve, flags.duration * 1000));
    running = false;
    const elapsedS = (performance.now() - startMs) / 1000;
    const cpuAtEnd = childrenCpuSeconds(children);
    const cpuSeconds = cpuAtEnd.map((end, i) => end === null || cpuAtStart[i] === null ? null
      : end - cpuAtStart[i]!);
    await waitUntil(() => pumps.every((pump, a) => (committedCount[a] ?? 0) >= pump.sentCount()), 60_000);
    const appends = [...sentCount.values()].reduce((sum, n) => sum + n, 0) - flags.appenders;
    const lastSeq = Math.max(...clients.map((c) => c.committedSeq));
    const sequencerMetrics = await scrape(metricsPort);
    const sequencerDriver = await scrapeDriver(metricsPort).catch(() => null);

    const delivery: ReceiverReport[] = [];
    if (isCommit) {
      for (let i = 0; i < flags.receivers; i++) {
        const metrics = await scrape(receiverMetricsPorts[i]!);
        const driver = await scrapeDriver(receiverMetricsPorts[i]!).catch(() => null);
        delivery.push({ receiver: `commit-${i}`,
          ...await readBackCommit(sentCount, lastSeq, receiverMetricsPorts[i]!, children[i + 1]!, join(dataRoot,
            `commit-${i}`)),
          naksSent: metrics.get('x2_river_naks_sent_total') ?? 0,
          retransmitsReceived: metrics.get('x2_river_retransmits_received_total') ?? 0,
          repairedEntries: metrics.get('x2_river_repaired_entries_total') ?? 0, driver });
      }
    } else {
      for (const child of children.slice(1)) child.kill('SIGTERM');
      const expected = [...sentCount.values()].reduce((sum, n) => sum + n, 0);
      for (const report of await Promise.all(subscriberReports)) {
        // The subscriber cannot know what was sent: missing = sent - distinct entries delivered.
        report.missing = Math.max(0, expected - (report.delivered - report.duplicated));
        delivery.push(report);
      }
    }
    const bytesAppended = sequencerMetrics.get('x2_river_bytes_appended_total') ?? 0;
    const bytesSent = sequencerMetrics.get('x2_river_bytes_sent_total') ?? 0;
    const us = (q: number): number => histogram.getValueAtPercentile(q);
    const mbAppended = (appends * flags.entryBytes) / 1e6;
    const receiverCpu = cpuSeconds.slice(1).filter((seconds): seconds is number => seconds !== null);
    const msPerMb = (seconds: number | null): number | null => seconds === null || mbAppended === 0 ? null
      : round(seconds * 1000 / mbAppended);
    const p99 = us(99);
    return {
      river: flags.river, receivers: flags.receivers, receiversKind: flags.receiversKind, appenders: flags.appenders,
      entryBytes: flags.entryBytes, durationS: round(elapsedS), loss: flags.loss, seed, appends,
      appendsPerSec: round(appends / elapsedS), mbPerSec: round((appends * flags.entryBytes) / elapsedS / 1e6), errors,
      latencyUs: { p50: us(50), p90: us(90), p99, p999: us(99.9), max: histogram.maxValue },
      fdatasyncP99Us: fdatasync ? Math.round(fdatasync.p99Ms * 1000) : null,
      p99OverFdatasyncP99: fdatasync && fdatasync.p99Ms > 0 ? round(p99 / (fdatasync.p99Ms * 1000)) : null,
      bytesAppended, bytesSent, amplification: bytesAppended > 0 ? round(bytesSent / bytesAppended) : 0,
      naks: sequencerMetrics.get('x2_river_naks_received_total') ?? 0,
      retransmits: sequencerMetrics.get('x2_river_retransmits_total') ?? 0,
      sequencerDriver,
      cpuMsPerMb: { sequencer: msPerMb(cpuSeconds[0] ?? null), receiver: receiverCpu.length === 0 ? null
        : msPerMb(receiverCpu.reduce((sum, seconds) => sum + seconds, 0) / receiverCpu.length) },
      delivery, ok: errors === 0 && delivery.every((d) => d.missing === 0 && d.duplicated === 0
        && d.outOfOrder === 0 && d.seqGaps === 0),
    };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(children.map(stopChild));
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/**
 * Stops a commit (SIGTERM: it syncs and closes its store), then reads everything it stored, by seq,
 * straight from its data folder, and checks it.
 */
async function readBackCommit(sentCount: Map<number, number>, lastSeq: number, metricsPort: number, child: ChildProcess,
  dataDir: string): Promise<DeliveryReport> {
  await waitUntil(async () => ((await scrape(metricsPort)).get('x2_commit_durable_seq') ?? 0) >= lastSeq, 30_000);
  await stopChild(child);
  const store = await Store.open({ dir: join(dataDir, 'store'), sync: { kind: 'entry-set' } });
  const check = new DeliveryCheck();
  try {
    let next = 1;
    for (;;) {
      const entries = await store.readBySeq(next, 4 * 1024 * 1024);
      if (entries.length === 0) break;
      for (const entry of entries) check.add(entry.seq, entry.streamId, entry.batch);
      next = entries.at(-1)!.seq + 1;
    }
  } finally {
    await store.close();
  }
  return check.finish(sentCount);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

function readChildReport(child: ChildProcess, name: string): Promise<ReceiverReport> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    child.once('exit', () => {
      try {
        resolve({ receiver: name, ...JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Omit<ReceiverReport,
          'receiver'> });
      } catch {
        reject(new Error(`${name} printed no report`));
      }
    });
  });
}

/** The bare subscriber child: joins the river, checks delivery, reports on SIGTERM. */
async function runSubscriber(flags: BenchFlags): Promise<void> {
  if (!flags.sequencer) throw usageError('--sequencer', '', 'HOST:PORT is required with --child');
  const log = new Log(`subscriber ${process.pid}`);
  if (flags.river === 'multicast') multicastDriver(); // a bad X2_RIVER_DRIVER fails here, not at the welcome
  const check = new DeliveryCheck();
  const loss = flags.loss > 0 ? new LossGenerator(flags.loss, flags.seed ?? 1) : null;
  const member = new RiverMember({
    sequencer: `${flags.sequencer.host}:${flags.sequencer.port}`, river: flags.river, interfaceAddress: flags.interface,
    listen: null, loss, log, reportDelivered: true,
  }, {
    hello: async () => ({ role: 'subscriber', memberId: `subscriber-${process.pid}` }),
    welcome: async (welcome) => welcome.nextSeq - 1,
    deliver: (entry) => check.add(entry.seq, entry.streamId, entry.batch),
  });
  member.start();
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await waitUntil(() => member.lastSeq >= member.lastKnownSeq, 10_000);
  member.close();
  const report = check.finish(new Map());
  process.stdout.write(`${JSON.stringify({ ...report, naksSent: member.naksSent,
    retransmitsReceived: member.retransmitsReceived,
    repairedEntries: member.entriesRepaired, driver: member.riverDriver })}\n`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export function formatReport(report: RiverBenchReport): string {
  const lines = [
    `river ${report.river}, ${report.receivers} ${report.receiversKind}(s), ${report.appenders} appenders, ` +
      `${report.entryBytes} B entries, ${report.durationS} s, loss ${report.loss}, seed ${report.seed}`,
    `appends     ${report.appends} (${report.appendsPerSec}/s, ${report.mbPerSec} MB/s), errors ${report.errors}`,
    `latency     append-to-commit p50 ${report.latencyUs.p50} us, p90 ${report.latencyUs.p90} us, ` +
      `p99 ${report.latencyUs.p99} us, p99.9 ${report.latencyUs.p999} us, max ${report.latencyUs.max} us`,
  ];
  if (report.fdatasyncP99Us !== null) {
    lines.push(`fdatasync   p99 ${report.fdatasyncP99Us} us on the same disk; append-to-commit p99 / fdatasync p99 = ` +
      `${report.p99OverFdatasyncP99}`);
  }
  lines.push(`fan-out     ${report.bytesSent} B sent / ${report.bytesAppended} B appended = `
    + `amplification ${report.amplification}`);
  lines.push(`repair      NAKs ${report.naks}, retransmits ${report.retransmits}`);
  lines.push(`drivers     sequencer ${report.sequencerDriver ?? '?'}, receivers `
    + `${report.delivery.map((d) => d.driver ?? '?').join(', ')}`);
  lines.push(`cpu         ${report.cpuMsPerMb.sequencer ?? '?'} ms per MB appended in the sequencer, `
    + `${report.cpuMsPerMb.receiver ?? '?'} ms per MB in each receiver (mean)`);
  for (const d of report.delivery) {
    lines.push(`${d.receiver.padEnd(12)}delivered ${d.delivered}, missing ${d.missing}, duplicated ${d.duplicated}, ` +
      `out-of-order ${d.outOfOrder}, seq gaps ${d.seqGaps}; NAKs ${d.naksSent}, ` +
      `retransmits ${d.retransmitsReceived}, ` +
      `repaired ${d.repairedEntries}`);
  }
  lines.push(report.ok ? 'delivery    OK: every receiver got every entry once, in order' : 'delivery    FAILED');
  return `${lines.join('\n')}\n`;
}
