/**
 * Helpers for the river system tests: start `x2 sequencer` and `x2 commit` from the built
 * executable (optionally inside a network namespace), drive appenders over the public appender
 * protocol, and read back what a stopped commit stored, per stream, with checksums.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { crc32c } from '../../native/index.ts';
import { AppendClient, type AppendHandler } from '../../core/river/append-client.ts';
import {
  BENCH_BATCH_BYTES_MIN, BENCH_STREAM_BASE, BENCH_TAG_POSITION, benchBatch, setBenchCounter,
} from '../../core/river/delivery-check.ts';
import { Store } from '../../core/storage/store.ts';
import { startX2 } from '../harness/x2.ts';
import { waitFor } from '../harness/wait-for.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

export type Role = { name: string; child: ChildProcess; log: string[]; metricsPort: number; listenPort: number };

/**
 * Starts `x2 <args>` (or `spawn(args)` for namespaces), keeps its stderr for diagnosis, and resolves
 * once the role logged its start line, with the ports it actually bound (so parallel test files
 * never share a port: pass port 0).
 */
export async function startRole(name: string, args: string[], metricsPort = 0,
  spawn: (args: string[]) => ChildProcess = (a) => startX2(a)): Promise<Role> {
  const child = spawn([...args, '--metrics-port', String(metricsPort)]);
  const role: Role = { name, child, log: [], metricsPort, listenPort: 0 };
  child.stderr?.on('data', (chunk: Buffer) => {
    role.log.push(chunk.toString());
    if (role.log.length > 400) role.log.splice(0, 200);
  });
  child.stdout?.resume();
  await waitFor(() => {
    const text = role.log.join('');
    const metrics = /metrics on :(\d+)\/metrics/.exec(text);
    const listen = /(?:listening on|serving peers on) [^ ;]*:(\d+);/.exec(text);
    if (!metrics || !listen) {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${text.slice(-2000)}`);
      return null;
    }
    role.metricsPort = Number(metrics[1]);
    role.listenPort = Number(listen[1]);
    return role;
  }, { timeoutMs: 90_000, what: `${name} to start` });
  return role;
}

export async function metricsOf(role: Role, host = '127.0.0.1'): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  const response = await fetch(`http://${host}:${role.metricsPort}/metrics`);
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z0-9_]+)(?:\{[^}]*\})? ([-\d.e+]+)$/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

export async function metric(role: Role, name: string, host = '127.0.0.1'): Promise<number> {
  return (await metricsOf(role, host).catch(() => new Map<string, number>())).get(name) ?? -1;
}

export function stopRole(role: Role, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = role;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill(signal);
  });
}

/** An acknowledged entry: what the appender was told (seq, offset) and its tag. */
export type Ack = { seq: number; streamId: number; baseOffset: number; appender: number; counter: number };

/**
 * Appenders that keep `inflight` single-entry appends going on `streams` streams until stopped.
 * Only appends whose committed answer arrived are recorded as acknowledged; failures (a killed
 * sequencer) are counted and the appender goes on after its client reconnects.
 */
export class Load {
  readonly acks: Ack[] = [];
  errors = 0;
  #running = true;
  readonly #clients: AppendClient[] = [];
  readonly #done: Array<Promise<void>> = [];

  constructor(sequencer: string, appenders: number,
    options: { streams?: number; inflight?: number; entryBytes?: number } = {}) {
    const streams = options.streams ?? 4;
    for (let a = 0; a < appenders; a++) {
      const client = new AppendClient(sequencer, { inflightMax: options.inflight ?? 32 });
      this.#clients.push(client);
      this.#done.push(this.#run(client, a, streams, options.entryBytes ?? 200));
    }
  }

  async #run(client: AppendClient, appender: number, streams: number, entryBytes: number): Promise<void> {
    let counter = 0;
    while (this.#running) {
      await client.whenWritable();
      if (!this.#running) break;
      const batch = benchBatch(entryBytes, appender);
      setBenchCounter(batch, counter);
      const streamId = BENCH_STREAM_BASE + (appender + counter) % streams;
      const tag = { appender, counter, streamId, seq: 0, baseOffset: 0 };
      const handler: AppendHandler = {
        onAppended: (firstSeq, baseOffsets) => { tag.seq = firstSeq; tag.baseOffset = baseOffsets[0]!; },
        onCommitted: () => { this.acks.push({ ...tag }); },
        onError: () => { this.errors += 1; },
      };
      if (client.append([{ streamId, recordCount: 1, batch }], handler)) counter += 1;
    }
  }

  get ackCount(): number { return this.acks.length; }

  /** Appends sent and not yet answered, over all appenders. */
  get inflight(): number { return this.#clients.reduce((sum, client) => sum + client.inflight, 0); }

  /** Stops appending and waits until every append in flight was answered one way or the other. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#done);
    await waitFor(() => this.#clients.every((c) => c.inflight === 0), { timeoutMs: 90_000,
      what: 'appends in flight to finish' });
    for (const client of this.#clients) client.close();
  }
}

export type StoredCommit = {
  lastSeq: number;
  /** seq -> [streamId, baseOffset, crc of the batch, the bench tag "appender:counter" or ""] */
  bySeq: Map<number, [number, number, number, string]>;
  /** per stream: record count and a running CRC32C over its batches in offset order */
  streams: Map<number, { records: number; checksum: number; contiguous: boolean }>;
};

/** Reads a stopped commit's store, every entry in seq order. */
export async function readCommit(dataDir: string): Promise<StoredCommit> {
  const store = await Store.open({ dir: join(dataDir, 'store'), sync: { kind: 'entry-set' } });
  const bySeq = new Map<number, [number, number, number, string]>();
  const streams = new Map<number, { records: number; checksum: number; contiguous: boolean }>();
  try {
    let next = 1;
    for (;;) {
      const entries = await store.readBySeq(next, 4 * 1024 * 1024);
      if (entries.length === 0) break;
      for (const entry of entries) {
        // The sequencer patched baseOffset and partitionLeaderEpoch; compare the rest (the producer's bytes).
        const crc = crc32c(entry.batch, 0, 16, entry.batch.length);
        const tag = entry.streamId >= BENCH_STREAM_BASE && entry.batch.length >= BENCH_BATCH_BYTES_MIN
          ? `${entry.batch.readUInt32LE(BENCH_TAG_POSITION)}:${entry.batch.readUInt32LE(BENCH_TAG_POSITION + 4)}` : '';
        bySeq.set(entry.seq, [entry.streamId, entry.baseOffset, crc, tag]);
        const stream = streams.get(entry.streamId) ?? { records: 0, checksum: 0, contiguous: true };
        if (entry.baseOffset !== stream.records) stream.contiguous = false;
        stream.records += entry.recordCount;
        stream.checksum = crc32c(entry.batch, stream.checksum);
        streams.set(entry.streamId, stream);
      }
      next = entries.at(-1)!.seq + 1;
    }
    return { lastSeq: store.lastSeq, bySeq, streams };
  } finally {
    await store.close();
  }
}

/** Checks that an acknowledged entry sits in `commit` where the appender was told, with its own bytes. */
export function missingAcks(commit: StoredCommit, acks: readonly Ack[]): Ack[] {
  return acks.filter((ack) => {
    const stored = commit.bySeq.get(ack.seq);
    return !stored || stored[0] !== ack.streamId || stored[1] !== ack.baseOffset
      || stored[3] !== `${ack.appender}:${ack.counter}`;
  });
}

/**
 * Ends a run so that the commits can be compared: stops the sequencer (nothing new is sequenced;
 * roles also append periodic metrics snapshots), waits until every commit is durable at the same
 * seq, at least `lastAckSeq`, then stops the commits cleanly.
 */
export async function settleAndStop(sequencer: Role, commits: readonly Role[], lastAckSeq: number): Promise<number> {
  // Catch up while the sequencer still answers NAKs and repair requests. A metrics snapshot may be
  // sequenced meanwhile; one a commit lost just before the stop could never be repaired, so the
  // sequencer stops only once its last seq held still while every commit caught up to it.
  for (let round = 0; ; round++) {
    const sequencerLast = await waitFor(async () => {
      const value = await metric(sequencer, 'x2_river_last_seq');
      return value >= lastAckSeq ? value : null;
    }, { timeoutMs: 60_000, what: 'the sequencer last seq' });
    for (const commit of commits) {
      await waitFor(async () => await metric(commit, 'x2_commit_durable_seq') >= sequencerLast,
        { timeoutMs: 60_000, what: `${commit.name} durable up to ${sequencerLast}` });
    }
    if (await metric(sequencer, 'x2_river_last_seq') === sequencerLast) break;
    if (round === 100) throw new Error('the sequencer kept sequencing: the commits never caught up with it');
  }
  await stopRole(sequencer);
  let previous = -1;
  const settledSeq = await waitFor(async () => {
    const durable = await Promise.all(commits.map((commit) => metric(commit, 'x2_commit_durable_seq')));
    const same = durable.every((seq) => seq === durable[0]) && durable[0]! >= lastAckSeq;
    const stable = same && durable[0] === previous;
    previous = same ? durable[0]! : -1;
    return stable ? durable[0]! : null;
  }, { timeoutMs: 60_000, intervalMs: 200, what: 'the commits to settle at one seq' });
  for (const commit of commits) await stopRole(commit);
  return settledSeq;
}

/** The part of a stored commit that the test's appenders wrote: seqs up to `lastSeq`, bench streams only. */
export function ownPart(commit: StoredCommit, lastSeq: number): { bySeq: StoredCommit['bySeq'];
  streams: Map<number, { records: number; checksum: number; contiguous: boolean }> } {
  const bySeq = new Map([...commit.bySeq].filter(([seq]) => seq <= lastSeq));
  const streams = new Map([...commit.streams].filter(([streamId]) => streamId >= BENCH_STREAM_BASE));
  return { bySeq, streams };
}
