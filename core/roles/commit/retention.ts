/**
 * Retention in a commit: applies the `log-start-moved` records of `__x2_control` (DeleteRecords
 * and the controller gateway's topic retention) to the store, and periodically asks the store to
 * delete whole oldest segments that no stream needs any more (or that the store-wide
 * --retention-ms / --retention-bytes expire); core/storage/store-control.ts has the truth table.
 *
 * Where it sits: the commit hands it every `__x2_control` entry after appending it to the store,
 * and after each welcome it re-reads the stored `__x2_control` (moves a crash left unapplied).
 * A move is applied only once its entry is committed (a stored but uncommitted tail may be cut
 * after a sequencer change, and its record would then never have happened); moves above a
 * truncation point are dropped.
 *
 * Bounds: pending moves are kept per stream (the latest wins: log starts only move forward), so
 * at most one per stream; one apply round runs at a time.
 */
import { X2Error } from '../../base/errors.ts';
import type { Log } from '../../base/log.ts';
import { decodeControlRecord } from '../../control/control-records.ts';
import { INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { decodeRecords } from '../../kafka/record-batch.ts';
import type { StoredRiverEntry } from '../../river/messages.ts';
import type { Store } from '../../storage/store.ts';

export const CONTROL_STREAM_ID = INTERNAL_TOPICS[0].streamId;
/** How often committed log start moves are applied: DeleteRecords frees disk within this. */
export const LOG_START_APPLY_MS = 200;
const CONTROL_BATCH_BYTES_MAX = 64 * 1024 * 1024;
const LOG_START_MOVED_KIND = 5;
const REPLAY_READ_BYTES_MAX = 4 * 1024 * 1024;

/** The offset after a stored batch: base offset (int64 at 0) + last offset delta (int32 at 23) + 1. */
function readBatchNextOffset(batch: Buffer): number {
  return batch.readInt32BE(0) * 0x1_0000_0000 + batch.readUInt32BE(4) + batch.readInt32BE(23) + 1;
}

type PendingMove = { seq: number; logStartOffset: number };

export class CommitRetention {
  readonly #store: Store;
  readonly #log: Log;
  readonly #committedSeq: () => number;
  readonly #pending = new Map<number, PendingMove>();
  readonly #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | null = null;
  logStartMovesApplied = 0;
  segmentsDeleted = 0;
  malformedRecords = 0;

  constructor(store: Store, log: Log, committedSeq: () => number) {
    this.#store = store;
    this.#log = log;
    this.#committedSeq = committedSeq;
  }

  /** Starts applying moves every LOG_START_APPLY_MS and store retention every `checkMs`. */
  start(checkMs: number): void {
    this.#timers.push(setInterval(() => this.#runExclusive(false), LOG_START_APPLY_MS));
    this.#timers.push(setInterval(() => this.#runExclusive(true), checkMs));
  }

  /** Waits for a running round and stops the timers. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#running;
  }

  /** Notes the log start moves of a `__x2_control` entry the store has just appended. */
  noteEntry(entry: StoredRiverEntry): void {
    if (entry.streamId !== CONTROL_STREAM_ID) return;
    this.#noteBatch(entry.seq, Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length));
  }

  /**
   * After a welcome (the divergent tail already cut): notes every move in the stored
   * `__x2_control`, so moves a crash left unapplied are applied. What the store holds then is
   * the river's history (at or below the welcome's head seq), hence committed: seq 0.
   */
  async replayStored(): Promise<void> {
    const info = this.#store.stream(CONTROL_STREAM_ID);
    if (info === null) return;
    let offset = info.logStartOffset;
    while (offset < info.nextOffset) {
      const batches = await this.#store.read(CONTROL_STREAM_ID, offset, REPLAY_READ_BYTES_MAX);
      const before = offset;
      for (const batch of batches) {
        this.#noteBatch(0, batch);
        offset = Math.max(offset, readBatchNextOffset(batch));
      }
      if (offset === before) break; // nothing read or an unpatched base offset: stop rather than spin
    }
  }

  #noteBatch(seq: number, batch: Buffer): void {
    try {
      const decoded = decodeRecords(batch, CONTROL_BATCH_BYTES_MAX);
      if (!decoded.decoded) return;
      for (const record of decoded.records) {
        // Only log-start-moved records matter here; the others are cheap to skip by their kind byte.
        if (record.value === null || record.value[1] !== LOG_START_MOVED_KIND) continue;
        const control = decodeControlRecord(record.value);
        if (control.kind !== 'log-start-moved') continue;
        const previous = this.#pending.get(control.streamId);
        if (previous === undefined || previous.logStartOffset < control.logStartOffset) {
          this.#pending.set(control.streamId, { seq, logStartOffset: control.logStartOffset });
        }
      }
    } catch (error) {
      this.malformedRecords += 1;
      this.#log.limited('warn', 'control-record', `skipped a malformed control entry at seq ${seq}: `
        + String(error));
    }
  }

  /** After a truncation to `seq`: moves carried by entries above it never happened. */
  dropAfter(seq: number): void {
    for (const [streamId, move] of this.#pending) if (move.seq > seq) this.#pending.delete(streamId);
  }

  /** One round now (tests and shutdown use it through the timers; exposed for the store test). */
  run(isRetentionDue: boolean): Promise<void> {
    return this.#runExclusive(isRetentionDue);
  }

  #runExclusive(isRetentionDue: boolean): Promise<void> {
    if (this.#running !== null) return this.#running;
    this.#running = this.#round(isRetentionDue)
      .catch((error: unknown) => this.#log.limited('warn', 'retention', `retention round failed: ${String(error)}`))
      .finally(() => { this.#running = null; });
    return this.#running;
  }

  async #round(isRetentionDue: boolean): Promise<void> {
    const committedSeq = this.#committedSeq();
    for (const [streamId, move] of [...this.#pending]) {
      if (move.seq > committedSeq) continue;
      this.#pending.delete(streamId);
      try {
        await this.#store.setLogStartOffset(streamId, move.logStartOffset);
        this.logStartMovesApplied += 1;
      } catch (error) {
        if (!(error instanceof X2Error)) throw error;
        this.#log.warn(`log start of stream ${streamId} not moved to ${move.logStartOffset}: ${error.message}`);
      }
    }
    if (!isRetentionDue) return;
    const { segmentsDeleted } = await this.#store.applyRetention(Date.now());
    this.segmentsDeleted += segmentsDeleted;
  }
}
