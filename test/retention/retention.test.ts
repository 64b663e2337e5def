/**
 * Retention end to end: topic `retention.ms` / `retention.bytes` and DeleteRecords move log starts
 * through `__x2_control`, and the commits apply them to their stores. Method: a real cluster
 * (sequencer, one commit, one gateway without tail cache so reads reach the commit,
 * X2_RETENTION_CHECK_MS=200 for both roles); batches are produced with a raw client so their
 * timestamps and sizes are exact (an hour-old batch is expired under retention.ms=60000 at once,
 * a fresh one is not; retention.bytes keeps whole newest batches; a retention.ms shortened by
 * AlterConfigs expires what the longer one kept). Checks: ListOffsets earliest moves to the
 * first kept batch, a Fetch below it is OFFSET_OUT_OF_RANGE without a history read, records
 * produced afterwards are fetched; DeleteRecords moves the commit's log start (its
 * x2_commit_log_start_moves_total) and a restarted gateway answers the same earliest offset from
 * the replayed control record.
 */
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produce } from '../../core/kafka/api/00-produce.ts';
import { fetch, type FetchRequest } from '../../core/kafka/api/01-fetch.ts';
import { listOffsets } from '../../core/kafka/api/02-list-offsets.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import { splitRecordBatches } from '../../core/kafka/record-batch.ts';
import { buildInternalBatch } from '../../core/roles/gateway/internal-batch.ts';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { RawKafka } from '../gateway/raw-client.ts';

const HOUR_MS = 3_600_000;
let cluster: Cluster;
let client: RawKafka;
let kafka: Kafka;
const checkMsBefore = process.env['X2_RETENTION_CHECK_MS'];

beforeAll(async () => {
  process.env['X2_RETENTION_CHECK_MS'] = '200';
  cluster = await Cluster.start({ gateways: 1, commits: 1, gatewayArgs: ['--tail-cache-bytes', '0'] });
  client = await RawKafka.open(cluster.gatewayPorts[0]!);
  kafka = new Kafka({ clientId: 'x2-retention', brokers: cluster.brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 } });
}, 120_000);

afterAll(async () => {
  if (checkMsBefore === undefined) delete process.env['X2_RETENTION_CHECK_MS'];
  else process.env['X2_RETENTION_CHECK_MS'] = checkMsBefore;
  client?.close();
  await cluster?.stop();
});

async function createTopic(topic: string, configs: Record<string, string>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: 1,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] });
  } finally {
    await admin.disconnect();
  }
}

async function produceBatch(topic: string, values: string[], timestampMs = Date.now()): Promise<number> {
  const answer = await client.request(produce, 7, { transactionalId: null, acks: -1, timeoutMs: 10_000,
    topics: [{ name: topic, partitions: [{ index: 0,
      records: buildInternalBatch(values.map((value) => Buffer.from(value)), timestampMs) }] }] }) as unknown as
    { topics: Array<{ partitions: Array<{ errorCode: number; baseOffset: number }> }> };
  const partition = answer.topics[0]!.partitions[0]!;
  expect(partition.errorCode).toBe(0);
  return partition.baseOffset;
}

async function listOffset(topic: string, timestamp: -1 | -2, port = cluster.gatewayPorts[0]!): Promise<number> {
  const raw = port === cluster.gatewayPorts[0] ? client : await RawKafka.open(port);
  try {
    const answer = await raw.request(listOffsets, 1, { replicaId: -1, isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp,
        maxNumOffsets: 1 }] }] });
    expect(answer.topics[0]!.partitions[0]!.errorCode).toBe(0);
    return answer.topics[0]!.partitions[0]!.offset;
  } finally {
    if (raw !== client) raw.close();
  }
}

function fetchRequest(topic: string, fetchOffset: number): FetchRequest {
  return { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0,
    sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset,
      logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' };
}

/** Fetches from `offset`: the error code and the base offsets of the batches answered. */
async function fetchFrom(topic: string, offset: number): Promise<{ errorCode: number; baseOffsets: number[] }> {
  const answer = await client.request(fetch, 11, fetchRequest(topic, offset));
  const partition = answer.responses[0]!.partitions[0]!;
  const split = splitRecordBatches(partition.records, { batchBytesMax: 1 << 20, fromProducer: false });
  expect(split.failure).toBeNull();
  return { errorCode: partition.errorCode, baseOffsets: split.batches.map((batch) => batch.header.baseOffset) };
}

/** A counter of a role, from the /metrics port its (last) start logged. */
async function metricOf(role: string, name: string): Promise<number> {
  const port = [...cluster.log(role).matchAll(/metrics on :(\d+)\/metrics/g)].at(-1)?.[1];
  expect(port).toBeDefined();
  const text = await (await globalThis.fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`));
  expect(line, `${name} in the /metrics of ${role}`).toBeDefined();
  return Number(line!.split(' ')[1]);
}

function commitMetric(name: string): Promise<number> {
  return metricOf('commit-1', name);
}

async function waitEarliest(topic: string, offset: number): Promise<void> {
  await waitFor(async () => await listOffset(topic, -2) === offset, { timeoutMs: 20_000,
    what: `ListOffsets earliest of ${topic} at ${offset}` });
}

describe('retention', () => {
  it('DeleteRecords moves the log start in the gateways and in the commit, and survives a gateway restart',
    async () => {
      await createTopic('ret-delete', {});
      for (let i = 0; i < 5; i++) await produceBatch('ret-delete', [`d${i}`]);
      expect(await commitMetric('x2_commit_log_start_moves_total')).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: ['ret-delete'] });
      await admin.deleteTopicRecords({ topic: 'ret-delete', partitions: [{ partition: 0, offset: '3' }] });
      await admin.disconnect();
      expect(await listOffset('ret-delete', -2)).toBe(3);
      await waitFor(async () => await commitMetric('x2_commit_log_start_moves_total') === 1, { timeoutMs: 20_000,
        what: 'the commit applying the log start move' });
      expect(cluster.log('commit-1')).not.toContain('not moved');
      // Below the log start the gateway answers by itself; from it, the commit serves (no tail cache).
      const historyReads = await metricOf('gateway-0', 'x2_gateway_history_reads_total');
      expect((await fetchFrom('ret-delete', 1)).errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
      expect(await metricOf('gateway-0', 'x2_gateway_history_reads_total')).toBe(historyReads);
      expect(await fetchFrom('ret-delete', 3)).toEqual({ errorCode: 0, baseOffsets: [3, 4] });
      expect(await metricOf('gateway-0', 'x2_gateway_history_reads_total')).toBeGreaterThan(historyReads);

      await cluster.kill('gateway-0');
      cluster.restart('gateway-0');
      await cluster.ready();
      client.close();
      client = await RawKafka.open(cluster.gatewayPorts[0]!);
      expect(await listOffset('ret-delete', -2)).toBe(3);
      expect(await fetchFrom('ret-delete', 3)).toEqual({ errorCode: 0, baseOffsets: [3, 4] });
    }, 60_000);

  it('retention.ms expires old batches, keeps fresh ones, and the topic keeps working', async () => {
    const movesBefore = await commitMetric('x2_commit_log_start_moves_total');
    await createTopic('ret-time', { 'retention.ms': '60000' });
    const old = Date.now() - HOUR_MS;
    await produceBatch('ret-time', ['t0', 't1'], old);
    await produceBatch('ret-time', ['t2'], old);
    const fresh = await produceBatch('ret-time', ['t3', 't4']);
    expect(fresh).toBe(3);
    await waitEarliest('ret-time', 3);
    expect((await fetchFrom('ret-time', 0)).errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
    expect((await fetchFrom('ret-time', 2)).errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
    expect(await produceBatch('ret-time', ['t5'])).toBe(5);
    expect(await fetchFrom('ret-time', 3)).toEqual({ errorCode: 0, baseOffsets: [3, 5] });
    expect(await listOffset('ret-time', -1)).toBe(6);
    await waitFor(async () => await commitMetric('x2_commit_log_start_moves_total') > movesBefore, { timeoutMs: 20_000,
      what: 'the commit applying the retention move' });
  }, 60_000);

  it('retention.ms shortened by AlterConfigs expires batches the old setting kept', async () => {
    await createTopic('ret-altered', { 'retention.ms': String(2 * HOUR_MS) });
    await createTopic('ret-witness', { 'retention.ms': '60000' });
    for (const topic of ['ret-altered', 'ret-witness']) {
      await produceBatch(topic, ['w0', 'w1'], Date.now() - HOUR_MS);
      expect(await produceBatch(topic, ['w2'])).toBe(2);
    }
    // Once the witness moved, a retention check has seen both topics: the two-hour one kept everything.
    await waitEarliest('ret-witness', 2);
    expect(await listOffset('ret-altered', -2)).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC,
        name: 'ret-altered', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    } finally {
      await admin.disconnect();
    }
    await waitEarliest('ret-altered', 2);
    expect((await fetchFrom('ret-altered', 0)).errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
    expect(await fetchFrom('ret-altered', 2)).toEqual({ errorCode: 0, baseOffsets: [2] });
  }, 60_000);

  it('retention.bytes keeps the newest whole batches that fit', async () => {
    const value = 'b'.repeat(200);
    const batchBytes = buildInternalBatch([Buffer.from(value)]).length;
    await createTopic('ret-bytes', { 'retention.bytes': String(Math.floor(batchBytes * 2.5)) });
    for (let i = 0; i < 6; i++) expect(await produceBatch('ret-bytes', [value])).toBe(i);
    await waitEarliest('ret-bytes', 4);
    expect((await fetchFrom('ret-bytes', 3)).errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
    expect(await fetchFrom('ret-bytes', 4)).toEqual({ errorCode: 0, baseOffsets: [4, 5] });
    expect(await produceBatch('ret-bytes', [value])).toBe(6);
    await waitEarliest('ret-bytes', 5);
    expect(await fetchFrom('ret-bytes', 5)).toEqual({ errorCode: 0, baseOffsets: [5, 6] });
  }, 60_000);
});
