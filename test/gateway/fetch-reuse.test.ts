/**
 * Goal: Fetch answers refer to the tail cache's buffers (no copy) and the gateway reuses those
 * buffers for later batches, yet no consumer ever gets bytes of a later batch: every answer's
 * buffers stay unchanged until its socket has written them.
 * Method: `x2 up` (built executable) with a 24 MiB tail cache, so it evicts and reuses river frame
 * buffers and slabs several times a second under load.
 * - A reader that asks for 17 MiB of cached batches and then stops reading, while 100 MiB more
 *   pass through the cache; its answer must be byte for byte what a later read from the commits
 *   gives, every batch's CRC intact. (Buffers given back before the write fail this at once.)
 * - `x2 bench e2e` at max rate with 3 consumers at the head, once with ~1 MiB requests (batches kept
 *   as views of frame buffers) and once with 4 KiB batches (copied into slabs): the bench checks
 *   each partition's records (count, order, checksum); the metrics show buffers were reused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produce } from '../../core/kafka/api/00-produce.ts';
import { fetch, type FetchRequest } from '../../core/kafka/api/01-fetch.ts';
import { metadata } from '../../core/kafka/api/03-metadata.ts';
import { splitRecordBatches } from '../../core/kafka/record-batch.ts';
import { syntheticBatch } from '../../core/storage/synthetic-batch.ts';
import { UpProcess } from '../harness/cluster.ts';
import { scrape } from '../harness/scrape.ts';
import { runX2 } from '../harness/x2.ts';
import { RawKafka } from './raw-client.ts';

type E2eJson = {
  produced: { sent: number; acked: number; failed: number };
  consumed: { records: number; lost: number; outOfOrder: number; mismatchedPartitions: number | null };
};

let up: UpProcess;
let metricsUrl: string;

beforeAll(async () => {
  up = await UpProcess.start([], undefined, { X2_TAIL_CACHE_BYTES: '24MiB' });
  metricsUrl = /gateway.*metrics (http\S+)/.exec(up.stdout)?.[1] ?? '';
}, 120_000);
afterAll(async () => { await up?.stop(); });

function fetchAll(topic: string): FetchRequest {
  return { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 32 << 20, isolationLevel: 0, sessionId: 0,
    sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0,
      logStartOffset: -1, partitionMaxBytes: 32 << 20 }] }], forgottenTopicsData: [], rackId: '' };
}

async function gatewayCounter(name: string): Promise<number> {
  const value = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(await scrape(metricsUrl))?.[1];
  expect(value, name).toBeDefined();
  return Number(value);
}

const reused = (): Promise<number> => gatewayCounter('x2_gateway_frame_buffers_reused_total');

describe('Fetch answers from reused tail-cache buffers', () => {
  const shapes = [{ name: '~1 MiB requests', flags: [] }, { name: '4 KiB batches', flags: ['--batch-bytes', '4KiB'] }];
  for (const shape of shapes) {
    it(`every consumed byte is what was produced (${shape.name}), while the gateway reuses its buffers`, async () => {
      expect(metricsUrl, up.stdout).not.toBe('');
      const reusedBefore = await reused();
      const result = runX2(['bench', 'e2e', '--target', `kafka://${up.bootstrap}`, '--partitions', '8',
        '--producers', '4', '--consumers', '3', '--message-bytes', '1KiB', '--duration', '3', '--topic-prefix',
        `reuse${shape.flags.length}`, ...shape.flags, '--json'], { timeoutMs: 120_000 });
      expect(result.code, result.stderr).toBe(0);
      const reusedDuring = (await reused()) - reusedBefore;
      const json = JSON.parse(result.stdout) as E2eJson;
      expect(json.produced.failed).toBe(0);
      expect(json.produced.acked).toBeGreaterThan(20_000);
      expect(json.consumed.records).toBe(json.produced.acked);
      expect(json.consumed.lost).toBe(0);
      expect(json.consumed.outOfOrder).toBe(0);
      expect(json.consumed.mismatchedPartitions).toBe(0);
      // A 24 MiB cache holds a fraction of what was produced: its buffers went round many times.
      expect(reusedDuring).toBeGreaterThan(json.produced.acked * 1024 / (8 << 20));
    }, 150_000);
  }
});

describe('a Fetch answer whose reader stalls', () => {
  it('sends the bytes the cache held when it answered, though the cache reused those buffers meanwhile', async () => {
    const producer = await RawKafka.open(up.port);
    const created = await producer.request(metadata, 4, { topics: [{ name: 'stalled' }, { name: 'churn' }],
      allowAutoTopicCreation: true });
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);
    const nowMs = Date.now(); // not 1970: time retention would take the batches while the test runs
    let fill = 0;
    const batchOf = (bytes: number): Buffer => syntheticBatch({ baseOffset: 0, recordCount: 2, baseTimestampMs: nowMs,
      maxTimestampMs: nowMs, bytes, fill: fill++ });
    const produceTo = async (partitions: Array<{ name: string; records: Buffer }>): Promise<void> => {
      const answer = await producer.request(produce, 7, { transactionalId: null, acks: -1, timeoutMs: 10_000,
        topics: partitions.map(({ name, records }) => ({ name, partitions: [{ index: 0, records }] })) });
      expect(answer.topics.map((topic) => topic.partitions[0]!.errorCode)).toEqual(partitions.map(() => 0));
    };
    // The shapes the cache keeps: a big batch alone in its request stays a view of its river frame
    // buffer; batches that share a request are copied into slabs. An answer refers to batches of
    // 16 KiB or more in either (and copies smaller ones).
    const shapes = async (topic: string): Promise<void> => {
      await produceTo([{ name: topic, records: batchOf(512 * 1024) }]);
      await produceTo([{ name: topic, records: Buffer.concat(Array.from({ length: 4 }, () => batchOf(40 * 1024))) }]);
      await produceTo([{ name: topic, records: Buffer.concat(Array.from({ length: 8 }, () => batchOf(8 * 1024))) }]);
    };
    for (let round = 0; round < 24; round++) await shapes('stalled'); // 17 MiB in the 24 MiB cache
    // The reader asks for all of 'stalled', then reads nothing: the kernel takes a few MiB of the
    // answer, the rest waits in the gateway's socket as views of the cache's buffers.
    const reader = await RawKafka.open(up.port);
    const copiedBefore = await gatewayCounter('x2_gateway_fetch_partitions_copied_total');
    const stalled = reader.request(fetch, 11, fetchAll('stalled'));
    reader.socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The answer refers to the cache's buffers (it is within the bound of answer-holds.ts: not copied).
    expect(await gatewayCounter('x2_gateway_fetch_partitions_copied_total')).toBe(copiedBefore);
    // ~110 MiB more of the same shapes: the cache evicts all it held, and its buffers are filled again.
    for (let round = 0; round < 150; round++) await shapes('churn');
    reader.socket.resume();
    const answer = (await stalled).responses[0]!.partitions[0]!;
    // Read again now, from the commits (the cache has long moved on): the same bytes.
    const again = (await producer.request(fetch, 11, fetchAll('stalled'))).responses[0]!.partitions[0]!;
    expect(answer.errorCode).toBe(0);
    const batches = splitRecordBatches(answer.records, { batchBytesMax: 1 << 20, fromProducer: false });
    expect(batches.failure).toBeNull(); // every batch's CRC holds
    expect(batches.batches.length).toBe(24 * 13);
    expect(answer.records!.length).toBe(again.records!.length);
    expect(answer.records!.equals(again.records!)).toBe(true);
    producer.close();
    reader.close();
  }, 120_000);
});
