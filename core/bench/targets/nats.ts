/**
 * `--target nats://HOST:PORT`: the workload against NATS JetStream through the nats npm
 * client. One stream per topic (file storage, one replica, subjects `<topic>.<partition>`);
 * a partition is a subject. Producers publish with a JetStream ack (acks 1/all) or plain core
 * publishes (acks 0: stored by the stream, never acknowledged). Consumers are ordered pull
 * consumers, one per topic when they hold all its partitions, else one per partition
 * (nats-server 2.9 allows one filter subject per consumer). An ordered consumer is ephemeral and
 * named by the client (a fresh nuid each), so `--subscribers` never share one: each gets every message.
 *
 * Bounds: at most `inFlightMax` unacknowledged publishes per producer (send returns false
 * beyond). The nats client needs a promise per acknowledged publish and its own copy of each
 * value, so this target allocates per record where the Kafka target does not.
 */
import {
  connect, DeliverPolicy, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { X2Error } from '../../base/errors.ts';
import { nowUs, partitionCount, topicName, type WorkloadSpec } from '../workload.ts';
import type {
  ConsumerSink, ProducerStats, StartAt, Target, TargetConsumer, TargetProducer,
} from './target.ts';

export const NATS_LIMITS = {
  connectTimeoutMs: 5_000,
  inFlightMax: 20_000,
  consumeBatchRecords: 1_000,
} as const;

export class NatsTarget implements Target {
  readonly kind = 'nats' as const;
  readonly url: string;
  readonly #server: string;
  #admin: NatsConnection | null = null;
  #jsm: JetStreamManager | null = null;

  constructor(url: string, host: string, port: number) {
    this.url = url;
    this.#server = `${host}:${port}`;
  }

  async #connect(): Promise<NatsConnection> {
    try {
      return await connect({
        servers: this.#server, timeout: NATS_LIMITS.connectTimeoutMs, reconnect: false, maxReconnectAttempts: 0,
        name: 'x2-bench',
      });
    } catch (error) {
      throw new X2Error('X2_ERR_IO', `${this.url}: cannot connect: ${(error as Error).message}`, { cause: error });
    }
  }

  async #manager(): Promise<JetStreamManager> {
    if (this.#jsm === null) {
      this.#admin = await this.#connect();
      try {
        this.#jsm = await this.#admin.jetstreamManager();
      } catch (error) {
        throw new X2Error('X2_ERR_IO', `${this.url}: JetStream is not enabled on this server (start it with -js): ` +
          (error as Error).message, { cause: error });
      }
    }
    return this.#jsm;
  }

  async prepare(spec: WorkloadSpec): Promise<void> {
    const jsm = await this.#manager();
    for (let topicIndex = 0; topicIndex < spec.topics; topicIndex++) {
      const name = topicName(spec, topicIndex);
      try {
        await jsm.streams.info(name);
      } catch {
        try {
          await jsm.streams.add({ name, subjects: [`${name}.*`], storage: StorageType.File, num_replicas: 1 });
        } catch (error) {
          throw new X2Error('X2_ERR_IO', `${this.url}: creating stream ${name} (${topicIndex} of ${spec.topics} ` +
            `exist) failed: ${(error as Error).message}`, { cause: error });
        }
      }
    }
  }

  async backlog(spec: WorkloadSpec): Promise<number[]> {
    const jsm = await this.#manager();
    const counts = new Array<number>(partitionCount(spec)).fill(0);
    for (let topicIndex = 0; topicIndex < spec.topics; topicIndex++) {
      const name = topicName(spec, topicIndex);
      const info = await jsm.streams.info(name, { subjects_filter: '>' });
      const subjects = info.state.subjects ?? {};
      for (let partition = 0; partition < spec.partitions; partition++) {
        counts[topicIndex * spec.partitions + partition] = subjects[`${name}.${partition}`] ?? 0;
      }
    }
    return counts;
  }

  async createProducer(spec: WorkloadSpec, _producerIndex: number, stats: ProducerStats): Promise<TargetProducer> {
    const connection = await this.#connect();
    return new NatsProducer(spec, connection, connection.jetstream(), stats);
  }

  async createConsumer(spec: WorkloadSpec, partitions: number[], startAt: StartAt,
    sink: ConsumerSink): Promise<TargetConsumer> {
    const jsm = await this.#manager();
    const connection = await this.#connect();
    const js = connection.jetstream();
    const byTopic = new Map<number, number[]>();
    for (const partition of partitions) {
      const topicIndex = Math.floor(partition / spec.partitions);
      byTopic.set(topicIndex, [...(byTopic.get(topicIndex) ?? []), partition]);
    }
    const streams: ConsumerMessages[] = [];
    const loops: Promise<void>[] = [];
    let running = true;
    for (const [topicIndex, list] of byTopic) {
      const name = topicName(spec, topicIndex);
      const lastSeq = startAt === 'latest' ? (await jsm.streams.info(name)).state.last_seq : 0;
      const filters = list.length === spec.partitions
        ? [`${name}.*`] : list.map((p) => `${name}.${p % spec.partitions}`);
      for (const filter of filters) {
        const consumer = await js.consumers.get(name, {
          filterSubjects: filter,
          // DeliverPolicy.All never delivers from nats-server 2.9 through this client; sequence 1 is the same.
          deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1,
        });
        const messages = await consumer.consume({ max_messages: NATS_LIMITS.consumeBatchRecords });
        streams.push(messages);
        const base = topicIndex * spec.partitions;
        const prefixBytes = name.length + 1;
        loops.push((async () => {
          try {
            for await (const message of messages) {
              const partition = base + Number(message.subject.slice(prefixBytes));
              const data = message.data;
              sink.record(partition, Buffer.from(data.buffer, data.byteOffset, data.length), 0, data.length);
            }
          } catch (error) {
            if (running) sink.error(`${this.url}: ${(error as Error).message}`);
          }
        })());
      }
    }
    return {
      stop: async () => {
        running = false;
        for (const messages of streams) messages.stop();
        // A consumer stuck in a pull ends when its connection closes; do not wait on it forever.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(loops), new Promise((resolve) => { timer = setTimeout(resolve, 2_000); })]);
        clearTimeout(timer);
        await connection.close();
      },
    };
  }

  async close(): Promise<void> {
    if (this.#admin !== null) await this.#admin.close();
    this.#admin = null;
    this.#jsm = null;
  }
}

class NatsProducer implements TargetProducer {
  readonly #spec: WorkloadSpec;
  readonly #connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #stats: ProducerStats;
  readonly #subjects: string[];
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(spec: WorkloadSpec, connection: NatsConnection, js: JetStreamClient, stats: ProducerStats) {
    this.#spec = spec;
    this.#connection = connection;
    this.#js = js;
    this.#stats = stats;
    this.#subjects = Array.from({ length: partitionCount(spec) },
      (_, index) => `${topicName(spec, Math.floor(index / spec.partitions))}.${index % spec.partitions}`);
  }

  send(partition: number, _key: Buffer | null, value: Buffer, scheduledUs: number): boolean {
    if (this.#inFlight >= NATS_LIMITS.inFlightMax) return false;
    const subject = this.#subjects[partition]!;
    const data = Buffer.from(value);
    this.#stats.sent++;
    if (this.#spec.acks === 0) {
      this.#connection.publish(subject, data);
      this.#stats.acked++;
      this.#stats.ackedPerPartition[partition]! += 1;
      return true;
    }
    this.#inFlight++;
    this.#js.publish(subject, data).then(() => {
      this.#stats.acked++;
      this.#stats.ackedPerPartition[partition]! += 1;
      this.#stats.ackLatency.recordUs(nowUs() - scheduledUs);
      this.#settle();
    }, (error: unknown) => {
      this.#stats.fail(1, `${subject}: ${(error as Error).message}`);
      this.#settle();
    });
    return true;
  }

  #settle(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  pump(): void {
    // The nats client writes on its own schedule; nothing is held back here.
  }

  async flush(): Promise<void> {
    await this.#connection.flush();
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
