/**
 * Everything a gateway derives from the river, applied in seq order and only once committed:
 * topics and configs (`__x2_control` into ControlState), committed group offsets
 * (`__consumer_offsets` into OffsetsState), live gateways (`__x2_gateways`), and per user stream
 * its high watermark, batch index, idempotent-producer table and live-tail cache.
 *
 * Entries arrive from the RiverMember as they are multicast, before they are durable; they wait
 * in `pending` until the committed seq reaches them. Big user batches stay views of their river
 * frame, counted in `frames` (frame-refs.ts) so the member reuses the buffer once nothing refers
 * to it; small ones are copied into slabs (batch-slabs.ts), counted there too, so slabs are reused;
 * internal ones are always copied. On a new welcome
 * (sequencer restart) the uncommitted ones are dropped: the new sequencer may have cut them, and
 * anything that survived comes again. Entries at or below the welcome's head seq are applied at
 * once: the recovery made them the river's history.
 *
 * Bounds: control outcomes are kept for the last OUTCOMES_KEPT control entries; `pending` holds at most the sequencer's
 * uncommitted window (its ring); waiters are one
 * per in-flight append of this gateway. Determinism: apply depends only on the entries.
 */
import type { Log } from '../../base/log.ts';
import { ControlState, type ApplyOutcome } from '../../control/control-state.ts';
import { OffsetsState } from '../../control/offsets-state.ts';
import { FIRST_USER_STREAM_ID, INTERNAL_TOPICS } from '../../control/topic-name.ts';
import {
  BATCH_BASE_SEQUENCE_POSITION, BATCH_MAX_TIMESTAMP_POSITION, BATCH_PRODUCER_EPOCH_POSITION, BATCH_PRODUCER_ID_POSITION,
} from '../../kafka/record-batch.ts';
import type { StoredRiverEntry, Welcome } from '../../river/messages.ts';
import { BatchSlabs, ownBatch } from './batch-slabs.ts';
import { FrameRefs } from './frame-refs.ts';
import { internalBatchValues } from './internal-batch.ts';
import { GATEWAYS_STREAM_ID, GatewayMembers } from './membership.ts';
import { ProducerTable } from './producer-table.ts';
import { StreamLog, TailCache } from './stream-log.ts';

export const CONTROL_STREAM_ID = INTERNAL_TOPICS[0].streamId;
export const OFFSETS_STREAM_ID = INTERNAL_TOPICS[1].streamId;
const OUTCOMES_KEPT = 1024;
const TOPIC_DELETED_KIND = 2;

/** `held`: the batch is a view into a river frame buffer or a slab, counted in GatewayState.frames. */
type PendingEntry = StoredRiverEntry & { held: boolean };

/** Called when the entry at `seq` (or a later one) has been applied; control outcomes for control entries. */
type SeqWaiter = { seq: number; done: (outcomes: ApplyOutcome[]) => void };

function readInt64(batch: Buffer, position: number): number {
  return batch.readInt32BE(position) * 0x1_0000_0000 + batch.readUInt32BE(position + 4);
}

export class GatewayState {
  readonly control: ControlState;
  readonly offsets = new OffsetsState();
  readonly members = new GatewayMembers();
  readonly producers = new ProducerTable();
  readonly streams = new Map<number, StreamLog>();
  readonly cache: TailCache;
  readonly frames = new FrameRefs();
  readonly #slabs = new BatchSlabs(undefined, this.frames);
  readonly #log: Log;
  appliedSeq = 0;
  #committedSeq = 0;
  #headSeq = 0;
  readonly #pending: PendingEntry[] = [];
  #pendingHead = 0;
  readonly #waiters: SeqWaiter[] = [];
  #waitersHead = 0;
  /** Control outcomes of the last applied control entries, by seq, for their waiters. */
  readonly #outcomes = new Map<number, ApplyOutcome[]>();
  readonly #appliedListeners: Array<() => void> = [];
  malformedInternal = 0;

  constructor(options: { control: ControlState; cacheBytesMax: number; log: Log }) {
    this.control = options.control;
    this.cache = new TailCache(options.cacheBytesMax);
    this.cache.bind((streamId) => this.streams.get(streamId));
    this.cache.onEvicted = (cached) => { if (cached.held) this.frames.release(cached.batch.buffer); };
    this.#log = options.log;
  }

  get committedSeq(): number { return this.#committedSeq; }
  /** Slabs allocated for small cached batches (the rest reuse slabs the tail cache gave back). */
  get slabsAllocated(): number { return this.#slabs.slabsAllocated; }
  get pendingCount(): number { return this.#pending.length - this.#pendingHead; }

  /** Listeners run after each round of applies (Fetch long-polls re-check here). */
  onApplied(listener: () => void): void {
    this.#appliedListeners.push(listener);
  }

  stream(streamId: number): StreamLog | undefined {
    return this.streams.get(streamId);
  }

  /** The RiverMember's welcome hook: returns the last seq held (applied). */
  welcome(welcome: Welcome): number {
    for (let i = this.#pendingHead; i < this.#pending.length; i++) {
      const entry = this.#pending[i]!;
      if (entry.held) this.frames.release(entry.batch.buffer);
    }
    this.#pending.length = 0;
    this.#pendingHead = 0;
    this.#headSeq = Math.max(this.#headSeq, welcome.headSeq);
    this.advanceCommitted(welcome.committedSeq);
    return this.appliedSeq;
  }

  /** The RiverMember's deliver hook: one entry in seq order, exactly once. */
  deliver(entry: StoredRiverEntry): void {
    // Only what the tail cache will hold may go into a slab (batch-slabs.ts: the bound). Internal
    // batches are always copied: their records may be kept (configs, offsets) past any release.
    const user = entry.streamId >= FIRST_USER_STREAM_ID;
    const cached = user && entry.batchBytes === undefined && entry.batch.length <= this.cache.cacheBytesMax;
    const batch = cached ? this.#slabs.own(entry.batch) : user ? ownBatch(entry.batch) : Buffer.from(entry.batch);
    const held = batch.buffer === entry.batch.buffer || (cached && this.#slabs.inSlab(batch));
    if (held) this.frames.hold(batch.buffer);
    this.#pending.push({ ...entry, batch, held });
    this.#applyCommitted();
  }

  advanceCommitted(committedSeq: number): void {
    if (committedSeq <= this.#committedSeq) return;
    this.#committedSeq = committedSeq;
    this.#applyCommitted();
  }

  /** Calls `done` once the entry at `seq` is applied (at once if it is). */
  whenApplied(seq: number, done: (outcomes: ApplyOutcome[]) => void): void {
    if (seq <= this.appliedSeq) {
      done(this.#outcomes.get(seq) ?? []);
      return;
    }
    this.#waiters.push({ seq, done });
    // Appends from one client come back in seq order, so the queue stays sorted but for races
    // with other clients; keep it sorted by insertion from the back.
    for (let i = this.#waiters.length - 1; i > this.#waitersHead && this.#waiters[i - 1]!.seq > seq; i--) {
      const swap = this.#waiters[i - 1]!;
      this.#waiters[i - 1] = this.#waiters[i]!;
      this.#waiters[i] = swap;
    }
  }

  #applyCommitted(): void {
    const limitSeq = Math.max(this.#committedSeq, this.#headSeq);
    let applied = false;
    while (this.#pendingHead < this.#pending.length) {
      const entry = this.#pending[this.#pendingHead]!;
      if (entry.seq > limitSeq) break;
      this.#pending[this.#pendingHead] = undefined as unknown as PendingEntry;
      this.#pendingHead += 1;
      this.#apply(entry);
      applied = true;
    }
    if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#pendingHead);
      this.#pendingHead = 0;
    }
    if (!applied) return;
    while (this.#waitersHead < this.#waiters.length && this.#waiters[this.#waitersHead]!.seq <= this.appliedSeq) {
      const waiter = this.#waiters[this.#waitersHead]!;
      this.#waiters[this.#waitersHead] = undefined as unknown as SeqWaiter;
      this.#waitersHead += 1;
      waiter.done(this.#outcomes.get(waiter.seq) ?? []);
    }
    if (this.#waitersHead > 1024 && this.#waitersHead * 2 > this.#waiters.length) {
      this.#waiters.splice(0, this.#waitersHead);
      this.#waitersHead = 0;
    }
    for (const listener of this.#appliedListeners) listener();
  }

  #apply(entry: PendingEntry): void {
    // A held view goes to the cache, which releases it when it leaves; otherwise it is released here.
    if (!this.#applyAndCache(entry) && entry.held) this.frames.release(entry.batch.buffer);
  }

  /** Applies one entry; true when its batch went into the tail cache. */
  #applyAndCache(entry: PendingEntry): boolean {
    this.appliedSeq = entry.seq;
    const batch = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
    if (entry.streamId === CONTROL_STREAM_ID || entry.streamId === OFFSETS_STREAM_ID
      || entry.streamId === GATEWAYS_STREAM_ID) {
      this.#applyInternal(entry.streamId, entry.seq, batch);
    }
    let log = this.streams.get(entry.streamId);
    if (log === undefined) {
      log = new StreamLog(entry.streamId);
      this.streams.set(entry.streamId, log);
    }
    const maxTimestampMs = readInt64(batch, BATCH_MAX_TIMESTAMP_POSITION);
    log.add(entry.baseOffset, entry.recordCount, entry.seq, maxTimestampMs, entry.batchBytes ?? batch.length);
    if (entry.streamId < FIRST_USER_STREAM_ID) return false;
    const producerId = readInt64(batch, BATCH_PRODUCER_ID_POSITION);
    if (producerId >= 0) {
      this.producers.commit(entry.streamId, producerId, batch.readInt16BE(BATCH_PRODUCER_EPOCH_POSITION),
        batch.readInt32BE(BATCH_BASE_SEQUENCE_POSITION), entry.recordCount, entry.baseOffset, maxTimestampMs);
    }
    if (entry.batchBytes !== undefined) {
      // Only the header came (a replay or a repair from a commit): nothing to cache, and the
      // cache must stay one unbroken run of the stream's newest batches, so what it held goes.
      if (log.cache.length > log.cacheHead) this.cache.dropStream(log);
      return false;
    }
    return this.cache.add(log, {
      streamId: entry.streamId, seq: entry.seq, baseOffset: entry.baseOffset,
      lastOffset: entry.baseOffset + entry.recordCount - 1, batch, held: entry.held,
    });
  }

  #applyInternal(streamId: number, seq: number, batch: Buffer): void {
    let values: Buffer[];
    try {
      values = internalBatchValues(batch);
    } catch (error) {
      this.malformedInternal += 1;
      this.#log.limited('warn', `internal-${streamId}`,
        `skipped a malformed internal batch at seq ${seq}: ${String(error)}`);
      return;
    }
    const outcomes: ApplyOutcome[] = [];
    for (const value of values) {
      try {
        if (streamId === CONTROL_STREAM_ID) {
          const outcome = this.control.applyBytes(value);
          outcomes.push(outcome);
          if (outcome.ok) this.#afterControl(value);
        } else if (streamId === OFFSETS_STREAM_ID) {
          this.offsets.applyBytes(value);
        } else if (!this.members.apply(value)) {
          this.malformedInternal += 1;
        }
      } catch (error) {
        this.malformedInternal += 1;
        this.#log.limited('warn', `internal-${streamId}`,
          `skipped a malformed internal record at seq ${seq}: ${String(error)}`);
      }
    }
    if (outcomes.length === 0) return;
    this.#outcomes.set(seq, outcomes);
    // Kept for a while: an APPENDED may in theory come after its entry was applied.
    if (this.#outcomes.size > OUTCOMES_KEPT) this.#outcomes.delete(this.#outcomes.keys().next().value!);
  }

  /** Deleted topics free their cached batches (kind byte 2 = topic-deleted, control-records.ts). */
  #afterControl(value: Buffer): void {
    if (value[1] !== TOPIC_DELETED_KIND) return;
    for (const [streamId, log] of this.streams) {
      if (streamId >= FIRST_USER_STREAM_ID && log.cache.length > 0
        && this.control.partitionOf(streamId) === undefined) {
        this.cache.dropStream(log);
      }
    }
  }
}
