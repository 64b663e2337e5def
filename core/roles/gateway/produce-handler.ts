/**
 * Produce (v3-7): validate each partition's record batches (record-batch.ts: sizes, magic 2,
 * CRC-32C, counts), check idempotent producers (producer-table.ts), append one entry per batch
 * through the sequencer (all partitions of a request in as few entry sets as its limits allow,
 * so a request naming thousands of partitions costs one round trip), and answer once every
 * partition's entries are as durable as the request's acks ask.
 *
 * Acks: -1 (all) is answered once the committed seq (durable on the write quorum) reaches the
 * append and this gateway has applied it, so the producer's next Fetch here sees its records.
 * 1 is answered once the append is durable on at least one commit (the sequencer's durable-on-one
 * seq), which can be before the quorum: a Fetch still shows it only once committed (the high
 * watermark stays the committed seq). acks=0 gets no response at all. Batches pass byte for byte
 * (compressed or not); the sequencer patches only baseOffset and partitionLeaderEpoch, and a topic
 * with message.timestamp.type=LogAppendTime gets each batch stamped here (record-batch.ts).
 * A partition not answered within the request's timeout gets REQUEST_TIMED_OUT (retriable).
 * A large request's batches go to the sequencer's link as views of the request's own buffer
 * (kept from the connection, RequestContext.keepFrame) and the buffer goes back once the link
 * has written them; small requests, and requests still in the read buffer, are copied.
 */
import { produce, type ProduceRequest, type ProduceResponse } from '../../kafka/api/00-produce.ts';
import { KAFKA_ERROR, kafkaErrorName } from '../../kafka/kafka-errors.ts';
import {
  ATTRIBUTE_LOG_APPEND_TIME, splitRecordBatches, stampLogAppendTime, type RecordBatchView,
} from '../../kafka/record-batch.ts';
import { AppendOutcomeUnknownError } from '../../river/append-client.ts';
import { ENTRY_HEADER_BYTES } from '../../river/frame.ts';
import { VIEW_BYTES_MIN } from '../../river/link.ts';
import type { AppendEntry } from '../../river/messages.ts';
import type { RequestContext } from './connection.ts';
import type { Gateway } from './gateway.ts';
import type { InflightBatch } from './producer-table.ts';

const PRODUCE_TIMEOUT_MS_MIN = 1_000;
const PRODUCE_TIMEOUT_MS_MAX = 120_000;
/** The sequencer's limits for one append (entry set): 65535 entries, 8 MiB of entries. */
const APPEND_ENTRIES_MAX = 0xffff;
const APPEND_BYTES_MAX = 8 * 1024 * 1024 - 1024;


type PartitionResult = ProduceResponse['topics'][number]['partitions'][number];

export function handleProduce(gateway: Gateway, context: RequestContext, body: unknown): void {
  const request = body as ProduceRequest;
  const response: ProduceResponse = { topics: [], throttleTimeMs: 0 };
  let open = 0;
  let sealed = false;
  const finish = (): void => {
    if (!sealed || open > 0 || context.answered) return;
    clearTimeout(timer);
    if (request.acks === 0) context.noResponse(); else context.respond(produce, response);
  };
  const timeoutMs = Math.min(PRODUCE_TIMEOUT_MS_MAX, Math.max(PRODUCE_TIMEOUT_MS_MIN, request.timeoutMs));
  const timer = setTimeout(() => {
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        if (partition.errorCode !== -2) continue;
        partition.errorCode = KAFKA_ERROR.REQUEST_TIMED_OUT;
        partition.baseOffset = -1;
      }
    }
    open = 0;
    finish();
  }, timeoutMs);
  timer.unref();
  const appends: PartitionAppend[] = [];
  const acksValid = request.acks === 0 || request.acks === 1 || request.acks === -1;
  for (const topicData of request.topics) {
    const partitions: PartitionResult[] = [];
    response.topics.push({ name: topicData.name, partitions });
    const topic = gateway.state.control.topic(topicData.name);
    const batchBytesMax = Number(gateway.state.control.configOf(topicData.name, 'max.message.bytes') ?? 1048588);
    const logAppendTime = gateway.state.control.configOf(topicData.name, 'message.timestamp.type') === 'LogAppendTime';
    const tooFewCommits = request.acks === -1 && minInsyncProblem(gateway, topicData.name);
    for (const partitionData of topicData.partitions) {
      const result: PartitionResult = {
        index: partitionData.index, errorCode: KAFKA_ERROR.NONE, baseOffset: -1, logAppendTimeMs: -1,
          logStartOffset: -1,
      };
      partitions.push(result);
      const streamId = topic?.streamIds[partitionData.index];
      if (!acksValid) { result.errorCode = KAFKA_ERROR.INVALID_REQUIRED_ACKS; continue; }
      if (request.transactionalId !== null) { result.errorCode = KAFKA_ERROR.INVALID_REQUEST; continue; }
      if (topic === undefined
        || streamId === undefined) { result.errorCode = KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION; continue; }
      if (topic.isInternal) { result.errorCode = KAFKA_ERROR.INVALID_TOPIC_EXCEPTION; continue; }
      if (tooFewCommits) { result.errorCode = KAFKA_ERROR.NOT_ENOUGH_REPLICAS; continue; }
      const split = splitRecordBatches(partitionData.records, { batchBytesMax, fromProducer: true });
      if (split.failure !== null) {
        result.errorCode = split.failure.errorCode;
        gateway.log.limited('warn', `produce-${split.failure.errorCode}`,
          `produce to ${topicData.name}[${partitionData.index}] ` +
          `from ${context.connection.clientHost} refused: ${kafkaErrorName(split.failure.errorCode)}: `
          + split.failure.message);
        continue;
      }
      if (logAppendTime) result.logAppendTimeMs = stampBatches(split.batches, Date.now());
      result.logStartOffset = gateway.state.control.logStartOffset(streamId);
      result.errorCode = -2; // open
      open += 1;
      producePartition(gateway, streamId, split.batches, (baseOffset, errorCode) => {
        if (result.errorCode !== -2) return;
        result.errorCode = errorCode;
        result.baseOffset = errorCode === KAFKA_ERROR.NONE ? baseOffset : -1;
        open -= 1;
        finish();
      }, appends, request.acks === 1 ? 'one' : 'quorum');
    }
  }
  // Only a request with a batch the link would send as a view keeps its buffer (many small
  // batches, say to 10,000 topics, are copied into the link either way).
  const hasViews = context.frameBytes >= VIEW_BYTES_MIN
    && appends.some((append) => append.batches.some((view) => view.bytes.length >= VIEW_BYTES_MIN));
  const release = hasViews ? context.keepFrame() : null;
  const views: ViewsWritten | null = release === null ? null : { pending: 1, release };
  appendPartitions(gateway, appends, request.acks === 1 ? 'one' : 'quorum', views);
  if (views !== null) viewsWritten(views);
  sealed = true;
  finish();
}

/**
 * True when the topic's min.insync.replicas asks for more copies than an acks=all answer stands
 * for: x2 answers once the write quorum (W commits) holds a batch, so with a larger minimum the
 * produce is refused with NOT_ENOUGH_REPLICAS, as Kafka refuses it while too few replicas are in
 * sync. Logged once per period, naming the topic, the setting and W.
 */
function minInsyncProblem(gateway: Gateway, topic: string): boolean {
  const writeQuorum = gateway.writeQuorum();
  const minInsync = Number(gateway.state.control.configOf(topic, 'min.insync.replicas') ?? 1);
  if (writeQuorum === null || minInsync <= writeQuorum) return false;
  gateway.log.limited('warn', 'min-insync', `produce with acks=all to ${topic} refused (NOT_ENOUGH_REPLICAS): `
    + `its min.insync.replicas is ${minInsync}, an acknowledgement stands for the write quorum of ${writeQuorum}`
    + ' commits');
  return true;
}

/** LogAppendTime topics: every batch takes the gateway's clock as its timestamp (as Kafka's leader does). */
function stampBatches(batches: readonly RecordBatchView[], nowMs: number): number {
  for (const view of batches) {
    stampLogAppendTime(view.bytes, nowMs);
    view.header.attributes |= ATTRIBUTE_LOG_APPEND_TIME;
    view.header.maxTimestamp = nowMs;
  }
  return nowMs;
}

/**
 * Appends one partition's batches (deduplicating idempotent ones) by adding them to `appends`;
 * `done` is called once. A producer in doubt (producer-table.ts) is checked again once its
 * barrier resolves, with copies of the batches (the request's buffer is reused meanwhile), and
 * appended on its own then.
 */
function producePartition(gateway: Gateway, streamId: number, batches: RecordBatchView[],
  done: (baseOffset: number, errorCode: number) => void, appends: PartitionAppend[], ack: 'one' | 'quorum',
  waited = false): void {
  const producers = gateway.state.producers;
  const first = batches[0]!.header;
  const producerId = first.producerId;
  if (producerId >= 0) {
    const lastSequence = batches.reduce((last, view) => view.header.baseSequence + view.header.recordCount - 1, 0);
    const verdict = producers.check(streamId, producerId, first.producerEpoch, first.baseSequence, lastSequence);
    if (verdict.kind === 'wait') {
      const copies = batches.map((view) => ({ header: view.header, bytes: Buffer.from(view.bytes) }));
      void verdict.until.then(() => {
        const later: PartitionAppend[] = [];
        producePartition(gateway, streamId, copies, done, later, ack, true);
        if (later.length > 0) appendPartitions(gateway, later, ack, null);
      });
      return;
    }
    if (verdict.kind === 'duplicate') return done(verdict.baseOffset, KAFKA_ERROR.NONE);
    if (verdict.kind === 'inflight') {
      verdict.batch.waiters.push(done);
      return;
    }
    if (verdict.kind === 'error') {
      // Sent while an earlier batch's outcome was unknown, which turned out unwritten: the client
      // must send that one first. REQUEST_TIMED_OUT lets it; OUT_OF_ORDER_SEQUENCE_NUMBER for its
      // head-of-line batch is fatal to librdkafka, which took the earlier one as possibly written.
      const errorCode = waited && verdict.ahead === true ? KAFKA_ERROR.REQUEST_TIMED_OUT : verdict.errorCode;
      gateway.log.limited('warn', `producer-${errorCode}`, `producer ${producerId} on stream ${streamId}: `
        + `${verdict.message}${errorCode === verdict.errorCode ? '' : '; answered REQUEST_TIMED_OUT: an earlier '
          + 'batch whose outcome was unknown was not written, and the producer sends it again first'}`);
      return done(-1, errorCode);
    }
    const inflight: InflightBatch = { epoch: first.producerEpoch, firstSequence: first.baseSequence, lastSequence,
      waiters: [done] };
    producers.addInflight(streamId, producerId, inflight);
    appends.push({ streamId, batches, done: (baseOffset, errorCode) => {
      // An unknown outcome leaves the producer in doubt until the river tells (producer-table.ts).
      const doubt = errorCode === KAFKA_ERROR.REQUEST_TIMED_OUT ? gateway.outcomeBarrier() : null;
      producers.settle(streamId, producerId, inflight, baseOffset, errorCode, doubt);
    } });
    return;
  }
  appends.push({ streamId, batches, done });
}

/** A kept request buffer: appends still to be written from it (plus one until all are sent). */
type ViewsWritten = { pending: number; release: () => void };

function viewsWritten(views: ViewsWritten): void {
  views.pending -= 1;
  if (views.pending === 0) views.release();
}

type PartitionAppend = {
  readonly streamId: number;
  readonly batches: RecordBatchView[];
  readonly done: (baseOffset: number, errorCode: number) => void;
};

/**
 * Appends the partitions of one request as few entry sets as the sequencer allows (at most
 * APPEND_ENTRIES_MAX entries and APPEND_BYTES_MAX bytes each): one round trip and one wait for
 * the commit per set, however many partitions the request names.
 */
function appendPartitions(gateway: Gateway, appends: PartitionAppend[], ack: 'one' | 'quorum',
  views: ViewsWritten | null): void {
  let start = 0;
  while (start < appends.length) {
    let end = start;
    let entryCount = 0;
    let bytes = 0;
    while (end < appends.length) {
      const next = appends[end]!;
      const nextBytes = next.batches.reduce((sum, view) => sum + view.bytes.length + ENTRY_HEADER_BYTES, 0);
      const full = entryCount + next.batches.length > APPEND_ENTRIES_MAX || bytes + nextBytes > APPEND_BYTES_MAX;
      if (end > start && full) break;
      entryCount += next.batches.length;
      bytes += nextBytes;
      end += 1;
    }
    appendSet(gateway, appends.slice(start, end), ack, views);
    start = end;
  }
}

function appendSet(gateway: Gateway, set: PartitionAppend[], ack: 'one' | 'quorum', views: ViewsWritten | null): void {
  const entries: AppendEntry[] = [];
  const firstEntry: number[] = [];
  for (const partition of set) {
    firstEntry.push(entries.length);
    for (const view of partition.batches) {
      entries.push({ streamId: partition.streamId, recordCount: view.header.recordCount, batch: view.bytes });
    }
  }
  let sequencedOffsets: readonly number[] = [];
  const answer = (): void => {
    set.forEach((partition, index) => partition.done(sequencedOffsets[firstEntry[index]!]!, KAFKA_ERROR.NONE));
  };
  const handler = {
    onAppended: (firstSeq: number, baseOffsets: readonly number[]): void => {
      sequencedOffsets = baseOffsets;
      if (ack === 'quorum') gateway.state.whenApplied(firstSeq + entries.length - 1, answer);
    },
    // With ack 'one' this is the durable-on-one seq reaching the set: Kafka's acks=1.
    onCommitted: (): void => { if (ack === 'one') answer(); },
    // A lost link leaves the outcome unknown: REQUEST_TIMED_OUT, which clients retry as "maybe
    // written" (an idempotent one with the same sequence, deduplicated here). NOT_ENOUGH_REPLICAS
    // says "not written": librdkafka then bumps its epoch and sends the batch again as new.
    onError: (error: Error): void => {
      const unknown = error instanceof AppendOutcomeUnknownError;
      const errorCode = unknown ? KAFKA_ERROR.REQUEST_TIMED_OUT : KAFKA_ERROR.NOT_ENOUGH_REPLICAS;
      gateway.log.limited('warn', 'append-error', `append of ${entries.length} batches failed: ${error.message}; `
        + `answered ${kafkaErrorName(errorCode)}${unknown ? ' (written or not: the producer retries)' : ''}`);
      for (const partition of set) partition.done(-1, errorCode);
    },
  };
  if (views !== null) views.pending += 1;
  const written = views === null ? undefined : (): void => viewsWritten(views);
  if (gateway.appender.append(entries, handler, { ack, written })) return;
  const options = { ack };
  // No room or no link: keep our own copies (the request frame is reused) and retry when writable.
  const copies = entries.map((entry) => ({ ...entry, batch: Buffer.from(entry.batch) }));
  written?.(); // refused: the link never referred to the request's bytes, and the copies are taken
  const retry = (): void => {
    gateway.appender.whenWritable().then(() => {
      if (!gateway.appender.append(copies, handler, options)) retry();
    }, () => handler.onError(new Error('append client closed')));
  };
  retry();
}
