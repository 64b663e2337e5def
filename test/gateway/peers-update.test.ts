/**
 * Goal: a gateway welcomed while only some commits were ready learns the others when they become
 * ready (PEERS from the sequencer), so its history reads are shared by every commit, not left on
 * the first one until its next welcome.
 * Method: a cluster with two commits, write quorum 1 and the tail cache off (every Fetch reads
 * history). Stop commit-2 and restart the gateway, so that its welcome names commit-1 only; then
 * start commit-2 again and wait until the sequencer counts it ready. Reading 8 partitions from the
 * beginning must then send history reads to both commits (each stream starts at its own commit).
 */
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, commits: 2, writeQuorum: 1, gatewayArgs: ['--tail-cache-bytes', '0'] });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function counter(role: string, name: string): Promise<number> {
  const port = [...cluster.log(role).matchAll(/metrics on :(\d+)\/metrics/g)].at(-1)?.[1];
  if (port === undefined) return Number.NaN;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

describe('PEERS', () => {
  it('a gateway welcomed before a commit was ready reads history from it once it is', async () => {
    const kafka = new Kafka({ clientId: 'peers', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'peers', numPartitions: 8 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'peers', acks: -1, messages: Array.from({ length: 80 }, (_, i) =>
      ({ partition: i % 8, value: `v${i}` })) });
    await producer.disconnect();

    await cluster.kill('commit-2');
    await cluster.kill('gateway-0');
    cluster.restart('gateway-0');
    await cluster.ready(); // welcomed with commit-1 as the only ready commit
    cluster.restart('commit-2');
    await expect.poll(() => counter('sequencer', 'x2_river_commits_ready'), { timeout: 60_000, interval: 200 })
      .toBe(2);

    const before = [await counter('commit-1', 'x2_commit_peer_reads_total'),
      await counter('commit-2', 'x2_commit_peer_reads_total')];
    const read = spawnSync('kcat', ['-b', cluster.brokers[0]!, '-C', '-t', 'peers', '-o', 'beginning', '-e',
      '-f', '%s\\n'], { encoding: 'utf8', timeout: 30_000 });
    expect(read.stdout.trim().split('\n').sort()).toEqual(Array.from({ length: 80 }, (_, i) => `v${i}`).sort());
    const after = [await counter('commit-1', 'x2_commit_peer_reads_total'),
      await counter('commit-2', 'x2_commit_peer_reads_total')];
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  }, 180_000);
});
