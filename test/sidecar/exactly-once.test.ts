/**
 * Goal: a sidecar's output is exactly once across kill -9, and sidecars sharing a name split
 * the work. Method: a real cluster from dist/x2. (1) While kafkajs produces 100,000 trades, a
 * pass-through module sidecar is killed with SIGKILL at seeded random moments and started again
 * each time; at the end the output holds every trade exactly once, in order per key. (2) Two
 * sidecars with the same --name filter the same input: each claims part of the input
 * partitions, together they write each matching trade once, and x2 top lists both. (3) A backlog of 1 KiB
 * records larger than the sidecar's window of appends in flight drains completely and intact.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { prng, testSeed } from '../harness/seed.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, runX2 } from '../harness/x2.ts';
import {
  expectExactly, kafkaFor, produceTrades, readTopic, startSidecar, stopSidecar, topicCount, tradeOf,
  type SidecarProcess, type Trade,
} from './sidecar-harness.ts';

const TRADES = 100_000;
const allTrades: Trade[] = Array.from({ length: TRADES }, (_, n) => tradeOf(n));

let cluster: Cluster;
let kafka: Kafka;
let folder: string;

beforeAll(async () => {
  cluster = await Cluster.start({ river: 'unicast', readyTimeoutMs: 180_000 });
  kafka = kafkaFor(cluster.brokers);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'trades', numPartitions: 3 }] });
  await admin.disconnect();
  folder = makeTempDir('x2-sidecar-eo-');
  writeFileSync(join(folder, 'pass.mjs'), 'export default (record) => ({ key: record.key, value: record.value });\n');
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function waitForCount(topic: string, count: number, running: SidecarProcess[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const exits = running.map((sidecar) => sidecar.exited.then((code) => {
      throw new Error(`sidecar exited ${code}: ${sidecar.output()}`);
    }));
    await Promise.race([...exits, waitFor(async () => await topicCount(admin, topic) >= count,
      { timeoutMs: 240_000, intervalMs: 250, what: `${count} records in ${topic}` })]);
  } finally {
    await admin.disconnect();
  }
}

describe('x2 sidecar exactly once', () => {
  it('kill -9 at random moments while input arrives: every trade exactly once, in order per key', async () => {
    const seed = testSeed('sidecar kill -9');
    const random = prng(seed);
    const args = ['--sequencer', cluster.sequencerAddress, '--from', 'trades', '--to', 'all-out', '--partitions', '3',
      '--module', 'pass.mjs', '--name', 'passthrough', '--session-timeout-ms', '2000'];
    const producing = produceTrades(kafka, 'trades', TRADES);
    const admin = kafka.admin();
    await admin.connect();
    const kills = 5;
    const countsAtKill: number[] = [];
    for (let kill = 0; kill < kills; kill++) {
      const sidecar = startSidecar(args, folder);
      // Kill once the sidecar has written something new (it is mid-stream), after a random delay.
      const before = await topicCount(admin, 'all-out');
      await Promise.race([
        sidecar.exited.then((code) => { throw new Error(`sidecar exited ${code}: ${sidecar.output()}`); }),
        waitFor(async () => await topicCount(admin, 'all-out') > before || (kill > 0 && before >= TRADES),
          { timeoutMs: 120_000, intervalMs: 20, what: 'new output' }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 400)));
      expect(await stopSidecar(sidecar, 'SIGKILL'), `seed ${seed}`).toBe(null);
      countsAtKill.push(await topicCount(admin, 'all-out'));
    }
    await admin.disconnect();
    await producing;
    process.stderr.write(`[sidecar kill -9] output records at each kill: ${countsAtKill.join(', ')}\n`);
    expect(countsAtKill.some((count) => count > 0 && count < TRADES), 'a kill landed mid-stream').toBe(true);
    const last = startSidecar(args, folder);
    await waitForCount('all-out', TRADES, [last]);
    await waitFor(() => /claimed trades\[/.test(last.output()), { timeoutMs: 120_000, what: 'the last claim' });
    expect(await stopSidecar(last), last.output()).toBe(0);
    expectExactly(await readTopic(kafka, 'all-out'), allTrades);
  }, 600_000);

  it('two sidecars with one name split the partitions and write each output once', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'trades-two', numPartitions: 3 }] });
    await admin.disconnect();
    await produceTrades(kafka, 'trades-two', 30_000);
    const expected = allTrades.filter((trade) => trade.symbol === 'MSFT' && trade.n < 30_000);
    const common = ['--sequencer', cluster.sequencerAddress, '--from', 'trades-two', '--to', 'msft-two',
      '--name', 'msft', '--where', 'value.symbol == "MSFT"'];
    const first = startSidecar(common);
    const second = startSidecar(common);
    await waitForCount('msft-two', expected.length, [first, second]);
    // Both publish metrics snapshots: x2 top lists them as sidecar nodes.
    const top = await waitFor(() => {
      const result = runX2(['top', '--json', '--bootstrap', cluster.bootstrap, '--wait-ms', '2500']);
      return new Set(result.stdout.match(/sidecar-msft-\d+-[0-9a-f]{6}/g)).size >= 2 ? result : null;
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'both sidecars in x2 top' });
    expect(top.code).toBe(0);
    expect(await stopSidecar(first), first.output()).toBe(0);
    expect(await stopSidecar(second), second.output()).toBe(0);
    // trades-two has 3 partitions: each member claimed at least one of them.
    expect(first.output()).toMatch(/claimed trades-two\[\d\]/);
    expect(second.output()).toMatch(/claimed trades-two\[\d\]/);
    expectExactly(await readTopic(kafka, 'msft-two'), expected);
  }, 600_000);

  it('a backlog of 1 KiB records beyond the in-flight window drains intact', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kib', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const count = 24_000;
    for (let start = 0; start < count; start += 400) {
      const messages = Array.from({ length: 400 }, (_, i) => ({ value: `${start + i}:`.padEnd(1024, 'x') }));
      await producer.send({ topic: 'kib', acks: -1, messages });
    }
    await producer.disconnect();
    const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', 'kib', '--to', 'kib-copy',
      '--module', 'pass.mjs'], folder);
    await waitForCount('kib-copy', count, [sidecar]);
    expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    const copied = await readTopic(kafka, 'kib-copy');
    expect(copied.length).toBe(count);
    copied.sort((a, b) => a.offset - b.offset);
    copied.forEach((record, n) => expect(record.value).toBe(`${n}:`.padEnd(1024, 'x')));
  }, 600_000);
});
