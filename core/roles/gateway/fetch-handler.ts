/**
 * Fetch (v4-11) and its long-poll. Each requested partition is echoed, with whole stored
 * batches from the one holding the fetch offset, never above the high watermark (everything a
 * gateway holds is committed). Batches come from the live-tail cache when it reaches back far
 * enough, else from a commit (history-reader.ts). At least one batch is returned for the first
 * partition with data even when it is larger than the limits (KIP-74), so no consumer stalls.
 *
 * Long-poll: when fewer than min_bytes are available, the request waits (FetchWaiters) until
 * applied entries make enough available or max_wait passes; the connection's later responses
 * queue behind it, as Kafka's do. Offsets below the log start or above the high watermark get
 * OFFSET_OUT_OF_RANGE. Bounds: waits last at most FETCH_WAIT_MS_MAX; answers FETCH_BYTES_MAX.
 *
 * No copy of large cached batches (16 KiB or more): the answer refers to them (RecordRuns) and the
 * socket writes them from the tail cache's own buffers; smaller ones are copied. Those buffers are
 * reused once the cache lets go of them (frame-refs.ts), so the answer holds each one it refers to,
 * from when it takes the batches from the cache until the socket has written the answer or closed
 * (answer-holds.ts, which also copies a partition whose batches would keep too large a share of
 * the cache's memory).
 */
import {
  fetch, fetchAnswerAsResponse, type FetchAnswer, type FetchRequest,
} from '../../kafka/api/01-fetch.ts';
import { RecordRuns } from '../../kafka/codec/record-runs.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { AnswerHolds } from './answer-holds.ts';
import { GATHER_BYTES_MIN, type RequestContext } from './connection.ts';
import { FETCH_BYTES_MAX, type Gateway } from './gateway.ts';
import type { CachedBatch } from './stream-log.ts';

const FETCH_WAIT_MS_MAX = 30_000;
/** History reads one Fetch starts at once (each a request to a commit; the answer bounds their bytes). */
export const HISTORY_READS_PER_FETCH_MAX = 256;
const EMPTY_RECORDS = Buffer.alloc(0);

type PartitionAnswer = FetchAnswer['responses'][number]['partitions'][number];

type Parked = { context: RequestContext; request: FetchRequest; deadlineMs: number; timer: NodeJS.Timeout };

/** Fetches waiting for data; re-checked after every round of applied entries. */
export class FetchWaiters {
  readonly #gateway: Gateway;
  readonly #parked = new Set<Parked>();

  constructor(gateway: Gateway) {
    this.#gateway = gateway;
  }

  get size(): number { return this.#parked.size; }

  park(context: RequestContext, request: FetchRequest, waitMs: number): void {
    const parked: Parked = {
      context, request, deadlineMs: Date.now() + waitMs,
      timer: setTimeout(() => this.#release(parked), waitMs),
    };
    this.#parked.add(parked);
  }

  recheck(): void {
    for (const parked of this.#parked) {
      if (parked.context.connection.closed) {
        clearTimeout(parked.timer);
        this.#parked.delete(parked);
      } else if (availableBytes(this.#gateway, parked.request) >= Math.max(1, parked.request.minBytes)) {
        this.#release(parked);
      }
    }
  }

  close(): void {
    for (const parked of this.#parked) clearTimeout(parked.timer);
    this.#parked.clear();
  }

  #release(parked: Parked): void {
    if (!this.#parked.delete(parked)) return;
    clearTimeout(parked.timer);
    answer(this.#gateway, parked.context, parked.request);
  }
}

export function handleFetch(gateway: Gateway, context: RequestContext, body: unknown): void {
  const request = body as FetchRequest;
  const waitMs = Math.min(FETCH_WAIT_MS_MAX, Math.max(0, request.maxWaitMs));
  if (waitMs > 0 && !anyError(gateway, request) && availableBytes(gateway, request) < Math.max(1, request.minBytes)) {
    gateway.fetchWaiters.park(context, request, waitMs);
    return;
  }
  answer(gateway, context, request);
}

/** Bytes committed at or after each partition's fetch offset, summed. */
function availableBytes(gateway: Gateway, request: FetchRequest): number {
  let bytes = 0;
  for (const topic of request.topics) {
    const view = gateway.state.control.topic(topic.topic);
    for (const partition of topic.partitions) {
      const streamId = view?.streamIds[partition.partition];
      if (streamId === undefined) continue;
      bytes += gateway.state.stream(streamId)?.bytesFrom(partition.fetchOffset) ?? 0;
    }
  }
  return bytes;
}

/** True when some partition will get an error: answer at once, do not wait. */
function anyError(gateway: Gateway, request: FetchRequest): boolean {
  for (const topic of request.topics) {
    const view = gateway.state.control.topic(topic.topic);
    for (const partition of topic.partitions) {
      const streamId = view?.streamIds[partition.partition];
      if (streamId === undefined) return true;
      const highWatermark = gateway.state.stream(streamId)?.nextOffset ?? 0;
      if (partition.fetchOffset < gateway.state.control.logStartOffset(streamId)
        || partition.fetchOffset > highWatermark) return true;
    }
  }
  return false;
}

function answer(gateway: Gateway, context: RequestContext, request: FetchRequest): void {
  const holds = new AnswerHolds(gateway.state.frames);
  build(gateway, request, holds).then((response) => {
    gateway.fetchPartitionsCopied += holds.copiedPartitions;
    context.respondGathered(fetch, fetchAnswerAsResponse(response), holds.holding ? () => holds.release() : null);
  }).catch((error: unknown) => {
    holds.release(); // nothing was handed to the socket: encoding failed, or build did
    gateway.log.limited('warn', 'fetch', `fetch failed: ${String(error)}`);
    context.connection.close('fetch failed', 'fetch-failed');
  });
}

/**
 * History reads for the partitions that need one, started together so that their round trips to
 * the commits overlap (one after the other, a consumer reading history from many partitions waited
 * for each in turn). Each is planned with the bytes the partition has (from the gateway's index),
 * within what the answer could still give it, so no more is read than the answer may hold; one
 * whose first batch cannot fit is not read at all (its batch would be dropped). At most
 * HISTORY_READS_PER_FETCH_MAX start here; the rest are read in turn while the answer is built.
 */
function startHistoryReads(gateway: Gateway, request: FetchRequest, bytesMax: number): Map<object, Promise<Buffer[]>> {
  const reads = new Map<object, Promise<Buffer[]>>();
  let bytesPlanned = 0;
  for (const topic of request.topics) {
    const view = gateway.state.control.topic(topic.topic);
    for (const partition of topic.partitions) {
      if (bytesPlanned >= bytesMax || reads.size === HISTORY_READS_PER_FETCH_MAX) return reads;
      const streamId = view?.streamIds[partition.partition];
      const log = streamId === undefined ? undefined : gateway.state.stream(streamId);
      if (log === undefined || streamId === undefined) continue;
      const fetchOffset = partition.fetchOffset;
      if (fetchOffset < gateway.state.control.logStartOffset(streamId) || fetchOffset >= log.nextOffset) continue;
      const limitBytes = Math.min(bytesMax - bytesPlanned, Math.max(0, partition.partitionMaxBytes));
      const fromBatch = log.batchAt(fetchOffset);
      if (fromBatch < 0 || (bytesPlanned > 0 && log.batchBytes(fromBatch) > limitBytes)) continue;
      bytesPlanned += Math.min(limitBytes, log.bytesFrom(fetchOffset));
      if (log.cachedFrom(fetchOffset) !== null) continue;
      const read = gateway.history.read(log, fromBatch, Math.max(1, limitBytes));
      read.catch(() => undefined); // one not awaited (the answer filled up first) must not go unhandled
      reads.set(partition, read);
    }
  }
  return reads;
}

/** `holds`: the cache's buffers the answer refers to (answer-holds.ts). */
async function build(gateway: Gateway, request: FetchRequest, holds: AnswerHolds): Promise<FetchAnswer> {
  const control = gateway.state.control;
  let bytesLeft = Math.min(FETCH_BYTES_MAX, request.maxBytes > 0 ? request.maxBytes : FETCH_BYTES_MAX);
  const historyReads = startHistoryReads(gateway, request, bytesLeft);
  let anyData = false;
  const responses: FetchAnswer['responses'] = [];
  for (const topic of request.topics) {
    const partitions: PartitionAnswer[] = [];
    responses.push({ topic: topic.topic, partitions });
    const view = control.topic(topic.topic);
    for (const partition of topic.partitions) {
      const streamId = view?.streamIds[partition.partition];
      const answer: PartitionAnswer = {
        partitionIndex: partition.partition, errorCode: KAFKA_ERROR.NONE, highWatermark: -1, lastStableOffset: -1,
        logStartOffset: -1, abortedTransactions: null, preferredReadReplica: -1, records: EMPTY_RECORDS,
      };
      partitions.push(answer);
      if (streamId === undefined) {
        answer.errorCode = KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      const log = gateway.state.stream(streamId);
      const highWatermark = log?.nextOffset ?? 0;
      const logStartOffset = control.logStartOffset(streamId);
      answer.highWatermark = highWatermark;
      answer.lastStableOffset = highWatermark;
      answer.logStartOffset = logStartOffset;
      const fetchOffset = partition.fetchOffset;
      if (fetchOffset < logStartOffset || fetchOffset > highWatermark) {
        answer.errorCode = KAFKA_ERROR.OFFSET_OUT_OF_RANGE;
        continue;
      }
      if (log === undefined || fetchOffset === highWatermark || (bytesLeft <= 0 && anyData)) continue;
      const limitBytes = Math.min(bytesLeft, Math.max(0, partition.partitionMaxBytes));
      const batches: Buffer[] = [];
      let bytes = 0;
      let fromHistory = false;
      let referred = false;
      const cached = log.cachedFrom(fetchOffset);
      if (cached !== null) {
        const large: CachedBatch[] = [];
        let largeBytes = 0;
        for (let i = cached.from; i < log.cache.length; i++) {
          const entry = log.cache[i]!;
          const batch = entry.batch;
          if ((anyData || batches.length > 0) && bytes + batch.length > limitBytes) break;
          batches.push(batch);
          bytes += batch.length;
          if (batch.length >= GATHER_BYTES_MIN) {
            large.push(entry);
            largeBytes += batch.length;
          }
        }
        // Large batches are referred to, their buffers held now, while the cache still holds them,
        // until the answer is written; small ones are copied (runsOf). Holding buffers for small
        // batches alone cost more than copying them (+5 % gateway CPU, a consumer per partition).
        referred = large.length > 0 && holds.refer(large, largeBytes);
      } else {
        const fromBatch = log.batchAt(fetchOffset);
        // Started above unless the cache held it then (it may have moved on since). Once the
        // answer holds data, a batch beyond the limit is dropped: do not read one.
        const read = historyReads.get(partition)
          ?? (fromBatch < 0 || (anyData && log.batchBytes(fromBatch) > limitBytes) ? null
            : gateway.history.read(log, fromBatch, Math.max(1, limitBytes)));
        fromHistory = true;
        for (const batch of read === null ? [] : await read) {
          if ((anyData || batches.length > 0) && bytes + batch.length > limitBytes) break;
          batches.push(batch);
          bytes += batch.length;
        }
      }
      if (batches.length === 0) continue;
      anyData = true;
      bytesLeft -= bytes;
      // A history read's batches are views of the commit's answers (STREAM_ENTRIES holds them
      // back to back): one view per answer they came in. Cached batches are referred to as runs,
      // unless that would keep too much of the cache's memory: copied now.
      if (fromHistory) {
        const runs = contiguousRuns(batches);
        answer.records = runs.length === 1 ? runs[0]! : new RecordRuns(runs);
      } else {
        answer.records = referred ? new RecordRuns(runsOf(batches)) : Buffer.concat(batches, bytes);
      }
    }
  }
  return { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NONE, sessionId: 0, responses };
}

/**
 * The runs of an answer's cached batches: each large one as it is (its buffer is held), each
 * stretch of small ones between them copied into one buffer of its own (the cache reuses theirs).
 */
function runsOf(batches: readonly Buffer[]): Buffer[] {
  const runs: Buffer[] = [];
  let smallFrom = 0;
  for (let i = 0; i <= batches.length; i++) {
    if (i < batches.length && batches[i]!.length < GATHER_BYTES_MIN) continue;
    if (i > smallFrom) runs.push(Buffer.concat(batches.slice(smallFrom, i)));
    if (i < batches.length) runs.push(batches[i]!);
    smallFrom = i + 1;
  }
  return runs;
}

/** The batches as few views as possible: neighbours that lie back to back in memory become one. */
function contiguousRuns(batches: readonly Buffer[]): Buffer[] {
  const runs: Buffer[] = [];
  let first = batches[0]!;
  let length = first.length;
  for (let i = 1; i <= batches.length; i++) {
    const batch = batches[i];
    if (batch !== undefined && batch.buffer === first.buffer && batch.byteOffset === first.byteOffset + length) {
      length += batch.length;
      continue;
    }
    runs.push(length === first.length ? first : Buffer.from(first.buffer, first.byteOffset, length));
    if (batch === undefined) break;
    first = batch;
    length = batch.length;
  }
  return runs;
}
