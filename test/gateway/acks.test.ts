/**
 * Goal: Produce acks=1 is answered once the batch is durable on one commit, acks=all only once it
 * is durable on the write quorum, the high watermark (what Fetch and ListOffsets show) stays the
 * committed seq, and nothing acknowledged is lost. Method: a cluster of dist/x2 processes
 * (sequencer, two commits with write quorum 2, one gateway) and kafkajs; one commit is frozen
 * with SIGSTOP: an acks=1 send is answered, the high watermark does not include it, an acks=all
 * send stays unanswered; after SIGCONT the acks=all send is answered; then every process is
 * killed with SIGKILL and restarted, and a consumer reads every acknowledged record once, in order.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

const TOPIC = 'acks';
let cluster: Cluster;
let frozenPid: number | null = null;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, commits: 2 });
}, 120_000);

afterAll(async () => {
  if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
  await cluster?.stop();
});

function kafkaOf(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'x2-acks', brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 } });
}

async function send(producer: Producer, acks: number, value: string): Promise<string> {
  const [result] = await producer.send({ topic: TOPIC, acks, timeout: 60_000, messages: [{ partition: 0, value }] });
  return result!.baseOffset ?? '-1';
}

async function highWatermark(kafka: Kafka): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [partition] = await admin.fetchTopicOffsets(TOPIC);
    return partition!.high;
  } finally {
    await admin.disconnect();
  }
}

async function readAll(kafka: Kafka, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `acks-read-${Date.now()}`, maxWaitTimeInMs: 200 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
  try {
    await waitFor(() => values.length >= count, { timeoutMs: 60_000, what: `${count} records` });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('Produce acks=1 and acks=all', () => {
  it('acks=1 is answered with one durable copy, acks=all waits for the quorum, nothing acked is lost', async () => {
    const kafka = kafkaOf(cluster.brokers);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    expect(await send(producer, -1, 'w0')).toBe('0');
    expect(await send(producer, 1, 'w1')).toBe('1');
    // acks=1 may be answered before the quorum has it: the high watermark follows once it does.
    await waitFor(async () => await highWatermark(kafka) === '2', { timeoutMs: 30_000, what: 'high watermark 2' });

    frozenPid = cluster.pidOf('commit-2');
    expect(frozenPid).not.toBeNull();
    process.kill(frozenPid!, 'SIGSTOP');
    // One commit still writes: acks=1 is answered, but the record is not committed (not fetchable).
    expect(await send(producer, 1, 'one')).toBe('2');
    expect(await highWatermark(kafka)).toBe('2');
    let quorumOffset: string | null = null;
    const quorum = send(producer, -1, 'all').then((offset) => { quorumOffset = offset; });
    // Asserting that something does not happen: give it time it would need if it were wrong.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(quorumOffset).toBeNull();
    expect(await highWatermark(kafka)).toBe('2');

    process.kill(frozenPid!, 'SIGCONT');
    frozenPid = null;
    await quorum;
    expect(quorumOffset).toBe('3');
    expect(await highWatermark(kafka)).toBe('4');
    await producer.disconnect();

    await cluster.killAll();
    cluster.restartAll();
    await cluster.ready();
    const restarted = kafkaOf(cluster.brokers);
    expect(await readAll(restarted, 4)).toEqual(['w0', 'w1', 'one', 'all']);
    expect(await highWatermark(restarted)).toBe('4');
  }, 180_000);
});
