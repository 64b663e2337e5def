/**
 * Idempotent-producer state of one gateway: per (stream, producerId) the producer epoch, the
 * last committed sequence and the last PRODUCER_BATCHES_KEPT batches (first/last sequence, base
 * offset), built from committed river entries in seq order, so every gateway holds the same
 * table. On top, the batches this gateway has appended but not yet seen committed (in flight).
 *
 * Rules (Kafka's): a batch equal to a kept or in-flight one is a duplicate: it gets the original
 * offset and is not appended again. An older epoch is INVALID_PRODUCER_EPOCH. A first sequence
 * other than last + 1 (0 after a new epoch) is OUT_OF_ORDER_SEQUENCE_NUMBER. An unknown producer
 * may start anywhere (lenient, as kafkajs and librdkafka retries need after a restart).
 *
 * In doubt: when the link to the sequencer is lost with a batch of a producer in flight, that batch
 * may have been sequenced or not, so the next sequence is unknown here. The producer is marked
 * with a barrier (the gateway's: it resolves once this gateway has applied a seq sequenced after
 * every append of the lost link); until then `check` answers `wait`, and the caller checks again
 * after it: a batch that made it is then a duplicate with its original offset, one that did not is
 * appended. Without this a retry was judged against a table that did not yet hold its original.
 * A batch that waited and then finds an earlier one missing (the one whose outcome was unknown,
 * not written after all) is the caller's to answer as retriable (produce-handler.ts).
 *
 * Bounds: PRODUCER_BATCHES_KEPT batches per (stream, producer); producers idle for
 * PRODUCER_IDLE_MS_MAX of river time are forgotten, checked every PRODUCER_SWEEP_EVERY commits.
 */
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';

export const PRODUCER_BATCHES_KEPT = 5;
export const PRODUCER_IDLE_MS_MAX = 7 * 24 * 3600 * 1000;
const PRODUCER_SWEEP_EVERY = 65_536;

type KeptBatch = { firstSequence: number; lastSequence: number; baseOffset: number };

type ProducerEntry = {
  epoch: number;
  lastSequence: number;
  kept: KeptBatch[];
  lastSeenMs: number;
  /** Appended by this gateway, not yet committed, in append order. */
  inflight: InflightBatch[];
  /** Set while a batch's outcome is unknown here; cleared when it resolves. */
  doubt: Promise<void> | null;
};

export type InflightBatch = {
  readonly epoch: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  /** Called with the base offset once committed, or with an error code when the append failed. */
  readonly waiters: Array<(baseOffset: number, errorCode: number) => void>;
};

export type ProducerVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'inflight'; batch: InflightBatch }
  | { kind: 'wait'; until: Promise<void> }
  /** `ahead`: an OUT_OF_ORDER_SEQUENCE_NUMBER past the expected sequence (an earlier batch is missing). */
  | { kind: 'error'; errorCode: number; message: string; ahead?: boolean };

export class ProducerTable {
  readonly #entries = new Map<string, ProducerEntry>();
  #commitsSinceSweep = 0;

  get size(): number { return this.#entries.size; }

  #key(streamId: number, producerId: number): string { return `${streamId}:${producerId}`; }

  check(streamId: number, producerId: number, epoch: number, firstSequence: number,
    lastSequence: number): ProducerVerdict {
    const entry = this.#entries.get(this.#key(streamId, producerId));
    if (entry === undefined) return { kind: 'append' };
    if (entry.doubt !== null) return { kind: 'wait', until: entry.doubt };
    if (epoch < entry.epoch) {
      return { kind: 'error', errorCode: KAFKA_ERROR.INVALID_PRODUCER_EPOCH,
        message: `epoch ${epoch} is older than ${entry.epoch}` };
    }
    if (epoch === entry.epoch) {
      for (const kept of entry.kept) {
        if (kept.firstSequence === firstSequence && kept.lastSequence === lastSequence) {
          return { kind: 'duplicate', baseOffset: kept.baseOffset };
        }
      }
    }
    for (const batch of entry.inflight) {
      if (batch.epoch === epoch && batch.firstSequence === firstSequence && batch.lastSequence === lastSequence) {
        return { kind: 'inflight', batch };
      }
    }
    const lastInflight = entry.inflight.at(-1);
    const expectedEpoch = lastInflight?.epoch ?? entry.epoch;
    if (epoch > expectedEpoch) return firstSequence === 0 ? { kind: 'append' } : outOfOrder(0, firstSequence);
    const expected = (lastInflight?.lastSequence ?? entry.lastSequence) + 1;
    if (entry.lastSequence < 0 && lastInflight === undefined) return { kind: 'append' };
    if (firstSequence !== (expected > 0x7fff_ffff ? 0 : expected)) return outOfOrder(expected, firstSequence);
    return { kind: 'append' };
  }

  /** Registers a batch this gateway is appending; the caller settles it with `settle`. */
  addInflight(streamId: number, producerId: number, batch: InflightBatch): void {
    const key = this.#key(streamId, producerId);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { epoch: batch.epoch, lastSequence: -1, kept: [], lastSeenMs: Date.now(), inflight: [], doubt: null };
      this.#entries.set(key, entry);
    }
    entry.inflight.push(batch);
  }

  /**
   * Ends an in-flight batch: committed with its offset, or failed with an error code; `doubt` (a
   * failure whose outcome is unknown) marks the producer in doubt until that barrier resolves.
   */
  settle(streamId: number, producerId: number, batch: InflightBatch, baseOffset: number, errorCode: number,
    doubt: Promise<void> | null = null): void {
    const entry = this.#entries.get(this.#key(streamId, producerId));
    if (entry !== undefined) {
      const index = entry.inflight.indexOf(batch);
      if (index >= 0) entry.inflight.splice(index, 1);
      if (doubt !== null && entry.doubt !== doubt) {
        entry.doubt = doubt;
        void doubt.then(() => { if (entry.doubt === doubt) entry.doubt = null; });
      }
    }
    for (const waiter of batch.waiters) waiter(baseOffset, errorCode);
  }

  /** Applies one committed batch of an idempotent producer (from the river, in seq order). */
  commit(streamId: number, producerId: number, epoch: number, firstSequence: number, recordCount: number,
    baseOffset: number, timestampMs: number): void {
    const key = this.#key(streamId, producerId);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { epoch, lastSequence: -1, kept: [], lastSeenMs: timestampMs, inflight: [], doubt: null };
      this.#entries.set(key, entry);
    }
    if (epoch > entry.epoch) {
      entry.epoch = epoch;
      entry.kept.length = 0;
    }
    const lastSequence = firstSequence + recordCount - 1;
    entry.lastSequence = lastSequence;
    entry.lastSeenMs = Math.max(entry.lastSeenMs, timestampMs);
    entry.kept.push({ firstSequence, lastSequence, baseOffset });
    if (entry.kept.length > PRODUCER_BATCHES_KEPT) entry.kept.shift();
    this.#commitsSinceSweep += 1;
    if (this.#commitsSinceSweep >= PRODUCER_SWEEP_EVERY) this.#sweep(timestampMs);
  }

  #sweep(nowMs: number): void {
    this.#commitsSinceSweep = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.inflight.length === 0 && entry.doubt === null
        && nowMs - entry.lastSeenMs > PRODUCER_IDLE_MS_MAX) this.#entries.delete(key);
    }
  }
}

function outOfOrder(expected: number, got: number): ProducerVerdict {
  return {
    kind: 'error', errorCode: KAFKA_ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER,
    message: `sequence ${got} does not follow the last one (expected ${expected})`, ahead: got > expected,
  };
}
