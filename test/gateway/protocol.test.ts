/**
 * The gateway at the protocol level, with a raw client (raw-client.ts) against a real cluster
 * (sequencer, two commits, one gateway with the tail cache off, so every Fetch is a history read
 * from a commit). Method: send exact requests real clients rarely send and check the answers:
 * idempotent duplicates get their original offset and are not stored twice, a sequence gap is
 * OUT_OF_ORDER_SEQUENCE_NUMBER, a bad CRC is CORRUPT_MESSAGE and stores nothing, acks=0 gets no
 * response but is stored, every fetched partition is echoed, offsets out of range are refused,
 * a long-poll wakes on new data, ListOffsets by time finds the record inside a batch, ListOffsets
 * v0 answers old-style offset lists (latest, earliest, by time, max_num_offsets 0 and < 0), and bad
 * frames (oversize, unknown API key) close the connection while an unknown ApiVersions version
 * gets the v0 fallback.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../native/index.ts';
import { produce } from '../../core/kafka/api/00-produce.ts';
import { fetch, type FetchRequest } from '../../core/kafka/api/01-fetch.ts';
import { listOffsets } from '../../core/kafka/api/02-list-offsets.ts';
import { metadata } from '../../core/kafka/api/03-metadata.ts';
import { apiVersions } from '../../core/kafka/api/18-api-versions.ts';
import { deleteRecords } from '../../core/kafka/api/21-delete-records.ts';
import { initProducerId } from '../../core/kafka/api/22-init-producer-id.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import { splitRecordBatches } from '../../core/kafka/record-batch.ts';
import { buildInternalBatch } from '../../core/roles/gateway/internal-batch.ts';
import { Cluster } from '../harness/cluster.ts';
import { RawKafka } from './raw-client.ts';

let cluster: Cluster;
let client: RawKafka;

beforeAll(async () => {
  cluster = await Cluster.start({ gatewayArgs: ['--tail-cache-bytes', '0', '--request-bytes-max', '1MiB'] });
  client = await RawKafka.open(cluster.gatewayPorts[0]!);
  const created = await client.request(metadata, 4, { topics: [{ name: 'raw' }, { name: 'raw-idem' },
    { name: 'raw-v0' }], allowAutoTopicCreation: true });
  expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0, 0]);
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

function batchOf(values: string[], producer?: { id: number; epoch: number; sequence: number }): Buffer {
  const batch = buildInternalBatch(values.map((value) => Buffer.from(value)));
  if (producer) {
    batch.writeInt32BE(Math.floor(producer.id / 2 ** 32), 43);
    batch.writeUInt32BE(producer.id % 2 ** 32, 47);
    batch.writeInt16BE(producer.epoch, 51);
    batch.writeInt32BE(producer.sequence, 53);
    batch.writeUInt32BE(crc32c(batch, 0, 21, batch.length), 17);
  }
  return batch;
}

function produceTo(topic: string, records: Buffer, acks = -1): ReturnType<typeof client.request<never, never>> {
  return client.request(produce, 7, { transactionalId: null, acks, timeoutMs: 10_000,
    topics: [{ name: topic, partitions: [{ index: 0, records }] }] }) as never;
}

async function highWatermark(topic: string): Promise<number> {
  const answer = await client.request(listOffsets, 1, { replicaId: -1, isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1,
      maxNumOffsets: 1 }] }] });
  return answer.topics[0]!.partitions[0]!.offset;
}

/** A counter of the gateway's (on its metrics port). */
async function gatewayCounter(name: string): Promise<number> {
  const port = [...cluster.log('gateway-0').matchAll(/metrics on :(\d+)\/metrics/g)].at(-1)?.[1];
  expect(port).toBeDefined();
  const text = await (await globalThis.fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1];
  expect(value, name).toBeDefined();
  return Number(value);
}

/** The gateway's history reads so far. */
function historyReads(): Promise<number> {
  return gatewayCounter('x2_gateway_history_reads_total');
}

function fetchRequest(topic: string, fetchOffset: number, maxWaitMs = 0): FetchRequest {
  return { replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1,
      partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '' };
}

describe('gateway protocol', () => {
  it('idempotent producer: a duplicate gets its original offset; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const init = await client.request(initProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(init.errorCode).toBe(0);
    const producer = { id: init.producerId, epoch: init.producerEpoch, sequence: 0 };
    const first = batchOf(['a', 'b', 'c'], producer);
    const answers = await Promise.all([produceTo('raw-idem', first), produceTo('raw-idem', first)]) as unknown as
      Array<{ topics: Array<{ partitions: Array<{ errorCode: number; baseOffset: number }> }> }>;
    for (const answer of answers) expect(answer.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0,
      baseOffset: 0 });
    const again = await produceTo('raw-idem', first) as unknown as typeof answers[number];
    expect(again.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const next = await produceTo('raw-idem', batchOf(['d'], { ...producer,
      sequence: 3 })) as unknown as typeof answers[number];
    expect(next.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 3 });
    const gap = await produceTo('raw-idem', batchOf(['z'], { ...producer,
      sequence: 10 })) as unknown as typeof answers[number];
    expect(gap.topics[0]!.partitions[0]!.errorCode).toBe(KAFKA_ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await highWatermark('raw-idem')).toBe(4);
  });

  it('a batch with a bad CRC is CORRUPT_MESSAGE and nothing is stored', async () => {
    const before = await highWatermark('raw');
    const batch = batchOf(['x']);
    batch.writeUInt8(batch.readUInt8(batch.length - 1) ^ 0xff, batch.length - 1);
    const answer = await produceTo('raw',
      batch) as unknown as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
    expect(answer.topics[0]!.partitions[0]!.errorCode).toBe(KAFKA_ERROR.CORRUPT_MESSAGE);
    expect(await highWatermark('raw')).toBe(before);
  });

  it('acks=0 gets no response, yet the batch is stored and the next answer is in order', async () => {
    const before = await highWatermark('raw');
    const silent = await RawKafka.open(cluster.gatewayPorts[0]!);
    void silent.request(produce, 7, { transactionalId: null, acks: 0, timeoutMs: 10_000,
      topics: [{ name: 'raw', partitions: [{ index: 0, records: batchOf(['no-ack-1',
        'no-ack-2']) }] }] }).catch(() => undefined);
    await expect.poll(() => highWatermark('raw'), { timeout: 10_000 }).toBe(before + 2);
    const versions = await silent.request(apiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    expect(versions.errorCode).toBe(0);
    silent.close();
  });

  it('fetch: whole batches from history, every partition echoed, out of range refused', async () => {
    const base = await highWatermark('raw');
    await produceTo('raw', batchOf(['h0', 'h1', 'h2']));
    const request = fetchRequest('raw', base + 1);
    request.topics.push({ topic: 'no-such-topic', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0,
      logStartOffset: -1, partitionMaxBytes: 1024 }] });
    request.topics[0]?.partitions.push({ partition: 7, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1,
      partitionMaxBytes: 1024 });
    const answer = await client.request(fetch, 11, request);
    const [raw, missing] = answer.responses;
    expect(raw!.partitions.map((p) => p.errorCode)).toEqual([0, KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(missing!.partitions[0]!.errorCode).toBe(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION);
    const batches = splitRecordBatches(raw!.partitions[0]!.records, { batchBytesMax: 1 << 20, fromProducer: false });
    expect(batches.failure).toBeNull();
    expect(batches.batches[0]!.header.baseOffset).toBe(base); // the batch holding the offset, from its start
    expect(raw!.partitions[0]!.highWatermark).toBe(base + 3);
    const beyond = await client.request(fetch, 11, fetchRequest('raw', base + 100));
    expect(beyond.responses[0]!.partitions[0]!.errorCode).toBe(KAFKA_ERROR.OFFSET_OUT_OF_RANGE);
  });

  it('a history read costs peer requests by the partition\'s bytes, not by the topics stored around it', async () => {
    // Each round: an 8 KiB batch for hist-0 between 64 KiB batches of 11 other topics, in one
    // Produce. Read by seq, each peer request would cover ~1.4 rounds (its 1 MiB holds mostly
    // other topics); read through the commit's index, the 30 batches of hist-0 are one request.
    const topics = Array.from({ length: 12 }, (_, i) => `hist-${i}`);
    const rounds = 30;
    const created = await client.request(metadata, 4, { topics: topics.map((name) => ({ name })),
      allowAutoTopicCreation: true });
    expect(created.topics.map((topic) => topic.errorCode)).toEqual(topics.map(() => 0));
    for (let round = 0; round < rounds; round++) {
      const answer = await client.request(produce, 7, { transactionalId: null, acks: -1, timeoutMs: 10_000,
        topics: topics.map((name, i) => ({ name, partitions: [{ index: 0,
          records: batchOf([`${round}:`.padEnd(i === 0 ? 8 * 1024 : 64 * 1024, String.fromCharCode(97 + i))]) }] })),
      }) as unknown as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
      expect(answer.topics.map((topic) => topic.partitions[0]!.errorCode)).toEqual(topics.map(() => 0));
    }
    const readsBefore = await historyReads();
    const answer = await client.request(fetch, 11, fetchRequest('hist-0', 0));
    const readsMade = await historyReads() - readsBefore;
    const batches = splitRecordBatches(answer.responses[0]!.partitions[0]!.records, { batchBytesMax: 1 << 20,
      fromProducer: false });
    expect(batches.failure).toBeNull();
    expect(batches.batches.map((view) => view.header.baseOffset)).toEqual(Array.from({ length: rounds }, (_, i) => i));
    expect(readsMade).toBeGreaterThanOrEqual(1);
    expect(readsMade).toBeLessThanOrEqual(2);
    // The gateway's river health is served as a commit's is (each counter must be there). On a
    // healthy loopback cluster no frame is refused; frames that arrive before the gateway is live
    // (while it joins) are counted apart, not as refused.
    expect(await gatewayCounter('x2_river_frames_received_total')).toBeGreaterThan(rounds);
    expect(await gatewayCounter('x2_river_frames_refused_total')).toBe(0);
    for (const name of ['x2_river_frames_before_live_total', 'x2_river_naks_sent_total',
      'x2_river_retransmits_received_total', 'x2_river_repaired_entries_total']) await gatewayCounter(name);

    // All twelve from history in one Fetch (their reads overlap): each answer is whole batches in
    // offset order from 0, within its partition's 1 MiB; together within the Fetch's 3 MiB, the
    // partitions with data first, the rest echoed empty.
    const fetchBytesMax = 3 << 20;
    const readsBeforeAll = await historyReads();
    const all = await client.request(fetch, 11, { ...fetchRequest('hist-0', 0), maxBytes: fetchBytesMax,
      topics: topics.map((topic) => ({ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0,
        logStartOffset: -1, partitionMaxBytes: 1 << 20 }] })) });
    expect(all.responses.map((topic) => topic.topic)).toEqual(topics);
    const sizes = all.responses.map((topic, i) => {
      const answer = topic.partitions[0]!;
      expect(answer.errorCode).toBe(0);
      const records = answer.records ?? Buffer.alloc(0);
      if (records.length > 0) expect(records.includes(Buffer.alloc(64, 97 + i))).toBe(true);
      const split = splitRecordBatches(records, { batchBytesMax: 1 << 20, fromProducer: false });
      expect(split.failure).toBeNull();
      expect(split.batches.map((view) => view.header.baseOffset)).toEqual(split.batches.map((_, j) => j));
      expect(records.length).toBeLessThanOrEqual(1 << 20);
      return records.length;
    });
    const total = sizes.reduce((sum, bytes) => sum + bytes, 0);
    expect(total).toBeLessThanOrEqual(fetchBytesMax);
    expect(total).toBeGreaterThan(fetchBytesMax - 2 * 70 * 1024); // filled up to about a batch or two
    const filled = sizes.findIndex((bytes) => bytes === 0);
    expect(filled).toBeGreaterThan(2);
    expect(sizes.slice(filled).every((bytes) => bytes === 0)).toBe(true);
    // Partitions whose first batch could no longer fit were not read (at most two requests each
    // for those with data: a commit's answer may stop one batch short of the limit).
    expect(await historyReads() - readsBeforeAll).toBeLessThanOrEqual(2 * filled);

    // A partition whose history takes more than one peer request (1.9 MB in 1 MiB requests): its
    // batches come in two answers and are joined whole, in order.
    const twoAnswers = await client.request(fetch, 11, { ...fetchRequest('hist-1', 0), maxBytes: 3 << 20,
      topics: [{ topic: 'hist-1', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0,
        logStartOffset: -1, partitionMaxBytes: 3 << 20 }] }] });
    const joined = twoAnswers.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0);
    const joinedBatches = splitRecordBatches(joined, { batchBytesMax: 1 << 20, fromProducer: false });
    expect(joinedBatches.failure).toBeNull();
    expect(joinedBatches.batches.map((view) => view.header.baseOffset)).toEqual(Array.from({ length: rounds },
      (_, i) => i));
    expect(joined.length).toBeGreaterThan(1 << 20);
  });

  it('a long-poll at the head wakes when new data is committed', async () => {
    const head = await highWatermark('raw');
    const other = await RawKafka.open(cluster.gatewayPorts[0]!);
    try {
      const waiting = other.request(fetch, 11, fetchRequest('raw', head, 20_000));
      await produceTo('raw', batchOf(['woken']));
      const answer = await waiting;
      const batches = splitRecordBatches(answer.responses[0]!.partitions[0]!.records, { batchBytesMax: 1 << 20,
        fromProducer: false });
      expect(batches.batches.map((view) => view.header.baseOffset)).toEqual([head]);
    } finally {
      other.close();
    }
  });

  it('ListOffsets by time answers the record, inside a batch read from a commit', async () => {
    const kafka = new Kafka({ clientId: 'by-time', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'by-time', acks: -1, messages: [1000, 2000, 3000].map((timestampMs, i) =>
      ({ partition: 0, value: `t${i}`, timestamp: String(1_700_000_000_000 + timestampMs) })) });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const found = await admin.fetchTopicOffsetsByTimestamp('by-time', 1_700_000_001_500);
      expect(found).toEqual([{ partition: 0, offset: '1' }]);
      const none = await admin.fetchTopicOffsetsByTimestamp('by-time', 1_700_000_009_000);
      expect(none[0]!.offset).toBe('3'); // kafkajs maps "no such record" (-1) to the high watermark
    } finally {
      await admin.disconnect();
    }
  });

  it('ListOffsets v0: [high watermark], [log start], [offset of a time], [] for max_num_offsets 0', async () => {
    const versions = await client.request(apiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    expect(versions.apiKeys.find((key) => key.apiKey === 2)).toMatchObject({ minVersion: 0, maxVersion: 5 });
    const at = (ms: number): number => 1_700_000_000_000 + ms;
    await produceTo('raw-v0', buildInternalBatch([Buffer.from('a'), Buffer.from('b')], at(1000))); // offsets 0-1
    await produceTo('raw-v0', buildInternalBatch([Buffer.from('c')], at(2000))); // 2
    await produceTo('raw-v0', buildInternalBatch([Buffer.from('d'), Buffer.from('e')], at(3000))); // 3-4
    const deleted = await client.request(deleteRecords, 1, { timeoutMs: 10_000,
      topics: [{ name: 'raw-v0', partitions: [{ partitionIndex: 0, offset: 1 }] }] });
    expect(deleted.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 1 });
    const v0 = async (timestamp: number, maxNumOffsets: number, partitionIndex = 0): Promise<unknown> => {
      const answer = await client.request(listOffsets, 0, { replicaId: -1, isolationLevel: 0,
        topics: [{ name: 'raw-v0', partitions: [{ partitionIndex, currentLeaderEpoch: -1, timestamp,
          maxNumOffsets }] }] });
      expect(answer.topics.map((topic) => topic.name)).toEqual(['raw-v0']);
      const { errorCode, oldStyleOffsets } = answer.topics[0]!.partitions[0]!;
      return { errorCode, oldStyleOffsets };
    };
    const offsets = (list: number[]): object => ({ errorCode: 0, oldStyleOffsets: list });
    expect(await v0(-1, 1)).toEqual(offsets([5])); // latest: the high watermark
    expect(await v0(-1, 10)).toEqual(offsets([5])); // no segments: one offset however many are asked for
    expect(await v0(-2, 1)).toEqual(offsets([1])); // earliest: the log start after DeleteRecords
    expect(await v0(at(1500), 1)).toEqual(offsets([2])); // the first record at or after the time
    expect(await v0(at(2000), 1)).toEqual(offsets([2]));
    expect(await v0(at(0), 1)).toEqual(offsets([1])); // not below the log start
    expect(await v0(at(9000), 1)).toEqual(offsets([5])); // later than every record: the high watermark
    expect(await v0(-1, 0)).toEqual(offsets([]));
    expect(await v0(-2, 0)).toEqual(offsets([]));
    expect(await v0(at(1500), 0)).toEqual(offsets([]));
    expect(await v0(-1, -1)).toEqual({ errorCode: KAFKA_ERROR.INVALID_REQUEST, oldStyleOffsets: [] });
    expect(await v0(-1, 1, 9)).toEqual({ errorCode: KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION, oldStyleOffsets: [] });
  });

  it('bad frames close the connection; an unknown ApiVersions version gets the v0 fallback', async () => {
    const versions = await client.request(apiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    expect(versions.apiKeys.find((key) => key.apiKey === 0)).toMatchObject({ minVersion: 0, maxVersion: 7 });
    for (const frame of [
      (() => { const b = Buffer.alloc(12); b.writeInt32BE(2 * 1024 * 1024, 0); return b; })(), // oversize
      (() => { const b = Buffer.alloc(14); b.writeInt32BE(10, 0); b.writeInt16BE(99, 4); return b; })(), // unknown key
      (() => { const b = Buffer.alloc(4); b.writeInt32BE(-5, 0); return b; })(), // negative size
    ]) {
      const victim = await RawKafka.open(cluster.gatewayPorts[0]!);
      victim.write(frame);
      expect(await victim.whenClosed(10_000)).toBe(true);
    }
    const fallback = await RawKafka.open(cluster.gatewayPorts[0]!);
    const frame = Buffer.alloc(15); // header v2 (flexible): client id null, then an empty tag section
    frame.writeInt32BE(11, 0);
    frame.writeInt16BE(18, 4);
    frame.writeInt16BE(9, 6);
    frame.writeInt32BE(77, 8);
    frame.writeInt16BE(-1, 12);
    const reply = await new Promise<Buffer>((resolve) => { fallback.socket.once('data',
      resolve); fallback.write(frame); });
    expect(reply.readInt32BE(4)).toBe(77);
    expect(reply.readInt16BE(8)).toBe(KAFKA_ERROR.UNSUPPORTED_VERSION);
    fallback.close();
    expect(await highWatermark('raw')).toBeGreaterThan(0); // still serving
  });
});
