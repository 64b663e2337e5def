/**
 * `x2 bench` against x2 itself (`x2 up`, a one-host cluster) through the Kafka protocol with
 * the bench's own client. Goal: produce then consume proves every acknowledged record arrives
 * (count and checksum per partition, nothing out of order) for uncompressed, gzip and zstd
 * batches and for acks 1 and all; e2e reports both latency histograms and loses nothing;
 * with --subscribers every subscriber reads every record (fan-out, not a shared group);
 * --json has the documented fields. Method: start `x2 up` from the built executable on a
 * free port, run dist/x2 bench as a user does for a few seconds per run, compare outputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';
import { scrape } from '../harness/scrape.ts';
import { runX2 } from '../harness/x2.ts';

type PartitionFigures = { topic: string; partition: number; records: number; checksum: string; acked?: number };
type Latency = { count: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number; maxMs: number };
type SubscriberJson = {
  records: number; lost: number; outOfOrder: number; mismatchedPartitions: number | null; firstError: string | null;
  e2eLatency: Latency | null;
};
type BenchJson = {
  mode: string; target: string; seconds: number;
  workload: { topics: number; partitions: number; acks: number; compression: string; ratePerSecond: number | null;
    batchBytes: number; subscribers: number; };
  produced: { sent: number; acked: number; failed: number; recordsPerSecond: number } | null;
  consumed: { records: number; expected: number; lost: number; outOfOrder: number;
    mismatchedPartitions: number | null; subscribers: SubscriberJson[] } | null;
  ackLatency: Latency | null; e2eLatency: Latency | null; partitions: PartitionFigures[];
};

function bench(args: string[]): BenchJson {
  const result = runX2(['bench', ...args, '--json'], { timeoutMs: 180_000 });
  expect(result.code, `x2 bench ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as BenchJson;
}

const figures = (list: PartitionFigures[]): PartitionFigures[] =>
  list.map(({ topic, partition, records, checksum }) => ({ topic, partition, records, checksum }));

describe('x2 bench against x2 up (Kafka protocol)', () => {
  let up: UpProcess;
  let target: string;
  beforeAll(async () => {
    up = await UpProcess.start();
    target = `kafka://${up.bootstrap}`;
  }, 120_000);
  afterAll(async () => { await up?.stop(); });

  const cases: Array<{ name: string; flags: string[] }> = [
    { name: 'uncompressed, acks all', flags: ['--acks', 'all'] },
    {
      name: 'gzip, acks 1, round-robin keys',
      flags: ['--acks', '1', '--compression', 'gzip', '--keys', 'round-robin'],
    },
    { name: 'zstd, acks all', flags: ['--compression', 'zstd'] },
  ];
  for (const [index, testCase] of cases.entries()) {
    it(`produce then consume (${testCase.name}): every record arrives, counts and checksums match`, () => {
      const shape = ['--target', target, '--topics', '2', '--partitions', '3', '--topic-prefix', `pc${index}`];
      const produced = bench(['produce', ...shape, '--producers', '2', '--message-bytes', '300', '--rate', '4000',
        '--duration', '2', ...testCase.flags]);
      expect(produced.produced!.failed).toBe(0);
      expect(produced.produced!.acked).toBe(produced.produced!.sent);
      expect(produced.produced!.sent).toBe(8000);
      expect(produced.ackLatency!.count).toBe(produced.produced!.acked);
      const consumed = bench(['consume', ...shape, '--consumers', '3']);
      expect(consumed.consumed!.expected).toBe(produced.produced!.acked);
      expect(consumed.consumed!.records).toBe(produced.produced!.acked);
      expect(consumed.consumed!.lost).toBe(0);
      expect(consumed.consumed!.outOfOrder).toBe(0);
      expect(consumed.consumed!.mismatchedPartitions).toBeNull();
      expect(figures(consumed.partitions)).toEqual(figures(produced.partitions));
    });
  }

  it('e2e at a fixed rate: nothing lost, produce-ack and end-to-end histograms, documented JSON fields', () => {
    const result = bench(['e2e', '--target', target, '--partitions', '4', '--consumers', '4', '--rate', '2000',
      '--duration', '3', '--topic-prefix', 'e2e']);
    expect(Object.keys(result).sort()).toEqual(['ackLatency', 'consumed', 'e2eLatency', 'mode', 'partitions',
      'produced', 'seconds', 'target', 'workload'].sort());
    expect(result.mode).toBe('e2e');
    expect(result.target).toBe(target);
    expect(result.workload).toMatchObject({
      topics: 1, partitions: 4, acks: -1, compression: 'none', ratePerSecond: 2000, subscribers: 1,
    });
    expect(Object.keys(result.consumed!).sort()).toEqual(['expected', 'firstError', 'lost', 'megabytesPerSecond',
      'mismatchedPartitions', 'outOfOrder', 'records', 'recordsPerSecond', 'subscribers'].sort());
    expect(result.produced!.acked).toBe(6000);
    // One subscriber: its figures are the totals.
    expect(result.consumed!.subscribers).toEqual([{
      records: 6000, lost: 0, outOfOrder: 0, mismatchedPartitions: 0, firstError: null,
      e2eLatency: result.e2eLatency,
    }]);
    expect(result.consumed!.records).toBe(result.produced!.acked);
    expect(result.consumed!.lost).toBe(0);
    expect(result.consumed!.mismatchedPartitions).toBe(0);
    for (const latency of [result.ackLatency!, result.e2eLatency!]) {
      expect(latency.count).toBe(result.produced!.acked);
      expect(latency.p50Ms).toBeGreaterThan(0);
      expect(latency.p50Ms).toBeLessThanOrEqual(latency.p99Ms);
      expect(latency.p99Ms).toBeLessThanOrEqual(latency.maxMs);
    }
  });

  it('e2e with --subscribers 3 --consumers 2: every subscriber reads every record, e2e covers all receipts', () => {
    const result = bench(['e2e', '--target', target, '--partitions', '4', '--subscribers', '3', '--consumers', '2',
      '--rate', '2000', '--duration', '2', '--topic-prefix', 'fan']);
    expect(result.workload).toMatchObject({ partitions: 4, subscribers: 3 });
    const acked = result.produced!.acked;
    expect(acked).toBe(4000);
    expect(result.consumed!.expected).toBe(3 * acked);
    expect(result.consumed!.records).toBe(3 * acked);
    expect(result.consumed!.lost).toBe(0);
    expect(result.consumed!.outOfOrder).toBe(0);
    expect(result.consumed!.mismatchedPartitions).toBe(0);
    expect(result.e2eLatency!.count).toBe(3 * acked);
    expect(result.consumed!.subscribers).toHaveLength(3);
    for (const subscriber of result.consumed!.subscribers) {
      // Each subscriber on its own: every acknowledged record, every partition's checksum as sent.
      expect(subscriber).toMatchObject({ records: acked, lost: 0, outOfOrder: 0, mismatchedPartitions: 0 });
      expect(subscriber.e2eLatency!.count).toBe(acked);
    }
    expect(result.partitions.reduce((sum, partition) => sum + partition.records, 0)).toBe(acked);
    // Read back with 2 subscribers from the start: each gets the whole backlog; text names them.
    const text = runX2(['bench', 'consume', '--target', target, '--partitions', '4', '--subscribers', '2',
      '--consumers', '3', '--topic-prefix', 'fan'], { timeoutMs: 120_000 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^x2 bench consume: kafka:\S+, 1 topic x 4 partitions, 2 subscribers x 3 consumers/);
    expect(text.stdout).toContain('consumed      8,000 of 8,000 expected over 2 subscribers;');
    expect(text.stdout).toMatch(/^ {2}subscriber 1 {2}4,000 records; lost 0, out of order 0$/m);
    expect(text.stdout).toMatch(/^ {2}subscriber 2 {2}4,000 records; lost 0, out of order 0$/m);
  });

  it('e2e at max rate in large requests (batches sent on as views of the request): every byte comes back', () => {
    const result = bench(['e2e', '--target', target, '--partitions', '8', '--producers', '4', '--consumers', '3',
      '--message-bytes', '1KiB', '--duration', '3', '--rate', 'max', '--topic-prefix', 'e2emax']);
    expect(result.produced!.failed).toBe(0);
    expect(result.produced!.acked).toBeGreaterThan(50_000); // ~1 MiB requests, not a trickle
    expect(result.consumed!.lost).toBe(0);
    expect(result.consumed!.outOfOrder).toBe(0);
    expect(result.consumed!.records).toBe(result.produced!.acked);
    expect(result.consumed!.mismatchedPartitions).toBe(0);
  });

  it('e2e at max rate in 16 KiB batches (--batch-bytes): every byte comes back, in many more requests', async () => {
    const metricsUrl = /gateway.*metrics (http\S+)/.exec(up.stdout)?.[1];
    expect(metricsUrl, up.stdout).toBeDefined();
    const requests = async (): Promise<number> => {
      const text = await scrape(metricsUrl!);
      return Number(/^x2_gateway_requests_total\{[^}]*\} (\d+)/m.exec(text)?.[1]);
    };
    const produceTimed = async (): Promise<number> => {
      const text = await scrape(metricsUrl!);
      return Number(/^x2_gateway_request_seconds_count\{[^}]*api="Produce"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await requests();
    const produceTimedBefore = await produceTimed();
    const result = bench(['e2e', '--target', target, '--partitions', '2', '--producers', '2', '--consumers', '2',
      '--message-bytes', '1KiB', '--batch-bytes', '16KiB', '--duration', '2', '--topic-prefix', 'e2esmall']);
    const after = await requests();
    const produceTimedAfter = await produceTimed();
    expect(result.workload).toMatchObject({ batchBytes: 16 * 1024 });
    expect(result.produced!.failed).toBe(0);
    expect(result.consumed!.lost).toBe(0);
    expect(result.consumed!.outOfOrder).toBe(0);
    expect(result.consumed!.records).toBe(result.produced!.acked);
    expect(result.consumed!.mismatchedPartitions).toBe(0);
    // At most 15 records of 1 KiB fit a 16 KiB batch, and a request carries one batch per partition
    // (2 partitions): the produce requests alone are at least acked / 30.
    expect(after - before).toBeGreaterThanOrEqual(result.produced!.acked / 30);
    // Each answered Produce request is timed (x2_gateway_request_seconds), and none more than asked.
    expect(produceTimedAfter - produceTimedBefore).toBeGreaterThanOrEqual(result.produced!.acked / 30);
    expect(produceTimedAfter - produceTimedBefore).toBeLessThanOrEqual(after - before);
  });

  it('acks=0 Produce requests are served but not timed (they get no response)', async () => {
    const metricsUrl = /gateway.*metrics (http\S+)/.exec(up.stdout)?.[1];
    const read = async (): Promise<{ requests: number; produceTimed: number }> => {
      const text = await scrape(metricsUrl!);
      return {
        requests: Number(/^x2_gateway_requests_total\{[^}]*\} (\d+)/m.exec(text)?.[1]),
        produceTimed: Number(
          /^x2_gateway_request_seconds_count\{[^}]*api="Produce"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0),
      };
    };
    const before = await read();
    const result = bench(['produce', '--target', target, '--acks', '0', '--rate', '500', '--duration', '1',
      '--topic-prefix', 'acks0']);
    const after = await read();
    expect(result.produced!.acked).toBeGreaterThan(0);
    expect(after.requests - before.requests).toBeGreaterThanOrEqual(10);
    expect(after.produceTimed).toBe(before.produceTimed);
  });

  it('a topic with fewer partitions than the workload is refused with its name', () => {
    bench(['produce', '--target', target, '--partitions', '1', '--duration', '0.2', '--rate', '10',
      '--topic-prefix', 'narrow']);
    const result = runX2(['bench', 'produce', '--target', target, '--partitions', '3', '--duration', '1',
      '--topic-prefix', 'narrow'], { timeoutMs: 120_000 });
    expect(result.code).toBe(74);
    expect(result.stderr).toMatch(/topic narrow-0 exists with 1 partitions, the workload needs 3/);
  });
});
