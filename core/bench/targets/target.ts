/**
 * What `x2 bench` needs from a system under test, so one workload runner drives x2 (Kafka
 * protocol), NATS JetStream and Redis Streams alike. Partitions are global indices
 * (topicIndex * partitions + partitionIndex); each target maps them to its own names.
 *
 * Producer contract: `send` queues one record without blocking and returns false when the
 * producer's bounded buffer is full (nothing queued); acknowledgements and failures land in the
 * shared ProducerStats. Consumer contract: records are handed to the sink in partition order,
 * as views valid only during the call.
 */
import type { LatencyRecorder } from '../latency.ts';
import type { WorkloadSpec } from '../workload.ts';

export type TargetKind = 'kafka' | 'nats' | 'redis';

export class ProducerStats {
  sent = 0;
  acked = 0;
  failed = 0;
  firstError: string | null = null;
  readonly ackLatency: LatencyRecorder;
  /** Acknowledged records per global partition. */
  readonly ackedPerPartition: Float64Array;

  constructor(ackLatency: LatencyRecorder, partitions: number) {
    this.ackLatency = ackLatency;
    this.ackedPerPartition = new Float64Array(partitions);
  }

  fail(count: number, message: string): void {
    this.failed += count;
    this.firstError ??= message;
  }
}

export interface TargetProducer {
  /** Queues one record for a global partition; false = buffer full, try again after `pump`. */
  send(partition: number, key: Buffer | null, value: Buffer, scheduledUs: number): boolean;
  /** Sends whatever is queued if the connection has room; called after each burst of sends. */
  pump(): void;
  /** Resolves once every queued record is acknowledged or failed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerSink {
  /** One record of a global partition: the value is `buffer[start, end)`. */
  record(partition: number, buffer: Buffer, start: number, end: number): void;
  /** A consumer could not go on (connection lost, protocol error). */
  error(message: string): void;
}

export interface TargetConsumer {
  stop(): Promise<void>;
}

export type StartAt = 'earliest' | 'latest';

export interface Target {
  readonly kind: TargetKind;
  /** The target as given, for reports. */
  readonly url: string;
  /** Creates missing topics/streams with the workload's partitions and waits until they serve. */
  prepare(spec: WorkloadSpec): Promise<void>;
  /** Records currently held per global partition, counted from the earliest one kept. */
  backlog(spec: WorkloadSpec): Promise<number[]>;
  createProducer(spec: WorkloadSpec, producerIndex: number, stats: ProducerStats): Promise<TargetProducer>;
  /** Starts reading `partitions`; resolves once positioned (so 'latest' misses nothing sent after). */
  createConsumer(spec: WorkloadSpec, partitions: number[], startAt: StartAt,
    sink: ConsumerSink): Promise<TargetConsumer>;
  close(): Promise<void>;
}

