/**
 * Single-role failures under a running cluster (sequencer, two commits, two gateways). Method:
 * a consumer group commits offsets through its coordinator; then the sequencer is killed with
 * SIGKILL and restarted, and records produced afterwards must follow the earlier ones; then the
 * coordinator gateway is killed, and the other gateway must take the group over with its
 * committed offsets (a new member resumes exactly after them) and still list the topics; the
 * killed gateway, restarted, replays the river (header-only reads from the commits, checked on
 * their metrics) and serves the same records (history reads, whole).
 */
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, commits: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function kafkaOf(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'x2-restart', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10,
    initialRetryTime: 200 } });
}

async function produceValues(kafka: Kafka, values: string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'restart', acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
  await producer.disconnect();
}

async function consumeFromGroup(kafka: Kafka, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: 'restart-group', maxWaitTimeInMs: 200, sessionTimeout: 6000 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: 'restart', fromBeginning: true });
  await consumer.run({ autoCommitThreshold: 1,
    eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
  await waitFor(() => values.length >= count, { timeoutMs: 60_000, what: `${count} records from the group` });
  await consumer.disconnect();
  return values;
}

describe('single-role failures', () => {
  it('survives a sequencer kill -9 and a gateway kill -9 with offsets and data intact', async () => {
    const kafka = kafkaOf(cluster.brokers);
    await produceValues(kafka, ['a0', 'a1', 'a2']);
    expect(await consumeFromGroup(kafka, 3)).toEqual(['a0', 'a1', 'a2']);

    await cluster.kill('sequencer');
    cluster.restart('sequencer');
    await produceValues(kafka, ['b0', 'b1']);
    expect(await consumeFromGroup(kafka, 2)).toEqual(['b0', 'b1']);

    // Kill each gateway in turn (one of them coordinates the group); the other must take it over.
    for (const victim of ['gateway-0', 'gateway-1']) {
      await cluster.kill(victim);
      const survivor = victim === 'gateway-0' ? cluster.brokers[1]! : cluster.brokers[0]!;
      const survivorKafka = kafkaOf([survivor]);
      await produceValues(survivorKafka, [`c-${victim}`]);
      // The group resumes after its committed offset, whatever gateway coordinated it before.
      expect(await consumeFromGroup(survivorKafka, 1)).toEqual([`c-${victim}`]);
      cluster.restart(victim);
      await cluster.ready();
    }
    const all = spawnSync('kcat', ['-b', cluster.brokers[0]!, '-C', '-t', 'restart', '-o', 'beginning', '-e', '-f',
      '%s\\n'],
      { encoding: 'utf8', timeout: 30_000 }).stdout.trim().split('\n');
    expect(all).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c-gateway-0', 'c-gateway-1']);
    // The restarted gateways replayed from the commits with header-only reads (their batches
    // above came from history reads, whole).
    let headerReads = 0;
    for (const commit of ['commit-1', 'commit-2']) {
      const port = [...cluster.log(commit).matchAll(/metrics on :(\d+)\/metrics/g)].at(-1)?.[1];
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      headerReads += Number(/^x2_commit_peer_header_reads_total(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    expect(headerReads).toBeGreaterThan(0);
  }, 240_000);
});
