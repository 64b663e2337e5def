/**
 * Two gateways, a sequencer and two commits (write quorum 2) as separate processes, with real
 * clients; then kill -9 of every process and a restart. Method: kcat -L must list both gateways
 * and spread partition leadership over them; kafkajs produces through both (it follows the
 * leaders) and a 2-member group consumes everything. Then producers run with acks=all and no
 * retries while every process is killed with SIGKILL; after a restart of all of them, every
 * acknowledged record must be there exactly once, at its acknowledged offset, in order, and each
 * partition's offsets must run 0..n-1 without a gap.
 */
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { prng, testSeed } from '../harness/seed.ts';
import { waitFor } from '../harness/wait-for.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, commits: 2, gatewayArgs: ['--partitions', '4'] });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function kafkaOf(): Kafka {
  return new Kafka({ clientId: 'x2-cluster-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 } });
}

describe('a cluster with two gateways', () => {
  it('lists both gateways and spreads leadership (kcat -L)', async () => {
    const kafka = kafkaOf();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 4 }] });
    await admin.disconnect();
    await waitFor(() => {
      const listed = spawnSync('kcat', ['-b', cluster.brokers[1]!, '-L', '-t', 'spread'], { encoding: 'utf8' }).stdout;
      return listed.includes(`broker 0 at ${cluster.brokers[0]}`)
        && listed.includes(`broker 1 at ${cluster.brokers[1]}`)
        && listed.includes('leader 0,') && listed.includes('leader 1,');
    }, { timeoutMs: 20_000, what: 'both gateways in Metadata with leadership spread' });
  });

  it('produces through both gateways and consumes with a 2-member group', async () => {
    const kafka = kafkaOf();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'spread', acks: -1, messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`,
      value: `v${i}` })) });
    await producer.disconnect();
    const consumed = new Set<string>();
    const consumers = [kafka.consumer({ groupId: 'two', maxWaitTimeInMs: 200 }), kafka.consumer({ groupId: 'two',
      maxWaitTimeInMs: 200 })];
    for (const consumer of consumers) {
      await consumer.connect();
      await consumer.subscribe({ topic: 'spread', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { consumed.add(message.value!.toString()); } });
    }
    try {
      await waitFor(() => consumed.size === 200, { timeoutMs: 45_000, what: '200 records consumed by the group' });
    } finally {
      await Promise.all(consumers.map((consumer) => consumer.disconnect()));
    }
  });

  it('kill -9 of every process: every acknowledged record survives once, in order', async () => {
    const random = prng(testSeed('cluster kill -9'));
    const kafka = new Kafka({ clientId: 'x2-kill', brokers: cluster.brokers, logLevel: logLevel.NOTHING,
      retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 4 }] });
    await admin.disconnect();
    const acked = new Map<string, number>(); // value -> acknowledged offset
    const producers: Producer[] = [];
    let running = true;
    const loops = [0, 1, 2, 3].map(async (partition) => {
      const producer = kafka.producer({ retry: { retries: 0 } });
      producers.push(producer);
      await producer.connect();
      let sequence = 0;
      while (running) {
        const size = 1 + Math.floor(random() * 20);
        const values = Array.from({ length: size }, () => `p${partition}-${sequence++}`);
        try {
          const [result] = await producer.send({ topic: 'durable', acks: -1, timeout: 5000,
            messages: values.map((value) => ({ partition, value })) });
          const baseOffset = Number(result!.baseOffset);
          values.forEach((value, i) => acked.set(value, baseOffset + i));
        } catch {
          return; // the cluster went down under this producer
        }
      }
    });
    await waitFor(() => acked.size >= 2000, { timeoutMs: 60_000, what: '2000 acknowledged records' });
    await cluster.killAll();
    running = false;
    await Promise.all(loops);
    await Promise.all(producers.map((producer) => producer.disconnect().catch(() => undefined)));
    cluster.restartAll();
    await cluster.ready();

    const reader = new Kafka({ clientId: 'x2-check', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const checkAdmin = reader.admin();
    await checkAdmin.connect();
    const offsets = await waitFor(async () => {
      const found = await checkAdmin.fetchTopicOffsets('durable').catch(() => null);
      return found && found.length === 4 ? found : null;
    }, { timeoutMs: 30_000, what: 'topic offsets after the restart' });
    await checkAdmin.disconnect();
    const highs = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    const stored = new Map<number, string[]>();
    const consumer = reader.consumer({ groupId: 'durable-check', maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'durable', fromBeginning: true });
    let total = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = stored.get(partition) ?? [];
        stored.set(partition, list);
        expect(Number(message.offset)).toBe(list.length); // offsets 0..n-1, no gap, no repeat
        list.push(message.value!.toString());
        total += 1;
      },
    });
    const expectedTotal = [...highs.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => total >= expectedTotal, { timeoutMs: 60_000,
      what: `${expectedTotal} stored records read back` });
    await consumer.disconnect();
    const seen = new Set<string>();
    for (const [value, offset] of acked) {
      const partition = Number(value.slice(1, value.indexOf('-')));
      expect(stored.get(partition)?.[offset], `acknowledged ${value} at offset ${offset}`).toBe(value);
    }
    for (const list of stored.values()) {
      for (const value of list) {
        expect(seen.has(value), `${value} stored twice`).toBe(false);
        seen.add(value);
      }
      // Values of one partition were produced in order: their sequence numbers must increase.
      const sequences = list.map((value) => Number(value.slice(value.indexOf('-') + 1)));
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  }, 240_000);
});
