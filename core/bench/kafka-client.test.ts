/**
 * The bench's Kafka client on the wire: requests on one connection are pipelined (several
 * written before the first answer), responses are matched in order by correlation id (a
 * mismatch fails every pending request), and the producer batches per partition (one batch
 * per partition per Produce request, at most 5 requests in flight, every record acknowledged
 * exactly once and in order). Method: an in-process TCP server built from x2's own codecs
 * (unavoidable here: a real broker cannot be made to hold back or garble responses) records
 * what arrives and answers when the test says so.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/wait-for.ts';
import { produce, type ProduceRequest } from '../kafka/api/00-produce.ts';
import { apiVersions } from '../kafka/api/18-api-versions.ts';
import { KafkaReader } from '../kafka/codec/reader.ts';
import { KafkaWriter } from '../kafka/codec/writer.ts';
import { FrameSplitter } from '../kafka/framing.ts';
import {
  API_VERSIONS_RESPONSE, encodeResponseFrame, readRequestHeader, RequestHeader,
} from '../kafka/registry.ts';
import { forEachRecordValue } from './kafka-client-batch.ts';
import { KafkaConnection } from './kafka-client.ts';
import { LatencyRecorder } from './latency.ts';
import { KAFKA_LIMITS, KafkaProducer } from './targets/kafka.ts';
import { ProducerStats } from './targets/target.ts';
import { makeValueTemplate, stampValue, type WorkloadSpec } from './workload.ts';

type Received = { header: RequestHeader; produce: ProduceRequest | null };

/** A broker stand-in: decodes every request, answers only when `release` is called. */
class FakeBroker {
  readonly server: net.Server;
  readonly received: Received[] = [];
  readonly #held: Array<() => void> = [];
  autoAnswer = false;
  garbleCorrelation = false;
  #socket: net.Socket | null = null;
  readonly #writer = new KafkaWriter(1 << 26);

  constructor() {
    this.server = net.createServer((socket) => {
      this.#socket = socket;
      const splitter = new FrameSplitter(1 << 26);
      socket.on('data', (chunk: Buffer) => {
        splitter.push(chunk);
        for (let frame = splitter.next(); frame instanceof Buffer; frame = splitter.next()) this.#onFrame(frame);
      });
      socket.on('error', () => {});
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  #onFrame(frame: Buffer): void {
    const reader = new KafkaReader(frame);
    const header = new RequestHeader();
    readRequestHeader(reader, header);
    let answer: Buffer;
    const correlationId = this.garbleCorrelation ? header.correlationId + 1000 : header.correlationId;
    if (header.apiKey === apiVersions.apiKey) {
      this.received.push({ header, produce: null });
      answer = Buffer.from(encodeResponseFrame(this.#writer, apiVersions, header.apiVersion, correlationId,
        API_VERSIONS_RESPONSE));
    } else {
      const request = produce.request.decode(reader, header.apiVersion);
      const copy = { ...request, topics: request.topics.map((topic) => ({ ...topic, partitions: topic.partitions
        .map((partition) => ({ ...partition, records: Buffer.from(partition.records ?? Buffer.alloc(0)) })) })) };
      this.received.push({ header, produce: copy });
      answer = Buffer.from(encodeResponseFrame(this.#writer, produce, header.apiVersion, correlationId, {
        topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => ({
          index: partition.index, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0,
        })) })),
        throttleTimeMs: 0,
      }));
    }
    const send = (): void => { this.#socket?.write(answer); };
    if (this.autoAnswer) send();
    else this.#held.push(send);
  }

  get heldCount(): number {
    return this.#held.length;
  }

  release(): void {
    for (const send of this.#held.splice(0)) send();
  }

  close(): void {
    this.#socket?.destroy();
    this.server.close();
  }
}

let broker: FakeBroker | null = null;
afterEach(() => {
  broker?.close();
  broker = null;
});

describe('KafkaConnection', () => {
  it('pipelines requests and matches the in-order responses', async () => {
    broker = new FakeBroker();
    const port = await broker.listen();
    const connection = await KafkaConnection.connect({ host: '127.0.0.1', port }, 5000);
    const body = { clientSoftwareName: 'x', clientSoftwareVersion: '1' };
    const answers = Promise.all([0, 1, 2].map(() => connection.request(apiVersions, 0, body)));
    await waitFor(() => broker!.heldCount === 3, { what: 'three requests before any answer' });
    expect(connection.inFlight).toBe(3);
    broker.release();
    const responses = await answers;
    expect(responses.map((response) => response.errorCode)).toEqual([0, 0, 0]);
    expect(broker.received.map((entry) => entry.header.correlationId)).toEqual([1, 2, 3]);
    expect(connection.inFlight).toBe(0);
    connection.close();
  });

  it('fails every pending request when a response carries the wrong correlation id', async () => {
    broker = new FakeBroker();
    broker.garbleCorrelation = true;
    broker.autoAnswer = true;
    const port = await broker.listen();
    const connection = await KafkaConnection.connect({ host: '127.0.0.1', port }, 5000);
    const body = { clientSoftwareName: 'x', clientSoftwareVersion: '1' };
    const results = await Promise.allSettled([connection.request(apiVersions, 0, body),
      connection.request(apiVersions, 0, body)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/correlation id 1001 does not match .*1/);
    connection.close();
  });

  it('names the address when nothing listens', async () => {
    const closed = new FakeBroker();
    const port = await closed.listen();
    closed.close();
    await expect(KafkaConnection.connect({ host: '127.0.0.1', port }, 5000)).rejects.toThrow(`127.0.0.1:${port}`);
  });
});

describe('KafkaProducer', () => {
  it('sends one batch per partition per request, at most 5 in flight, and acks each record once in order', async () => {
    broker = new FakeBroker();
    const port = await broker.listen();
    const connection = await KafkaConnection.connect({ host: '127.0.0.1', port }, 5000);
    broker.autoAnswer = true;
    await connection.negotiate();
    broker.autoAnswer = false;
    const spec: WorkloadSpec = {
      topicPrefix: 'b', topics: 2, partitions: 2, producers: 1, consumers: 1, subscribers: 1, messageBytes: 100,
      ratePerSecond: null, durationMs: 1, acks: -1, keys: 'none', compression: 'none', batchBytes: 16 * 1024,
    };
    const stats = new ProducerStats(new LatencyRecorder(), 4);
    const leaders = { leaderOf: new Int32Array(4), brokers: new Map(), tls: null, sasl: null };
    const producer = new KafkaProducer(spec, leaders,
      new Map([[0, connection]]), stats, 16 * 1024);
    const value = makeValueTemplate(100, 1);
    const total = 20_000;
    const sequences = [0, 0, 0, 0];
    let sent = 0;
    while (sent < total) {
      for (let burst = 0; burst < 500 && sent < total; burst++) {
        const partition = sent % 4;
        stampValue(value, 1, 0, sequences[partition]!);
        if (!producer.send(partition, null, value, 1)) break;
        sequences[partition]!++;
        sent++;
      }
      producer.pump();
      expect(broker.heldCount + connection.inFlight).toBeLessThanOrEqual(2 * KAFKA_LIMITS.inFlightMax);
      await waitFor(() => broker!.received.length > 1, { what: 'a produce request' });
      expect(connection.inFlight).toBeLessThanOrEqual(KAFKA_LIMITS.inFlightMax);
      broker.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    broker.autoAnswer = true;
    broker.release();
    await producer.flush();
    expect(stats.acked).toBe(total);
    expect(stats.failed).toBe(0);
    expect(Array.from(stats.ackedPerPartition)).toEqual([5000, 5000, 5000, 5000]);
    expect(stats.ackLatency.count).toBe(total);
    const nextSequence = [0, 0, 0, 0];
    let batches = 0;
    for (const entry of broker.received) {
      if (entry.produce === null) continue;
      const seen = new Set<string>();
      for (const topic of entry.produce.topics) {
        for (const partition of topic.partitions) {
          const key = `${topic.name}/${partition.index}`;
          expect(seen.has(key)).toBe(false);
          seen.add(key);
          expect(partition.records!.length).toBeLessThanOrEqual(16 * 1024);
          batches++;
          const global = Number(topic.name.slice(2)) * 2 + partition.index;
          forEachRecordValue(partition.records!, 0, 1 << 20, (buffer, start) => {
            const sequence = buffer.readDoubleLE(start + 8);
            expect(sequence).toBe(nextSequence[global]);
            nextSequence[global]!++;
          });
        }
      }
    }
    expect(nextSequence).toEqual([5000, 5000, 5000, 5000]);
    expect(batches).toBeLessThan(total / 10);
    await producer.close();
  });
});
