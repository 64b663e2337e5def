/**
 * `x2 bench` against the peers it is compared with: a real redis-server (Streams, appendonly)
 * and nats-server (JetStream, file storage), each started by the test on a free loopback port.
 * Goal: produce then consume proves every record arrived (count and checksum per partition,
 * nothing out of order), e2e reports both latency histograms and loses nothing (also with
 * --subscribers: every subscriber gets every record), `--json` has
 * the documented fields, and the single executable carries the nats and ioredis clients (runs
 * from an empty folder with an empty environment). Method: run the built dist/x2 as a user
 * does, a few seconds per run, and compare its JSON outputs.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runX2, X2_BINARY } from '../harness/x2.ts';
import { PeerServer } from './peer-servers.ts';

type PartitionFigures = { topic: string; partition: number; records: number; checksum: string; acked?: number };
type Latency = { count: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number; maxMs: number };
type BenchJson = {
  mode: string; target: string; seconds: number;
  produced: {
    sent: number; acked: number; failed: number; recordsPerSecond: number; megabytesPerSecond: number;
  } | null;
  consumed: {
    records: number; expected: number; lost: number; outOfOrder: number; recordsPerSecond: number;
    mismatchedPartitions: number | null;
    subscribers: Array<{ records: number; lost: number; outOfOrder: number; mismatchedPartitions: number | null }>;
  } | null;
  ackLatency: Latency | null; e2eLatency: Latency | null; partitions: PartitionFigures[];
};

function bench(args: string[], options: { bare?: boolean } = {}): BenchJson {
  const result = runX2(['bench', ...args, '--json'], { bare: options.bare ?? false, timeoutMs: 120_000 });
  expect(result.code, `x2 bench ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as BenchJson;
}

function expectLatency(latency: Latency | null, count: number): void {
  expect(latency).not.toBeNull();
  expect(latency!.count).toBe(count);
  expect(latency!.p50Ms).toBeGreaterThan(0);
  expect(latency!.p50Ms).toBeLessThanOrEqual(latency!.p90Ms);
  expect(latency!.p90Ms).toBeLessThanOrEqual(latency!.p99Ms);
  expect(latency!.p99Ms).toBeLessThanOrEqual(latency!.p999Ms);
  expect(latency!.p999Ms).toBeLessThanOrEqual(latency!.maxMs);
}

/** Produce into fresh topics, consume them back, compare per partition. */
function produceThenConsume(target: string, prefix: string, extra: string[] = [], bare = false): void {
  const shape = ['--target', target, '--topics', '2', '--partitions', '3', '--topic-prefix', prefix];
  const produced = bench(['produce', ...shape, '--producers', '2', '--message-bytes', '200', '--rate', '3000',
    '--duration', '2', '--keys', 'random', ...extra], { bare });
  expect(produced.mode).toBe('produce');
  expect(produced.produced!.failed).toBe(0);
  expect(produced.produced!.acked).toBe(produced.produced!.sent);
  // Open loop: exactly rate x duration records are scheduled, every one is sent.
  expect(produced.produced!.sent).toBe(6000);
  expectLatency(produced.ackLatency, produced.produced!.acked);
  expect(produced.partitions).toHaveLength(6);
  for (const partition of produced.partitions) expect(partition.acked).toBe(partition.records);
  const consumed = bench(['consume', ...shape, '--consumers', '4', '--duration', '60']);
  expect(consumed.consumed!.records).toBe(produced.produced!.acked);
  expect(consumed.consumed!.lost).toBe(0);
  expect(consumed.consumed!.outOfOrder).toBe(0);
  const figures = (list: PartitionFigures[]): PartitionFigures[] =>
    list.map(({ topic, partition, records, checksum }) => ({ topic, partition, records, checksum }));
  expect(figures(consumed.partitions)).toEqual(figures(produced.partitions));
}

function e2e(target: string, prefix: string): void {
  const result = bench(['e2e', '--target', target, '--partitions', '4', '--consumers', '4', '--rate', '2000',
    '--duration', '2', '--message-bytes', '1KiB', '--topic-prefix', prefix]);
  expect(result.mode).toBe('e2e');
  expect(result.target).toBe(target);
  expect(result.produced!.acked).toBe(4000);
  expect(result.consumed!.records).toBe(result.produced!.acked);
  expect(result.consumed!.lost).toBe(0);
  expectLatency(result.ackLatency, result.produced!.acked);
  expectLatency(result.e2eLatency, result.consumed!.records);
}

/** Three independent subscribers of two consumers each: every one reads every acknowledged record. */
function e2eFanOut(target: string, prefix: string): void {
  const result = bench(['e2e', '--target', target, '--partitions', '4', '--subscribers', '3', '--consumers', '2',
    '--rate', '2000', '--duration', '2', '--topic-prefix', prefix]);
  const acked = result.produced!.acked;
  expect(acked).toBe(4000);
  expect(result.consumed!.records).toBe(3 * acked);
  expect(result.consumed!.lost).toBe(0);
  expect(result.consumed!.mismatchedPartitions).toBe(0);
  expect(result.consumed!.subscribers).toHaveLength(3);
  for (const subscriber of result.consumed!.subscribers) {
    expect(subscriber).toMatchObject({ records: acked, lost: 0, outOfOrder: 0, mismatchedPartitions: 0 });
  }
  expectLatency(result.e2eLatency, 3 * acked);
}

describe('x2 bench against redis-server (Streams, appendonly, appendfsync always)', () => {
  let redis: PeerServer;
  beforeAll(async () => { redis = await PeerServer.redis('always'); });
  afterAll(async () => { await redis?.stop(); });

  it('produce then consume: every record, per-partition counts and checksums match (from an empty folder)', () => {
    produceThenConsume(redis.url, 'pc', [], true);
  });

  it('e2e: nothing lost, produce-ack and end-to-end histograms', () => {
    e2e(redis.url, 'e2e');
  });

  it('e2e with --subscribers 3 --consumers 2: every subscriber reads every record', () => {
    e2eFanOut(redis.url, 'fan');
  });

  it('text output: summary with the latency table', () => {
    const result = runX2(['bench', 'produce', '--target', redis.url, '--duration', '1', '--rate', '500',
      '--topic-prefix', 'text'], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^x2 bench produce: redis:\/\/127\.0\.0\.1:\d+, 1 topic x 1 partition/);
    expect(result.stdout).toMatch(/latency ms +p50 +p90 +p99 +p99\.9 +max/);
    expect(result.stdout).toMatch(/produce-ack +[\d.]+ +[\d.]+/);
    expect(result.stderr).toMatch(/produce \d+\.\d s {2}[\d,]+ rec\/s {2}acked/);
  });

  it('on a terminal, progress is one line rewritten in place', () => {
    const command = `${X2_BINARY} bench produce --target ${redis.url} --duration 2 --rate 500 --topic-prefix tty`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\r\x1b\[2Kproduce 1\.\d s {2}[\d,]+ rec\/s {2}acked [\d,]+ {2}ack p50 [\d.]+ ms/);
    expect(result.stdout).toMatch(/\r\x1b\[2Kx2 bench produce: /);
  });
});

describe('x2 bench against nats-server (JetStream, file storage)', () => {
  let nats: PeerServer;
  beforeAll(async () => { nats = await PeerServer.nats(); });
  afterAll(async () => { await nats?.stop(); });

  it('produce then consume: every record, per-partition counts and checksums match', () => {
    produceThenConsume(nats.url, 'pc');
  });

  it('e2e: nothing lost, produce-ack and end-to-end histograms', () => {
    e2e(nats.url, 'e2e');
  });

  it('e2e with --subscribers 3 --consumers 2: every subscriber reads every record', () => {
    e2eFanOut(nats.url, 'fan');
  });
});
