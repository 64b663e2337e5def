/**
 * `--target kafka://HOST:PORT`: the workload against any Kafka-compatible broker (x2's
 * gateway, Apache Kafka, Redpanda) with the bench's own client (kafka-client.ts).
 *
 * Producer: records are appended in place into one open RecordBatch v2 per partition. A batch
 * is sealed when it reaches the workload's `batchBytes` (at most `batchBytesMax`; a record larger
 * than that goes alone, as with Kafka's batch.size) or when a request is about to leave; a request
 * leaves whenever the leader's connection has fewer than `inFlightMax` produce requests
 * waiting, carrying at most one batch per partition (Kafka's rule for magic 2) and at most
 * `requestBytesMax`. So batches grow exactly as long as the broker is busy: small at low rates
 * (low latency), large at max rate. Buffered record bytes are capped at `bufferedBytesMax`.
 * A request goes out as parts in one corked writev (header pieces and the batches themselves, not
 * copied into a frame); once written, the batches' buffers are kept (at most `spareBuffersMax`
 * per producer) for the next batches: no regrowth and fewer large allocations.
 * No retries: a failed partition counts its records as failed, with the Kafka error name.
 * Consumer: one Fetch long-poll loop per leader, manual assignment, no groups.
 * TLS: with client TLS files every connection (bootstrap and leaders) speaks TLS; with SASL
 * credentials every connection authenticates first.
 */
import { assert } from '../../base/assert.ts';
import type { TlsClientFiles } from '../../base/tls-files.ts';
import type { SaslClientCredentials } from '../../kafka/sasl-mechanisms.ts';
import { createTopics } from '../../kafka/api/19-create-topics.ts';
import { fetch as fetchApi } from '../../kafka/api/01-fetch.ts';
import { listOffsets } from '../../kafka/api/02-list-offsets.ts';
import { metadata, type MetadataResponse } from '../../kafka/api/03-metadata.ts';
import { produce } from '../../kafka/api/00-produce.ts';
import type { KafkaReader } from '../../kafka/codec/reader.ts';
import { KAFKA_ERROR, kafkaError, kafkaErrorName } from '../../kafka/kafka-errors.ts';
import { BatchBuilder, forEachRecordValue } from '../kafka-client-batch.ts';
import { CLIENT_ID, KafkaConnection, KafkaConnectionError, type BrokerAddress } from '../kafka-client.ts';
import { nowUs, partitionCount, topicName, type WorkloadSpec } from '../workload.ts';
import type {
  ConsumerSink, ProducerStats, StartAt, Target, TargetConsumer, TargetProducer,
} from './target.ts';

export const KAFKA_LIMITS = {
  connectTimeoutMs: 5_000,
  inFlightMax: 5,
  /** A whole batch, header included: Kafka's default max.message.bytes is 1048588. */
  batchBytesMax: 1024 * 1024,
  /** Kafka producers default to max.request.size 1 MiB; brokers sized for that see the same requests. */
  requestBytesMax: 1024 * 1024,
  bufferedBytesMax: 32 * 1024 * 1024,
  /** Per producer: builder buffers kept for reuse (each at most one grown batch). */
  spareBuffersMax: 8,
  /** acks=0 has no responses to pace it: stop queuing while the socket holds this much. */
  socketBufferedBytesMax: 8 * 1024 * 1024,
  fetchMaxWaitMs: 200,
  fetchBytesMax: 32 * 1024 * 1024,
  fetchPartitionBytesMax: 1024 * 1024,
  metadataTopicsPerRequest: 1000,
  createTopicsPerRequest: 100,
  prepareTimeoutMs: 60_000,
  prepareMsPerTopic: 100,
  produceTimeoutMs: 30_000,
} as const;

/** Where each partition's leader is, and how to connect to the leaders (plaintext or TLS). */
type Leaders = {
  leaderOf: Int32Array; brokers: Map<number, BrokerAddress>; tls: TlsClientFiles | null;
  sasl: SaslClientCredentials | null;
};

export class KafkaTarget implements Target {
  readonly kind = 'kafka' as const;
  readonly url: string;
  readonly #bootstrap: BrokerAddress;
  readonly #tls: TlsClientFiles | null;
  readonly #sasl: SaslClientCredentials | null;
  #admin: KafkaConnection | null = null;
  #leaders: Leaders | null = null;

  constructor(url: string, bootstrap: BrokerAddress, tls: TlsClientFiles | null = null,
    sasl: SaslClientCredentials | null = null) {
    this.url = url;
    this.#bootstrap = bootstrap;
    this.#tls = tls;
    this.#sasl = sasl;
  }

  async #adminConnection(): Promise<KafkaConnection> {
    if (this.#admin === null || this.#admin.failure !== null) {
      const connection = await KafkaConnection.connect(this.#bootstrap, KAFKA_LIMITS.connectTimeoutMs, this.#tls,
        this.#sasl);
      await connection.negotiate();
      this.#admin = connection;
    }
    return this.#admin;
  }

  async #metadata(names: string[]): Promise<MetadataResponse> {
    const admin = await this.#adminConnection();
    const version = admin.pickVersion(metadata, 1, 7);
    const merged: MetadataResponse = { throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [] };
    for (let start = 0; start < names.length; start += KAFKA_LIMITS.metadataTopicsPerRequest) {
      const chunk = names.slice(start, start + KAFKA_LIMITS.metadataTopicsPerRequest);
      const response = await admin.request(metadata, version, {
        topics: chunk.map((name) => ({ name })), allowAutoTopicCreation: false,
      });
      merged.brokers = response.brokers;
      merged.controllerId = response.controllerId;
      merged.topics.push(...response.topics);
    }
    return merged;
  }

  async prepare(spec: WorkloadSpec): Promise<void> {
    const names = Array.from({ length: spec.topics }, (_, index) => topicName(spec, index));
    const first = await this.#metadata(names);
    const missing = first.topics.filter((topic) => topic.errorCode === KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION)
      .map((topic) => topic.name);
    // Brokers create topics at very different speeds (x2: tens per second); allow for many.
    const prepareMs = KAFKA_LIMITS.prepareTimeoutMs + KAFKA_LIMITS.prepareMsPerTopic * spec.topics;
    if (missing.length > 0) await this.#createTopics(missing, spec.partitions, prepareMs);
    const deadline = Date.now() + prepareMs;
    for (;;) {
      const response = await this.#metadata(names);
      const problem = leaderProblem(response, names, spec.partitions);
      if (problem === null) {
        this.#leaders = leadersFrom(response, spec, this.#tls, this.#sasl);
        return;
      }
      if (problem.final || Date.now() > deadline) throw new KafkaConnectionError(`${this.url}: ${problem.message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Creates topics in chunks; a retriable failure (timeout, controller moved) is retried until the deadline. */
  async #createTopics(names: string[], partitions: number, prepareMs: number): Promise<void> {
    const deadline = Date.now() + prepareMs;
    for (let start = 0; start < names.length; start += KAFKA_LIMITS.createTopicsPerRequest) {
      const chunk = names.slice(start, start + KAFKA_LIMITS.createTopicsPerRequest);
      for (let pending = chunk; pending.length > 0;) {
        pending = await this.#createTopicsOnce(pending, partitions, Date.now() > deadline);
      }
    }
  }

  /** One CreateTopics request; returns the names to try again (retriable errors before the deadline). */
  async #createTopicsOnce(chunk: string[], partitions: number, final: boolean): Promise<string[]> {
    const admin = await this.#adminConnection();
    const version = admin.pickVersion(createTopics, 0, 4);
    const retry: string[] = [];
    const response = await admin.request(createTopics, version, {
      topics: chunk.map((name) => ({
        name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [],
      })),
      timeoutMs: KAFKA_LIMITS.prepareTimeoutMs, validateOnly: false,
    });
    for (const topic of response.topics) {
      if (topic.errorCode === KAFKA_ERROR.NONE || topic.errorCode === KAFKA_ERROR.TOPIC_ALREADY_EXISTS) continue;
      if (!final && kafkaError(topic.errorCode)?.retriable === true) {
        retry.push(topic.name);
        continue;
      }
      throw new KafkaConnectionError(`${this.url}: creating topic ${topic.name} failed: ` +
        `${kafkaErrorName(topic.errorCode)}${topic.errorMessage ? ` (${topic.errorMessage})` : ''}`);
    }
    if (retry.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    return retry;
  }

  #requireLeaders(): Leaders {
    assert(this.#leaders !== null, 'prepare() must run before producers and consumers');
    return this.#leaders;
  }

  /** Earliest and latest offsets of every global partition. */
  async offsets(spec: WorkloadSpec): Promise<{ earliest: number[]; latest: number[] }> {
    const leaders = this.#requireLeaders();
    const all = Array.from({ length: partitionCount(spec) }, (_, index) => index);
    const connections = new Map<number, KafkaConnection>();
    try {
      const earliest = await listPartitionOffsets(spec, leaders, all, -2, connections);
      const latest = await listPartitionOffsets(spec, leaders, all, -1, connections);
      return { earliest, latest };
    } finally {
      for (const connection of connections.values()) connection.close();
    }
  }

  async backlog(spec: WorkloadSpec): Promise<number[]> {
    const { earliest, latest } = await this.offsets(spec);
    return latest.map((end, index) => end - (earliest[index] ?? 0));
  }

  async createProducer(spec: WorkloadSpec, _producerIndex: number, stats: ProducerStats): Promise<TargetProducer> {
    const leaders = this.#requireLeaders();
    const connections = await connectLeaders(leaders, new Set(leaders.leaderOf));
    return new KafkaProducer(spec, leaders, connections, stats, Math.min(spec.batchBytes, KAFKA_LIMITS.batchBytesMax));
  }

  async createConsumer(spec: WorkloadSpec, partitions: number[], startAt: StartAt,
    sink: ConsumerSink): Promise<TargetConsumer> {
    const leaders = this.#requireLeaders();
    const byLeader = new Map<number, number[]>();
    for (const partition of partitions) {
      const leader = leaders.leaderOf[partition]!;
      const list = byLeader.get(leader) ?? [];
      list.push(partition);
      byLeader.set(leader, list);
    }
    const connections = await connectLeaders(leaders, new Set(byLeader.keys()));
    const loops: FetchLoop[] = [];
    for (const [leader, list] of byLeader) {
      const connection = connections.get(leader)!;
      const offsets = await listPartitionOffsets(spec, leaders, list, startAt === 'earliest' ? -2 : -1, connections);
      loops.push(new FetchLoop(spec, connection, list, offsets, sink));
    }
    for (const loop of loops) loop.start();
    return {
      stop: async () => {
        await Promise.all(loops.map((loop) => loop.stop()));
        for (const connection of connections.values()) connection.close();
      },
    };
  }

  async close(): Promise<void> {
    this.#admin?.close();
    this.#admin = null;
  }
}

function leaderProblem(response: MetadataResponse, names: string[], partitions: number):
  { message: string; final: boolean } | null {
  const byName = new Map(response.topics.map((topic) => [topic.name, topic]));
  for (const name of names) {
    const topic = byName.get(name);
    if (topic === undefined) return { message: `topic ${name} is missing from Metadata`, final: false };
    if (topic.errorCode !== KAFKA_ERROR.NONE) {
      return { message: `topic ${name}: ${kafkaErrorName(topic.errorCode)}`, final: false };
    }
    if (topic.partitions.length < partitions) {
      return {
        message: `topic ${name} exists with ${topic.partitions.length} partitions, the workload needs ${partitions} ` +
          '(use another --topic-prefix)',
        final: topic.partitions.length > 0,
      };
    }
    for (const partition of topic.partitions) {
      const leaderless = partition.errorCode !== KAFKA_ERROR.NONE || partition.leaderId < 0;
      if (partition.partitionIndex < partitions && leaderless) {
        return { message: `topic ${name} partition ${partition.partitionIndex} has no leader`, final: false };
      }
    }
  }
  return null;
}

function leadersFrom(response: MetadataResponse, spec: WorkloadSpec, tls: TlsClientFiles | null,
  sasl: SaslClientCredentials | null): Leaders {
  const leaderOf = new Int32Array(partitionCount(spec));
  const byName = new Map(response.topics.map((topic) => [topic.name, topic]));
  for (let topicIndex = 0; topicIndex < spec.topics; topicIndex++) {
    const topic = byName.get(topicName(spec, topicIndex))!;
    for (const partition of topic.partitions) {
      if (partition.partitionIndex < spec.partitions) {
        leaderOf[topicIndex * spec.partitions + partition.partitionIndex] = partition.leaderId;
      }
    }
  }
  const brokers = new Map(response.brokers.map((broker) => [broker.nodeId, { host: broker.host, port: broker.port }]));
  return { leaderOf, brokers, tls, sasl };
}

async function connectLeaders(leaders: Leaders, nodeIds: Set<number>): Promise<Map<number, KafkaConnection>> {
  const connections = new Map<number, KafkaConnection>();
  try {
    for (const nodeId of nodeIds) {
      const address = leaders.brokers.get(nodeId);
      if (address === undefined) throw new KafkaConnectionError(`leader ${nodeId} is not in the Metadata broker list`);
      const connection = await KafkaConnection.connect(address, KAFKA_LIMITS.connectTimeoutMs, leaders.tls,
        leaders.sasl);
      connections.set(nodeId, connection);
      await connection.negotiate();
    }
  } catch (error) {
    for (const connection of connections.values()) connection.close();
    throw error;
  }
  return connections;
}

async function listPartitionOffsets(spec: WorkloadSpec, leaders: Leaders, partitions: number[], timestamp: number,
  connections: Map<number, KafkaConnection>): Promise<number[]> {
  const result: number[] = new Array<number>(partitionCount(spec)).fill(0);
  const byLeader = new Map<number, number[]>();
  for (const partition of partitions) {
    const leader = leaders.leaderOf[partition]!;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), partition]);
  }
  for (const [leader, list] of byLeader) {
    let connection = connections.get(leader);
    if (connection === undefined) {
      connection = (await connectLeaders(leaders, new Set([leader]))).get(leader)!;
      connections.set(leader, connection);
    }
    const version = connection.pickVersion(listOffsets, 1, 5);
    const response = await connection.request(listOffsets, version, {
      replicaId: -1, isolationLevel: 0,
      topics: groupByTopic(spec, list).map(([topicIndex, indices]) => ({
        name: topicName(spec, topicIndex),
        partitions: indices.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })),
      })),
    });
    const topicIndexOf = topicIndexMap(spec);
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        if (partition.errorCode !== KAFKA_ERROR.NONE) {
          throw new KafkaConnectionError(`ListOffsets ${topic.name}/${partition.partitionIndex}: ` +
            kafkaErrorName(partition.errorCode));
        }
        const topicIndex = topicIndexOf.get(topic.name);
        if (topicIndex === undefined) continue;
        result[topicIndex * spec.partitions + partition.partitionIndex] = partition.offset;
      }
    }
  }
  return partitions.map((partition) => result[partition]!);
}

/** Sorted global partitions grouped as [topicIndex, partition indices]. */
function groupByTopic(spec: WorkloadSpec, partitions: readonly number[]): Array<[number, number[]]> {
  const groups = new Map<number, number[]>();
  for (const partition of [...partitions].sort((a, b) => a - b)) {
    const topicIndex = Math.floor(partition / spec.partitions);
    const list = groups.get(topicIndex) ?? [];
    list.push(partition % spec.partitions);
    groups.set(topicIndex, list);
  }
  return [...groups];
}

const topicIndexMaps = new WeakMap<WorkloadSpec, Map<string, number>>();
function topicIndexMap(spec: WorkloadSpec): Map<string, number> {
  let map = topicIndexMaps.get(spec);
  if (map === undefined) {
    map = new Map(Array.from({ length: spec.topics }, (_, index) => [topicName(spec, index), index] as const));
    topicIndexMaps.set(spec, map);
  }
  return map;
}

/** `storage`: the builder's buffer, free again once `bytes` is copied into a request frame. */
type SealedBatch = { bytes: Buffer; storage: Buffer; scheduledUs: number[]; bufferedBytes: number };

/** Per leader: partitions with records waiting, in the order they first got one. */
type LeaderQueue = { connection: KafkaConnection; waiting: Set<number> };

export class KafkaProducer implements TargetProducer {
  readonly #spec: WorkloadSpec;
  readonly #stats: ProducerStats;
  readonly #leaderOf: Int32Array;
  readonly #queues = new Map<number, LeaderQueue>();
  readonly #open: Array<BatchBuilder | null>;
  readonly #sealed: SealedBatch[][];
  readonly #version: number;
  readonly #topicNameBytes: Buffer[];
  readonly #topicIndexOf: Map<string, number>;
  #bufferedBytes = 0;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #batchBytesMax: number;
  /** Buffers of batches already copied into request frames, for new batches to reuse. */
  readonly #spare: Buffer[] = [];

  constructor(spec: WorkloadSpec, leaders: Leaders, connections: Map<number, KafkaConnection>, stats: ProducerStats,
    batchBytesMax: number = KAFKA_LIMITS.batchBytesMax) {
    this.#spec = spec;
    this.#stats = stats;
    this.#leaderOf = leaders.leaderOf;
    this.#batchBytesMax = batchBytesMax;
    for (const [nodeId, connection] of connections) this.#queues.set(nodeId, { connection, waiting: new Set() });
    const total = partitionCount(spec);
    this.#open = new Array<BatchBuilder | null>(total).fill(null);
    this.#sealed = Array.from({ length: total }, () => []);
    const first = connections.values().next().value;
    assert(first !== undefined, 'a producer needs at least one leader connection');
    this.#version = first.pickVersion(produce, 3, 7);
    this.#topicNameBytes = Array.from({ length: spec.topics }, (_, index) => Buffer.from(topicName(spec, index)));
    this.#topicIndexOf = topicIndexMap(spec);
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  send(partition: number, key: Buffer | null, value: Buffer, scheduledUs: number): boolean {
    const recordBytes = BatchBuilder.recordBytesMax(key, value.length);
    if (this.#bufferedBytes + recordBytes > KAFKA_LIMITS.bufferedBytesMax) return false;
    const queue = this.#queues.get(this.#leaderOf[partition]!)!;
    if (this.#spec.acks === 0 && queue.connection.writableBytes > KAFKA_LIMITS.socketBufferedBytesMax) return false;
    let batch: BatchBuilder | null = this.#open[partition] ?? null;
    if (batch !== null && batch.position + recordBytes > this.#batchBytesMax) {
      this.#seal(partition);
      batch = null;
    }
    if (batch === null) {
      batch = new BatchBuilder(Math.min(this.#batchBytesMax, Math.max(4096, recordBytes * 16)), this.#spare.pop());
      this.#open[partition] = batch;
      // A partition with an open batch is always waiting (#sendRequest removes only partitions with
      // neither open nor sealed batches), so this runs once per batch, not per record.
      queue.waiting.add(partition);
    }
    batch.append(key, value, Math.floor(scheduledUs / 1000), scheduledUs);
    batch.reservedBytes += recordBytes;
    this.#bufferedBytes += recordBytes;
    this.#stats.sent++;
    return true;
  }

  #seal(partition: number): void {
    const batch = this.#open[partition];
    if (batch === null || batch === undefined) return;
    this.#open[partition] = null;
    this.#sealed[partition]!.push({
      bytes: batch.seal(this.#spec.compression), storage: batch.buffer, scheduledUs: batch.scheduledUs,
      bufferedBytes: batch.reservedBytes,
    });
  }

  pump(): void {
    for (const queue of this.#queues.values()) {
      while (queue.waiting.size > 0 && queue.connection.failure === null && this.#hasRoom(queue.connection)) {
        this.#sendRequest(queue);
      }
      if (queue.connection.failure !== null && queue.waiting.size > 0) this.#failQueue(queue);
    }
    this.#checkIdle();
  }

  #hasRoom(connection: KafkaConnection): boolean {
    if (this.#spec.acks === 0) return connection.writableBytes <= KAFKA_LIMITS.socketBufferedBytesMax;
    return connection.inFlight < KAFKA_LIMITS.inFlightMax;
  }

  #failQueue(queue: LeaderQueue): void {
    const message = queue.connection.failure?.message ?? 'connection failed';
    for (const partition of queue.waiting) {
      this.#seal(partition);
      for (const batch of this.#sealed[partition]!) this.#finishBatch(batch, message);
      this.#sealed[partition] = [];
    }
    queue.waiting.clear();
  }

  #finishBatch(batch: SealedBatch, error: string | null, partition = -1): void {
    this.#bufferedBytes -= batch.bufferedBytes;
    const count = batch.scheduledUs.length;
    if (error !== null) {
      this.#stats.fail(count, error);
      return;
    }
    this.#stats.acked += count;
    if (partition >= 0) this.#stats.ackedPerPartition[partition]! += count;
    if (this.#spec.acks === 0) return;
    this.#stats.ackLatency.recordSinceUs(nowUs(), batch.scheduledUs);
  }

  #sendRequest(queue: LeaderQueue): void {
    const chosen: number[] = [];
    const batches: SealedBatch[] = [];
    let requestBytes = 0;
    for (const partition of queue.waiting) {
      if (this.#sealed[partition]!.length === 0) this.#seal(partition);
      const batch = this.#sealed[partition]![0]!;
      if (chosen.length > 0 && requestBytes + batch.bytes.length > KAFKA_LIMITS.requestBytesMax) break;
      this.#sealed[partition]!.shift();
      if (this.#sealed[partition]!.length === 0 && this.#open[partition] === null) queue.waiting.delete(partition);
      chosen.push(partition);
      batches.push(batch);
      requestBytes += batch.bytes.length;
    }
    const order = chosen.map((partition, index) => index).sort((a, b) => chosen[a]! - chosen[b]!);
    const connection = queue.connection;
    const correlationId = connection.nextCorrelationId();
    const parts = this.#encode(correlationId, order.map((index) => chosen[index]!),
      order.map((index) => batches[index]!));
    // The batches go out as they are (writev): once written, builders' buffers go back for the next
    // batches (no copy into a request frame, no regrowth, less GC).
    const onWritten = (): void => {
      for (const batch of batches) {
        if (this.#spare.length < KAFKA_LIMITS.spareBuffersMax) this.#spare.push(batch.storage);
      }
    };
    const byPartition = new Map<number, SealedBatch>();
    for (let index = 0; index < chosen.length; index++) byPartition.set(chosen[index]!, batches[index]!);
    if (this.#spec.acks === 0) {
      connection.sendFrameParts(parts, correlationId, null, onWritten);
      for (const [partition, batch] of byPartition) this.#finishBatch(batch, null, partition);
      return;
    }
    this.#inFlight++;
    connection.sendFrameParts(parts, correlationId, (reader, error) => {
      this.#inFlight--;
      this.#onResponse(byPartition, reader, error);
      this.pump();
    }, onWritten);
  }

  /** The Produce request as parts: one buffer of header pieces, each batch a part of its own. */
  #encode(correlationId: number, partitions: number[], batches: SealedBatch[]): Buffer[] {
    const spec = this.#spec;
    const clientIdBytes = CLIENT_ID.length;
    const requestHeaderBytes = 4 + 2 + 2 + 4 + 2 + clientIdBytes + 2 + 2 + 4 + 4;
    let bytes = requestHeaderBytes;
    let headerBytes = requestHeaderBytes;
    let topicCount = 0;
    let previousTopic = -1;
    for (let index = 0; index < partitions.length; index++) {
      const topicIndex = Math.floor(partitions[index]! / spec.partitions);
      if (topicIndex !== previousTopic) {
        bytes += 2 + this.#topicNameBytes[topicIndex]!.length + 4;
        headerBytes += 2 + this.#topicNameBytes[topicIndex]!.length + 4;
        topicCount++;
        previousTopic = topicIndex;
      }
      bytes += 4 + 4 + batches[index]!.bytes.length;
      headerBytes += 4 + 4;
    }
    const header = Buffer.allocUnsafe(headerBytes);
    const parts: Buffer[] = [];
    let partStart = 0;
    let p = header.writeInt32BE(bytes - 4, 0);
    p = header.writeInt16BE(produce.apiKey, p);
    p = header.writeInt16BE(this.#version, p);
    p = header.writeInt32BE(correlationId, p);
    p = header.writeInt16BE(clientIdBytes, p);
    p += header.write(CLIENT_ID, p, 'latin1');
    p = header.writeInt16BE(-1, p);
    p = header.writeInt16BE(spec.acks, p);
    p = header.writeInt32BE(KAFKA_LIMITS.produceTimeoutMs, p);
    p = header.writeInt32BE(topicCount, p);
    let index = 0;
    while (index < partitions.length) {
      const topicIndex = Math.floor(partitions[index]! / spec.partitions);
      let end = index;
      while (end < partitions.length && Math.floor(partitions[end]! / spec.partitions) === topicIndex) end++;
      const name = this.#topicNameBytes[topicIndex]!;
      p = header.writeInt16BE(name.length, p);
      p += name.copy(header, p);
      p = header.writeInt32BE(end - index, p);
      for (; index < end; index++) {
        const batch = batches[index]!.bytes;
        p = header.writeInt32BE(partitions[index]! % spec.partitions, p);
        p = header.writeInt32BE(batch.length, p);
        parts.push(header.subarray(partStart, p), batch);
        partStart = p;
      }
    }
    assert(p === headerBytes, `produce header size ${p} differs from the computed ${headerBytes}`);
    assert(parts.reduce((sum, part) => sum + part.length, 0) === bytes, 'produce frame size differs from the computed');
    return parts;
  }

  #onResponse(byPartition: Map<number, SealedBatch>, reader: KafkaReader | null, error: Error | null): void {
    if (error !== null || reader === null) {
      for (const batch of byPartition.values()) this.#finishBatch(batch, error?.message ?? 'no response');
      return;
    }
    let response;
    try {
      response = produce.response.decode(reader, this.#version);
    } catch (decodeError) {
      const message = `bad Produce response: ${String(decodeError)}`;
      for (const batch of byPartition.values()) this.#finishBatch(batch, message);
      return;
    }
    for (const topic of response.topics) {
      const topicIndex = this.#topicIndexOf.get(topic.name);
      if (topicIndex === undefined) continue;
      for (const partition of topic.partitions) {
        const global = topicIndex * this.#spec.partitions + partition.index;
        const batch = byPartition.get(global);
        if (batch === undefined) continue;
        byPartition.delete(global);
        const failure = partition.errorCode === KAFKA_ERROR.NONE ? null
          : `${topic.name}/${partition.index}: ${kafkaErrorName(partition.errorCode)}`;
        this.#finishBatch(batch, failure, global);
      }
    }
    for (const batch of byPartition.values()) this.#finishBatch(batch, 'the Produce response left a partition out');
  }

  #checkIdle(): void {
    if (this.#inFlight > 0 || this.#bufferedBytes > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.pump();
    });
  }

  async close(): Promise<void> {
    for (const queue of this.#queues.values()) queue.connection.close();
  }
}

/** One Fetch long-poll loop over the partitions one leader serves. */
class FetchLoop {
  readonly #spec: WorkloadSpec;
  readonly #connection: KafkaConnection;
  readonly #partitions: number[];
  readonly #nextOffset: Map<number, number>;
  readonly #sink: ConsumerSink;
  readonly #version: number;
  #running = false;
  #done: Promise<void> = Promise.resolve();

  constructor(spec: WorkloadSpec, connection: KafkaConnection, partitions: number[], offsets: number[],
    sink: ConsumerSink) {
    this.#spec = spec;
    this.#connection = connection;
    this.#partitions = partitions;
    this.#nextOffset = new Map(partitions.map((partition, index) => [partition, offsets[index]!]));
    this.#sink = sink;
    this.#version = connection.pickVersion(fetchApi, 4, 11);
  }

  start(): void {
    this.#running = true;
    this.#done = this.#loop();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  async #loop(): Promise<void> {
    const spec = this.#spec;
    const groups = groupByTopic(spec, this.#partitions);
    const topicIndexOf = topicIndexMap(spec);
    while (this.#running) {
      let response;
      try {
        response = await this.#connection.request(fetchApi, this.#version, {
          replicaId: -1, maxWaitMs: KAFKA_LIMITS.fetchMaxWaitMs, minBytes: 1, maxBytes: KAFKA_LIMITS.fetchBytesMax,
          isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: groups.map(([topicIndex, indices]) => ({
            topic: topicName(spec, topicIndex),
            partitions: indices.map((partition) => ({
              partition, currentLeaderEpoch: -1, logStartOffset: -1,
              fetchOffset: this.#nextOffset.get(topicIndex * spec.partitions + partition)!,
              partitionMaxBytes: KAFKA_LIMITS.fetchPartitionBytesMax,
            })),
          })),
          forgottenTopicsData: [], rackId: '',
        });
      } catch (error) {
        if (this.#running) this.#sink.error((error as Error).message);
        return;
      }
      for (const topic of response.responses) {
        const topicIndex = topicIndexOf.get(topic.topic);
        if (topicIndex === undefined) continue;
        for (const partition of topic.partitions) {
          const global = topicIndex * spec.partitions + partition.partitionIndex;
          if (partition.errorCode !== KAFKA_ERROR.NONE) {
            const name = kafkaErrorName(partition.errorCode);
            this.#sink.error(`Fetch ${topic.topic}/${partition.partitionIndex}: ${name}`);
            this.#running = false;
            return;
          }
          const records = partition.records;
          if (records === null || records.length === 0) continue;
          const from = this.#nextOffset.get(global)!;
          try {
            const next = forEachRecordValue(records, from, KAFKA_LIMITS.fetchBytesMax, (buffer, start, end) => {
              this.#sink.record(global, buffer, start, end);
            });
            this.#nextOffset.set(global, next);
          } catch (error) {
            this.#sink.error(`Fetch ${topic.topic}/${partition.partitionIndex}: ${(error as Error).message}`);
            this.#running = false;
            return;
          }
        }
      }
    }
  }
}
