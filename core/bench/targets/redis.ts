/**
 * `--target redis://HOST:PORT`: the workload against Redis Streams through ioredis. A
 * partition is a stream key `<topic>:<partition>`; a record is `XADD key * v <value>`.
 * Producers batch the XADDs queued since the last send into one pipeline and keep up to
 * `inFlightMax` pipelines outstanding (the same adaptive batching as the Kafka target); a
 * record is acknowledged by its XADD reply, whose durability is the server's appendfsync.
 * Consumers block in XREAD over all their streams on a connection of their own; XREAD's cursors
 * are the consumer's (no consumer group), so every subscriber reads every entry.
 *
 * Bounds: queued plus in-flight records per producer are capped at `bufferedRecordsMax`;
 * ioredis keeps its own copy of each value until the pipeline is written.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { X2Error } from '../../base/errors.ts';
import { nowUs, partitionCount, topicName, type WorkloadSpec } from '../workload.ts';
import type {
  ConsumerSink, ProducerStats, StartAt, Target, TargetConsumer, TargetProducer,
} from './target.ts';

export const REDIS_LIMITS = {
  connectTimeoutMs: 5_000,
  inFlightMax: 5,
  pipelineRecordsMax: 10_000,
  bufferedRecordsMax: 100_000,
  readBlockMs: 200,
  readCountMax: 1_000,
  keysPerCall: 1_000,
} as const;

function streamKey(spec: WorkloadSpec, partition: number): string {
  return `${topicName(spec, Math.floor(partition / spec.partitions))}:${partition % spec.partitions}`;
}

export class RedisTarget implements Target {
  readonly kind = 'redis' as const;
  readonly url: string;
  readonly #host: string;
  readonly #port: number;
  #admin: Redis | null = null;

  constructor(url: string, host: string, port: number) {
    this.url = url;
    this.#host = host;
    this.#port = port;
  }

  async #connect(): Promise<Redis> {
    const redis = new Redis({
      host: this.#host, port: this.#port, lazyConnect: true, connectTimeout: REDIS_LIMITS.connectTimeoutMs,
      retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectionName: 'x2-bench',
    });
    redis.on('error', () => {
      // Reported through the failing command or connect(); without a listener ioredis logs to stderr.
    });
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new X2Error('X2_ERR_IO', `${this.url}: cannot connect: ${(error as Error).message}`, { cause: error });
    }
    return redis;
  }

  async #adminConnection(): Promise<Redis> {
    this.#admin ??= await this.#connect();
    return this.#admin;
  }

  async prepare(): Promise<void> {
    await (await this.#adminConnection()).ping();
  }

  async backlog(spec: WorkloadSpec): Promise<number[]> {
    const redis = await this.#adminConnection();
    const counts: number[] = [];
    const total = partitionCount(spec);
    for (let start = 0; start < total; start += REDIS_LIMITS.keysPerCall) {
      const pipeline = redis.pipeline();
      for (let partition = start; partition < Math.min(total, start + REDIS_LIMITS.keysPerCall); partition++) {
        pipeline.xlen(streamKey(spec, partition));
      }
      for (const [error, length] of (await pipeline.exec()) ?? []) {
        if (error) throw new X2Error('X2_ERR_IO', `${this.url}: XLEN failed: ${error.message}`);
        counts.push(Number(length));
      }
    }
    return counts;
  }

  async createProducer(spec: WorkloadSpec, _producerIndex: number, stats: ProducerStats): Promise<TargetProducer> {
    return new RedisProducer(spec, await this.#connect(), stats);
  }

  async createConsumer(spec: WorkloadSpec, partitions: number[], startAt: StartAt,
    sink: ConsumerSink): Promise<TargetConsumer> {
    const redis = await this.#connect();
    const keys = partitions.map((partition) => streamKey(spec, partition));
    const ids = keys.map(() => '0-0');
    if (startAt === 'latest') {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.xrevrange(key, '+', '-', 'COUNT', 1);
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([, reply], index) => {
        const last = (reply as Array<[string, string[]]>)[0];
        if (last !== undefined) ids[index] = last[0];
      });
    }
    const partitionOf = new Map(keys.map((key, index) => [key, partitions[index]!]));
    const indexOf = new Map(keys.map((key, index) => [key, index]));
    let running = true;
    const loop = (async () => {
      while (running) {
        let reply: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        try {
          reply = await redis.xreadBuffer('COUNT', REDIS_LIMITS.readCountMax, 'BLOCK', REDIS_LIMITS.readBlockMs,
            'STREAMS', ...keys, ...ids) as typeof reply;
        } catch (error) {
          if (running) sink.error(`${this.url}: XREAD failed: ${(error as Error).message}`);
          return;
        }
        if (reply === null) continue;
        for (const [keyBuffer, entries] of reply) {
          const key = keyBuffer.toString();
          const partition = partitionOf.get(key)!;
          for (const [, fields] of entries) {
            const value = fields[1] ?? Buffer.alloc(0);
            sink.record(partition, value, 0, value.length);
          }
          const last = entries[entries.length - 1];
          if (last !== undefined) ids[indexOf.get(key)!] = last[0].toString();
        }
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        redis.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    this.#admin?.disconnect();
    this.#admin = null;
  }
}

type Pipeline = { commands: ChainableCommander; partitions: number[]; scheduledUs: number[] };

class RedisProducer implements TargetProducer {
  readonly #spec: WorkloadSpec;
  readonly #redis: Redis;
  readonly #stats: ProducerStats;
  readonly #keys: string[];
  #open: Pipeline | null = null;
  #inFlight = 0;
  #buffered = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(spec: WorkloadSpec, redis: Redis, stats: ProducerStats) {
    this.#spec = spec;
    this.#redis = redis;
    this.#stats = stats;
    this.#keys = Array.from({ length: partitionCount(spec) }, (_, partition) => streamKey(spec, partition));
  }

  send(partition: number, _key: Buffer | null, value: Buffer, scheduledUs: number): boolean {
    if (this.#buffered >= REDIS_LIMITS.bufferedRecordsMax) return false;
    this.#open ??= { commands: this.#redis.pipeline(), partitions: [], scheduledUs: [] };
    const open = this.#open;
    open.commands.xadd(this.#keys[partition]!, '*', 'v', Buffer.from(value));
    open.partitions.push(partition);
    open.scheduledUs.push(scheduledUs);
    this.#buffered++;
    this.#stats.sent++;
    if (open.partitions.length >= REDIS_LIMITS.pipelineRecordsMax && this.#inFlight < REDIS_LIMITS.inFlightMax) {
      this.#exec();
    }
    return true;
  }

  pump(): void {
    while (this.#open !== null && this.#inFlight < REDIS_LIMITS.inFlightMax) this.#exec();
  }

  #exec(): void {
    const pipeline = this.#open!;
    this.#open = null;
    this.#inFlight++;
    pipeline.commands.exec().then((replies) => {
      const now = nowUs();
      pipeline.partitions.forEach((partition, index) => {
        const error = replies?.[index]?.[0];
        if (error) this.#stats.fail(1, `XADD ${this.#keys[partition]}: ${error.message}`);
        else {
          this.#stats.acked++;
          this.#stats.ackedPerPartition[partition]! += 1;
          this.#stats.ackLatency.recordUs(now - pipeline.scheduledUs[index]!);
        }
      });
      this.#settle(pipeline.partitions.length);
    }, (error: unknown) => {
      this.#stats.fail(pipeline.partitions.length, `XADD pipeline: ${(error as Error).message}`);
      this.#settle(pipeline.partitions.length);
    });
  }

  #settle(records: number): void {
    this.#inFlight--;
    this.#buffered -= records;
    this.pump();
    if (this.#inFlight === 0 && this.#open === null && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  flush(): Promise<void> {
    this.pump();
    if (this.#inFlight === 0 && this.#open === null) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
