/**
 * Runs one `x2 bench produce|consume|e2e` workload against a Target and measures it.
 *
 * - produce: producers send for `durationMs` (open loop at the rate, or closed loop at max),
 *   then flush; figures: records/s and MB/s acknowledged, produce-ack latency, per-partition
 *   count and checksum of what was sent.
 * - consume: reads every partition from its earliest record up to the backlog counted at the
 *   start (or until `durationMs`); figures: records/s, MB/s, per-partition count, checksum
 *   and order violations of what was read.
 * - e2e: consumers are positioned at the end first, then producers run as in produce; after
 *   the flush the consumers drain until they have every acknowledged record (or the drain
 *   limit passes); figures: both of the above plus end-to-end latency (receive time minus
 *   the scheduled send time stamped in each value) and `lost` (acknowledged, never received).
 * - consume and e2e read with `subscribers` independent subscribers, each of `consumers`
 *   consumers sharing every partition (subscriber-receipts.ts); consumed figures count a record
 *   once per subscriber and are also given per subscriber.
 *
 * Bounds: each producer loop sends at most `burstRecordsMax` records before yielding to I/O;
 * a producer that reports a full buffer is retried after 1 ms; the drain waits at most
 * `drainTimeoutMs`. The value buffer is one per producer, stamped in place per record.
 */
import { LatencyRecorder, type LatencySummary } from './latency.ts';
import { SubscriberReceipts, type SubscriberFigures } from './subscriber-receipts.ts';
import { ValueChecksum } from './value-checksum.ts';
import {
  KeyChooser, makeValueTemplate, nowUs, PartitionTally, partitionCount, SendSchedule, stampValue, tallyFigures,
  type PartitionFigures, type WorkloadSpec,
} from './workload.ts';
import { ProducerStats, type Target, type TargetConsumer, type TargetProducer } from './targets/target.ts';

export type WorkloadMode = 'produce' | 'consume' | 'e2e';

export const RUNNER_LIMITS = {
  burstRecordsMax: 2_000,
  flushTimeoutMs: 60_000,
  drainTimeoutMs: 30_000,
} as const;

export type ProgressSnapshot = {
  mode: WorkloadMode;
  elapsedMs: number;
  durationMs: number;
  sent: number;
  acked: number;
  /** Records received, counted once per subscriber. */
  received: number;
  failed: number;
  /** Acknowledged (produce, e2e) or received (consume) records per second since the last snapshot. */
  recordsPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
};

export type ProducedFigures = {
  sent: number; acked: number; failed: number; firstError: string | null;
  recordsPerSecond: number; megabytesPerSecond: number;
};

/** Sums over the subscribers (a record counts once per subscriber), then each subscriber's figures. */
export type ConsumedFigures = {
  records: number; recordsPerSecond: number; megabytesPerSecond: number; outOfOrder: number;
  expected: number | null; lost: number | null; firstError: string | null;
  /**
   * e2e: partitions that got back as many records as were sent but whose checksum differs from
   * the sent one (bytes changed on the way); null for consume, which has nothing to compare with.
   */
  mismatchedPartitions: number | null;
  subscribers: SubscriberFigures[];
};

export type WorkloadResult = {
  mode: WorkloadMode;
  target: string;
  workload: WorkloadSpec;
  seconds: number;
  produced: ProducedFigures | null;
  consumed: ConsumedFigures | null;
  ackLatency: LatencySummary | null;
  e2eLatency: LatencySummary | null;
  partitions: Array<PartitionFigures & { acked?: number }>;
};

export type RunOptions = {
  mode: WorkloadMode;
  seed: number;
  progressIntervalMs: number;
  onProgress: (snapshot: ProgressSnapshot) => void;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
/** Longest pause between two looks at a paced schedule: bounds how late a record (or a read) gets. */
const PAUSE_US_MAX = 100;

/**
 * Sleeps the thread for `us` microseconds (under 1 ms) without spinning. setTimeout cannot wait
 * less than 1 ms, and looping on setImmediate until the next record was due kept a core busy:
 * at 20,000 records/s of 100 B the client used 45 us of CPU per record, more than the whole
 * cluster it measured, on the cores they share.
 */
function pauseUs(us: number): void {
  Atomics.wait(pauseCell, 0, 0, us / 1000);
}

export async function runWorkload(target: Target, spec: WorkloadSpec, options: RunOptions): Promise<WorkloadResult> {
  const total = partitionCount(spec);
  const ackLatency = new LatencyRecorder();
  const e2eLatency = options.mode === 'e2e' ? new LatencyRecorder() : null;
  const stats = new ProducerStats(ackLatency, total);
  const sent = Array.from({ length: total }, () => new PartitionTally());
  const subscribers = options.mode === 'produce' ? []
    : Array.from({ length: spec.subscribers }, () => new SubscriberReceipts(total, e2eLatency, spec.subscribers > 1));
  const receivedTotal = (): number => subscribers.reduce((sum, subscriber) => sum + subscriber.total, 0);
  const readError = (): string | null =>
    subscribers.find((subscriber) => subscriber.firstError !== null)?.firstError ?? null;
  const caughtUp = (wanted: ArrayLike<number>): boolean => subscribers.every((one) => one.caughtUp(wanted));
  const producers: TargetProducer[] = [];
  const consumers: TargetConsumer[] = [];
  let expected: number[] | null = null;
  let startedMs = performance.now();
  let lastProgress = { atMs: startedMs, count: 0 };
  let progress: NodeJS.Timeout | undefined;
  const reportProgress = (): void => {
    const now = performance.now();
    const received = receivedTotal();
    const count = options.mode === 'consume' ? received : stats.acked;
    const seconds = (now - lastProgress.atMs) / 1000;
    options.onProgress({
      mode: options.mode, elapsedMs: now - startedMs, durationMs: spec.durationMs, sent: stats.sent,
      acked: stats.acked, received, failed: stats.failed,
      recordsPerSecond: seconds > 0 ? (count - lastProgress.count) / seconds : 0,
      ackP50Ms: ackLatency.percentileMs(50), ackP99Ms: ackLatency.percentileMs(99),
      e2eP50Ms: e2eLatency?.percentileMs(50) ?? 0, e2eP99Ms: e2eLatency?.percentileMs(99) ?? 0,
    });
    lastProgress = { atMs: now, count };
  };
  let producingSeconds = 0;
  let consumingSeconds = 0;
  try {
    await target.prepare(spec);
    if (options.mode !== 'produce') {
      if (options.mode === 'consume') expected = await target.backlog(spec);
      // Every subscriber reads every partition; within one, consumer i reads partitions i mod consumers.
      for (const subscriber of subscribers) {
        for (let index = 0; index < spec.consumers; index++) {
          const assigned: number[] = [];
          for (let partition = index; partition < total; partition += spec.consumers) assigned.push(partition);
          if (assigned.length === 0) continue;
          consumers.push(await target.createConsumer(spec, assigned,
            options.mode === 'consume' ? 'earliest' : 'latest', subscriber));
        }
      }
    }
    const consumeStartMs = performance.now();
    startedMs = consumeStartMs;
    lastProgress = { atMs: startedMs, count: 0 };
    progress = setInterval(reportProgress, options.progressIntervalMs);
    progress.unref();
    if (options.mode === 'consume') {
      const wanted = expected!;
      const deadlineMs = consumeStartMs + spec.durationMs;
      while (performance.now() < deadlineMs && readError() === null && !caughtUp(wanted)) {
        await sleep(5);
      }
      consumingSeconds = (performance.now() - consumeStartMs) / 1000;
    } else {
      for (let index = 0; index < spec.producers; index++) {
        producers.push(await target.createProducer(spec, index, stats));
      }
      const produceStartMs = performance.now();
      const startUs = nowUs();
      const endUs = startUs + spec.durationMs * 1000;
      await Promise.all(producers.map((producer, index) =>
        driveProducer(producer, spec, index, startUs, endUs, options.seed, sent, stats)));
      let flushTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(producers.map((producer) => producer.flush())),
        new Promise((resolve) => {
          flushTimer = setTimeout(resolve, RUNNER_LIMITS.flushTimeoutMs);
        }),
      ]);
      clearTimeout(flushTimer);
      producingSeconds = (performance.now() - produceStartMs) / 1000;
      if (options.mode === 'e2e') {
        const drainDeadline = performance.now() + RUNNER_LIMITS.drainTimeoutMs;
        while (performance.now() < drainDeadline && readError() === null && !caughtUp(stats.ackedPerPartition)) {
          await sleep(5);
        }
        consumingSeconds = (performance.now() - consumeStartMs) / 1000;
      }
    }
  } finally {
    clearInterval(progress);
    await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
    await Promise.allSettled(producers.map((producer) => producer.close()));
  }
  const megabytes = (records: number): number => (records * spec.messageBytes) / 1e6;
  const produced: ProducedFigures | null = options.mode === 'consume' ? null : {
    sent: stats.sent, acked: stats.acked, failed: stats.failed, firstError: stats.firstError,
    recordsPerSecond: rate(stats.acked, producingSeconds),
    megabytesPerSecond: rate(megabytes(stats.acked), producingSeconds),
  };
  let consumed: ConsumedFigures | null = null;
  if (options.mode !== 'produce') {
    const wanted = options.mode === 'consume' ? expected! : Array.from(stats.ackedPerPartition);
    const expectedTotal = wanted.reduce((sum, count) => sum + count, 0) * subscribers.length;
    const each = subscribers.map((subscriber) => subscriber.figures(wanted, options.mode === 'consume' ? null : sent));
    const sum = (of: (figures: SubscriberFigures) => number): number => each.reduce((all, one) => all + of(one), 0);
    const records = sum((one) => one.records);
    consumed = {
      records, recordsPerSecond: rate(records, consumingSeconds),
      megabytesPerSecond: rate(subscribers.reduce((all, one) => all + one.bytes, 0) / 1e6, consumingSeconds),
      outOfOrder: sum((one) => one.outOfOrder), expected: expectedTotal, lost: sum((one) => one.lost),
      firstError: readError(),
      mismatchedPartitions: options.mode === 'consume' ? null : sum((one) => one.mismatchedPartitions ?? 0),
      subscribers: each,
    };
  }
  // consume and e2e: as read by the first subscriber (the others are judged by their own figures).
  const partitions = options.mode === 'produce'
    ? tallyFigures(spec, sent).map((figures, index) => ({ ...figures, acked: stats.ackedPerPartition[index]! }))
    : tallyFigures(spec, subscribers[0]!.tallies);
  const result: WorkloadResult = {
    mode: options.mode, target: target.url, workload: spec,
    seconds: Math.max(producingSeconds, consumingSeconds),
    produced, consumed,
    ackLatency: options.mode === 'consume' || spec.acks === 0 ? null : ackLatency.summary(),
    e2eLatency: e2eLatency?.summary() ?? null,
    partitions,
  };
  ackLatency.destroy();
  e2eLatency?.destroy();
  for (const subscriber of subscribers) subscriber.destroy();
  return result;
}

function rate(amount: number, seconds: number): number {
  return seconds > 0 ? amount / seconds : 0;
}

async function driveProducer(producer: TargetProducer, spec: WorkloadSpec, producerIndex: number, startUs: number,
  endUs: number, seed: number, sent: PartitionTally[], stats: ProducerStats): Promise<void> {
  const schedule = new SendSchedule(startUs, spec.ratePerSecond === null ? null : spec.ratePerSecond / spec.producers);
  const chooser = new KeyChooser(spec, producerIndex);
  const value = makeValueTemplate(spec.messageBytes, seed);
  const checksum = new ValueChecksum(value);
  const sequences = new Float64Array(partitionCount(spec));
  const giveUpUs = endUs + RUNNER_LIMITS.flushTimeoutMs * 1000;
  for (;;) {
    const now = nowUs();
    // Paced: every record scheduled before the end is sent, even when the loop wakes up late.
    if (schedule.paced ? schedule.nextScheduledUs(now) >= endUs || now >= giveUpUs : now >= endUs) break;
    const due = schedule.due(now, RUNNER_LIMITS.burstRecordsMax);
    let blocked = false;
    for (let index = 0; index < due; index++) {
      const scheduledUs = schedule.nextScheduledUs(now);
      if (scheduledUs >= endUs) break;
      const partition = chooser.nextPartition();
      const sequence = sequences[partition]!;
      stampValue(value, scheduledUs, producerIndex, sequence);
      if (!producer.send(partition, chooser.key, value, scheduledUs)) {
        chooser.unpick();
        blocked = true;
        break;
      }
      sequences[partition] = sequence + 1;
      sent[partition]!.addCrc(value.length, checksum.of(value));
      schedule.taken++;
    }
    producer.pump();
    if (stats.failed > 0 && stats.acked === 0 && stats.failed >= stats.sent) break;
    if (blocked) await sleep(1);
    else if (schedule.paced) {
      const waitUs = schedule.waitUs(nowUs());
      if (waitUs >= 1000) await sleep(Math.max(0, Math.min(waitUs / 1000, (endUs - nowUs()) / 1000)));
      else {
        if (waitUs > 0) pauseUs(Math.min(waitUs, PAUSE_US_MAX));
        await yieldToIo();
      }
    } else await yieldToIo();
  }
}
