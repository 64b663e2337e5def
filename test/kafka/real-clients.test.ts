/**
 * Bytes from real Kafka clients: kcat (librdkafka 2.0.2) and kafka-python 2.0.2 connect to a
 * small loopback listener built only from x2's protocol layer (FrameSplitter, request
 * headers, dispositions, compiled codecs, ApiVersions from the registry). It decodes every
 * request the clients send and answers ApiVersions and Metadata. The clients must negotiate
 * from x2's ApiVersions reply (librdkafka: v3, flexible; kafka-python: v0) and print the
 * metadata x2 encoded, which proves both directions on live client bytes. This is a codec
 * test, not the gateway: other APIs are not answered.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produce, type ProduceRequest, type ProduceResponse } from '../../core/kafka/api/00-produce.ts';
import { metadata, type MetadataRequest, type MetadataResponse } from '../../core/kafka/api/03-metadata.ts';
import { apiVersions } from '../../core/kafka/api/18-api-versions.ts';
import { initProducerId } from '../../core/kafka/api/22-init-producer-id.ts';
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { FrameSplitter } from '../../core/kafka/framing.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import {
  codecOf,
  decodeRecords,
  splitRecordBatches,
  type RecordBatchView,
} from '../../core/kafka/record-batch.ts';
import {
  API_VERSIONS_RESPONSE,
  encodeApiVersionsFallback,
  encodeResponseFrame,
  lookupApi,
  readRequestHeader,
  RequestHeader,
  requestDisposition,
} from '../../core/kafka/registry.ts';

type Seen = { clientId: string | null; apiKey: number; apiVersion: number; body: unknown };
type Produced = { topic: string; partition: number; errorCode: number; batches: RecordBatchView[] };

let server: Server;
let port = 0;
const seen: Seen[] = [];
const produced: Produced[] = [];
let nextOffset = 0;

/** Validates every batch as the gateway will; copies them, since frames die with the read. */
function produceResponse(request: ProduceRequest): ProduceResponse {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        const records = partition.records === null ? null : Buffer.from(partition.records);
        const split = splitRecordBatches(records, { batchBytesMax: 1 << 20, fromProducer: true });
        const errorCode = split.failure?.errorCode ?? KAFKA_ERROR.NONE;
        produced.push({ topic: topic.name, partition: partition.index, errorCode, batches: split.batches });
        const baseOffset = nextOffset;
        for (const batch of split.batches) nextOffset += batch.header.recordCount;
        return { index: partition.index, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset: 0 };
      }),
    })),
  };
}
const sockets = new Set<Socket>();

function metadataResponse(request: MetadataRequest): MetadataResponse {
  const names =
    request.topics === null || request.topics.length === 0 ? ['prices'] : request.topics.map((t) => t.name);
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 0, host: '127.0.0.1', port, rack: null }],
    clusterId: 'x2-codec-test',
    controllerId: 0,
    topics: names.map((name) => ({
      errorCode: 0,
      name,
      isInternal: false,
      partitions: [0, 1].map((partitionIndex) => ({
        errorCode: 0,
        partitionIndex,
        leaderId: 0,
        leaderEpoch: 0,
        replicaNodes: [0],
        isrNodes: [0],
        offlineReplicas: [],
      })),
    })),
  };
}

function serve(socket: Socket): void {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  const splitter = new FrameSplitter(1 << 20);
  const writer = new KafkaWriter(1 << 20);
  const reader = new KafkaReader(Buffer.alloc(0));
  const header = new RequestHeader();
  socket.on('data', (chunk: Buffer) => {
    splitter.push(chunk);
    for (let frame = splitter.next(); Buffer.isBuffer(frame); frame = splitter.next()) {
      reader.reset(frame);
      readRequestHeader(reader, header);
      const disposition = requestDisposition(header.apiKey, header.apiVersion);
      if (disposition === 'api-versions-fallback') {
        socket.write(Buffer.from(encodeApiVersionsFallback(writer, header.correlationId)));
        continue;
      }
      const registered = lookupApi(header.apiKey);
      if (disposition !== 'serve' || registered === undefined) {
        socket.destroy();
        return;
      }
      const body = registered.api.request.decode(reader, header.apiVersion);
      seen.push({ clientId: header.clientId, apiKey: header.apiKey, apiVersion: header.apiVersion, body });
      if (header.apiKey === apiVersions.apiKey) {
        const response = encodeResponseFrame(
          writer,
          apiVersions,
          header.apiVersion,
          header.correlationId,
          API_VERSIONS_RESPONSE,
        );
        socket.write(Buffer.from(response));
      } else if (header.apiKey === metadata.apiKey) {
        const response = metadataResponse(body as MetadataRequest);
        socket.write(
          Buffer.from(
            encodeResponseFrame(writer, metadata, header.apiVersion, header.correlationId, response),
          ),
        );
      } else if (header.apiKey === initProducerId.apiKey) {
        const response = { throttleTimeMs: 0, errorCode: 0, producerId: 1000, producerEpoch: 0 };
        socket.write(
          Buffer.from(
            encodeResponseFrame(writer, initProducerId, header.apiVersion, header.correlationId, response),
          ),
        );
      } else if (header.apiKey === produce.apiKey) {
        const response = produceResponse(body as ProduceRequest);
        socket.write(
          Buffer.from(
            encodeResponseFrame(writer, produce, header.apiVersion, header.correlationId, response),
          ),
        );
      } else {
        socket.destroy();
        return;
      }
    }
  });
}

function run(
  command: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('real clients against x2 codecs', () => {
  it('kcat (librdkafka 2.0.2) negotiates with ApiVersions v3 and lists the metadata x2 encoded', async () => {
    seen.length = 0;
    const result = await run('kcat', ['-b', `127.0.0.1:${port}`, '-L', '-J', '-m', '10']);
    expect(result.code, result.stderr).toBe(0);
    const listed = JSON.parse(result.stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: unknown[] }[];
    };
    expect(listed.brokers).toEqual([{ id: 0, name: `127.0.0.1:${port}` }]);
    expect(listed.topics.map((topic) => [topic.topic, topic.partitions.length])).toEqual([['prices', 2]]);
    const first = seen[0];
    expect(first).toMatchObject({
      apiKey: 18,
      apiVersion: 3,
      body: { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
    });
    // librdkafka takes the highest common version: Metadata 4 (its max) from x2's 0-7.
    expect(seen.find((request) => request.apiKey === 3)?.apiVersion).toBe(4);
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`kcat produces ${codec} batches with Produce v7 that pass x2's CRC-32C validation`, async () => {
      seen.length = 0;
      produced.length = 0;
      // Long, repetitive lines: librdkafka sends a batch uncompressed when compression does not
      // make it smaller, which tiny lines would trigger.
      const lines = ['first', 'second', 'third']
        .map((line) => `${codec} ${line} ${'x'.repeat(400)}`)
        .join('\n');
      // linger.ms 200: the three lines go in one batch even when a loaded machine lets kcat read
      // them more than librdkafka's 5 ms default apart (a CI run sent three requests); kcat flushes
      // at the end of its input after at most that linger.
      const result = await run('sh', [
        '-c',
        `printf '${lines}\n' | kcat -b 127.0.0.1:${port} -P -t prices -p 0 -z ${codec} -X linger.ms=200`,
      ]);
      expect(result.code, result.stderr).toBe(0);
      // librdkafka compresses only because x2 advertises Produce from v0 (research §2.2).
      expect(seen.filter((request) => request.apiKey === 0).map((request) => request.apiVersion)).toEqual([
        7,
      ]);
      expect(produced).toHaveLength(1);
      const [partition] = produced;
      expect(partition).toMatchObject({ topic: 'prices', partition: 0, errorCode: 0 });
      const batch = partition?.batches[0];
      if (batch === undefined) throw new Error('no batch');
      expect(codecOf(batch.header.attributes)).toBe(codec);
      expect(batch.header.recordCount).toBe(3);
      const decoded = decodeRecords(batch.bytes, 1 << 20);
      if (codec === 'gzip') {
        if (!decoded.decoded) throw new Error(decoded.reason);
        expect(decoded.records.map((record) => record.value?.toString())).toEqual(lines.split('\n'));
      } else {
        expect(decoded).toMatchObject({ decoded: false, codec });
      }
    });
  }

  it('python3-confluent-kafka idempotent producer gets its producer id and sends sequenced batches', async () => {
    seen.length = 0;
    produced.length = 0;
    const script = [
      'from confluent_kafka import Producer',
      `p = Producer({"bootstrap.servers": "127.0.0.1:${port}", "enable.idempotence": True})`,
      'for i in range(5): p.produce("prices", value=b"v%d" % i, key=b"k", partition=1)',
      'print(p.flush(20))',
    ].join('\n');
    const result = await run('/usr/bin/python3', ['-c', script]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('0');
    // librdkafka's idempotence needs InitProducerId 0 in range; it takes x2's max, v1.
    expect(seen.find((request) => request.apiKey === 22)).toMatchObject({
      apiVersion: 1,
      body: { transactionalId: null },
    });
    const batches = produced.flatMap((partition) => partition.batches);
    expect(batches.length).toBeGreaterThan(0);
    expect(batches[0]?.header).toMatchObject({ producerId: 1000, producerEpoch: 0, baseSequence: 0 });
    expect(batches.reduce((sum, batch) => sum + batch.header.recordCount, 0)).toBe(5);
  });

  it('kafka-python 2.0.2 probes with ApiVersions v0 and Metadata v0, then lists topics', async () => {
    seen.length = 0;
    const script = [
      'from kafka import KafkaConsumer',
      `c = KafkaConsumer(bootstrap_servers="127.0.0.1:${port}", request_timeout_ms=20000)`,
      'print(",".join(sorted(c.topics())))',
      'print(c.config["api_version"])',
      'c.close()',
    ].join('\n');
    const result = await run('/usr/bin/python3', ['-c', script]);
    expect(result.code, result.stderr).toBe(0);
    const [topics, guessedRelease] = result.stdout.trim().split('\n');
    expect(topics).toBe('prices');
    // kafka-python infers the broker release from x2's advertised ranges (research §2.3).
    expect(guessedRelease).toBe('(2, 3, 0)');
    expect(seen.slice(0, 2).map((request) => [request.apiKey, request.apiVersion])).toEqual([
      [18, 0],
      [3, 0],
    ]);
    expect(seen[1]?.body).toEqual({ topics: [], allowAutoTopicCreation: true });
  });
});
