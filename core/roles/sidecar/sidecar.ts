/**
 * The sidecar role: user logic next to the river (DESIGN §8). It joins the river as a subscriber
 * and applies committed entries in seq order: `__x2_control` (topics), `__x2_sidecars`
 * (checkpoints, checkpoint-records.ts) and its input streams. It runs each input record through
 * the Transform and appends the output batches and its new checkpoint through the sequencer as
 * ONE entry set, so outputs and checkpoint are sequenced atomically: exactly once.
 *
 * Start: replay the river to the welcomed head, append a claim and wait for it to come back, then
 * create missing output topics and wait for the input topics to exist. Every checkpoint sequenced
 * before the claim is the state; input records at or past the checkpoint (kept while replaying)
 * are processed from there. An instance
 * that loses its sequencer link stops (`done` resolves with a restart): the outcome of its
 * in-flight appends is unknown, and the next instance's claim settles it.
 *
 * Members: `members` sidecars with the same name split the input streams statically: input
 * stream i (in --from order, partitions ascending) belongs to member i % members.
 *
 * Bounds: input held before the claim and waiting to be processed at most inputBytesMax (past it
 * the instance stops with X2_ERR_SIDECAR); one record's outputs at most RECORD_OUTPUTS_BYTES_MAX
 * (more is that record's error); an append is cut past APPEND_BYTES_CUT of outputs; at most
 * APPENDS_INFLIGHT_MAX appends not yet committed.
 */
import { randomBytes } from 'node:crypto';
import { X2Error } from '../../base/errors.ts';
import type { Log } from '../../base/log.ts';
import { ControlState } from '../../control/control-state.ts';
import { encodeControlRecord } from '../../control/control-records.ts';
import { INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { decodeRecords } from '../../kafka/record-batch.ts';
import { partitionForKey } from '../../records/murmur2.ts';
import { RecordBatchWriter, type RecordHeader } from '../../records/record-batch-writer.ts';
import { AppendClient } from '../../river/append-client.ts';
import type { AppendEntry, RiverMode, StoredRiverEntry } from '../../river/messages.ts';
import { RiverMember } from '../../river/river-member.ts';
import {
  decodeSidecarRecord, encodeSidecarRecord, SIDECARS_STREAM_ID, type SidecarRecord,
} from './checkpoint-records.ts';
import type { SidecarMetrics } from './sidecar-metrics.ts';
import type { InputRecord, OutputRecord } from './sidecar-records.ts';
import type { Outcome, Transform } from './transform.ts';

/** Outputs in one append stay below the sequencer's 8 MiB: cut at 2 MiB, plus one record's 4 MiB. */
export const APPEND_BYTES_MAX = 7 * 1024 * 1024;
export const APPEND_BYTES_CUT = 2 * 1024 * 1024;
export const RECORD_OUTPUTS_BYTES_MAX = 4 * 1024 * 1024;
export const APPEND_BYTES_TARGET = 512 * 1024;
export const APPENDS_INFLIGHT_MAX = 16;
const CONTROL_STREAM_ID = INTERNAL_TOPICS[0].streamId;
const COMMITTED_POLL_MS = 2;
const DECODE_BYTES_MAX = 64 * 1024 * 1024;

export type OnError = { mode: 'stop' } | { mode: 'skip' } | { mode: 'dead-letter'; topic: string };

export type SidecarOptions = {
  name: string;
  sequencer: string;
  river: RiverMode;
  interfaceAddress: string | null;
  from: readonly string[];
  to: string;
  /** Partition count for a missing --to or dead-letter topic, created at start. */
  partitionsForCreate: number;
  member: number;
  members: number;
  onError: OnError;
  inputBytesMax: number;
  transform: Transform;
  metrics: SidecarMetrics;
  log: Log;
};

/** How an instance ended: a clean stop, a restart (link lost) or a fatal error (exit). */
export type SidecarEnd = { kind: 'stopped' } | { kind: 'restart'; reason: string } | { kind: 'fatal'; error: X2Error };

type Held = { entry: StoredRiverEntry; appliedAtMs: number };

function unavailable(message: string): X2Error {
  return new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE', message, { retriable: true });
}

function u8(value: string | null): Buffer | null {
  return value === null ? null : Buffer.from(value, 'utf8');
}

export class Sidecar {
  readonly options: SidecarOptions;
  readonly log: Log;
  readonly control = new ControlState();
  readonly member: RiverMember;
  readonly appender: AppendClient;
  readonly token = `${process.pid}-${randomBytes(8).toString('hex')}`;
  readonly done: Promise<SidecarEnd>;
  #end!: (end: SidecarEnd) => void;
  #ended = false;
  #stopping = false;
  #timer: NodeJS.Timeout;
  appliedSeq = 0;
  #committedSeq = 0;
  #headSeq = 0;
  readonly #pending: StoredRiverEntry[] = [];
  #pendingHead = 0;
  #pendingBytes = 0;
  // River-derived sidecar state (identical on every instance at the same seq).
  readonly #checkpoints = new Map<number, number>();
  readonly #claims = new Map<number, string>();
  readonly #headOffsets = new Map<number, number>();
  #live = false;
  // Input waiting: before the claim, per input stream; after it, owned streams in seq order.
  readonly #replayed = new Map<number, Held[]>();
  readonly #work: Held[] = [];
  #workHead = 0;
  #heldBytes = 0;
  // Processing state (this instance only).
  readonly #owned = new Set<number>();
  readonly #nextOffsets = new Map<number, number>();
  readonly #writers = new Map<number, RecordBatchWriter>();
  readonly #checkpointWriter = new RecordBatchWriter(1024 * 1024, 4096);
  #toStreamIds: readonly number[] = [];
  #deadStreamIds: readonly number[] = [];
  #roundRobin = 0;
  #pumping = false;

  constructor(options: SidecarOptions) {
    this.options = options;
    this.log = options.log;
    this.done = new Promise((resolve) => { this.#end = resolve; });
    this.appender = new AppendClient(options.sequencer, { inflightMax: APPENDS_INFLIGHT_MAX });
    this.member = new RiverMember({
      sequencer: options.sequencer, river: options.river, interfaceAddress: options.interfaceAddress, listen: null,
      loss: null, log: options.log,
    }, {
      hello: () => Promise.resolve({
        role: 'subscriber', memberId: `sidecar-${options.name}-${options.member}-${this.token}`,
      }),
      welcome: (welcome) => {
        // Uncommitted entries may have been cut by a new sequencer; survivors come again.
        this.#pending.length = 0;
        this.#pendingHead = 0;
        this.#pendingBytes = 0;
        this.#headSeq = Math.max(this.#headSeq, welcome.headSeq);
        this.#advanceCommitted(welcome.committedSeq);
        return Promise.resolve(this.appliedSeq);
      },
      deliver: (entry) => this.#deliver(entry),
    });
    this.#timer = setInterval(() => {
      this.#advanceCommitted(Math.max(this.member.committedSeq, this.appender.committedSeq));
    }, COMMITTED_POLL_MS);
  }

  /** Starts an instance; resolves once it has claimed and is processing (or has ended). */
  static async start(options: SidecarOptions, replayTimeoutMs = 600_000): Promise<Sidecar> {
    const sidecar = new Sidecar(options);
    sidecar.member.start();
    try {
      await sidecar.#waitReplayed(replayTimeoutMs);
      // The claim is also the sync point: once it is applied, everything sequenced before it is
      // too, so topics and checkpoints are current.
      await sidecar.#appendInternal(SIDECARS_STREAM_ID, [encodeSidecarRecord({
        kind: 'claim', name: options.name, member: options.member, members: options.members, token: sidecar.token,
      })]);
      await sidecar.#ensureTopics();
      await sidecar.#waitForInputs();
      await options.transform.init({
        name: options.name, from: options.from, to: options.to, toPartitions: sidecar.#toStreamIds.length,
        member: options.member, members: options.members, log: (message) => options.log.info(`module: ${message}`),
      });
      if (!sidecar.#ended) sidecar.#goLive();
    } catch (error) {
      sidecar.#finish(error instanceof X2Error && !error.retriable
        ? { kind: 'fatal', error } : { kind: 'restart', reason: String(error) });
    }
    return sidecar;
  }

  get live(): boolean { return this.#live; }
  get ownedStreams(): number[] { return [...this.#owned]; }

  /** Clean stop: no new appends; resolves `done` once those in flight are committed. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    void this.#drainThenFinish({ kind: 'stopped' });
  }

  /** Waits (at most 10 s) for the appends in flight to be committed, then ends. */
  async #drainThenFinish(end: SidecarEnd): Promise<void> {
    const deadlineMs = Date.now() + 10_000;
    while ((this.#pumping || this.appender.inflight > 0) && Date.now() < deadlineMs && !this.#ended) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.#finish(end);
  }

  #finish(end: SidecarEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.member.close();
    this.appender.close();
    this.#end(end);
  }

  async #waitReplayed(timeoutMs: number): Promise<void> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const welcome = this.member.welcome;
      if (welcome && this.member.live && this.appliedSeq >= welcome.headSeq && this.appender.connected) return;
      if (this.#ended) throw new Error('stopped while replaying');
      if (Date.now() > deadlineMs) {
        throw new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE', `river replay did not finish within ${timeoutMs} ms`,
          { retriable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Creates the --to and dead-letter topics when missing; records their partition streams. */
  async #ensureTopics(): Promise<void> {
    const names = [this.options.to];
    if (this.options.onError.mode === 'dead-letter') names.push(this.options.onError.topic);
    for (const name of names) {
      // A plan can go stale when another node creates a topic at the same time: plan again.
      for (let attempt = 0; attempt < 5 && !this.control.topic(name); attempt++) {
        const plan = this.control.planCreateTopic({
          topic: name, partitionCount: this.options.partitionsForCreate, replicationFactor: -1, configs: {},
        }, { commitCount: Math.max(1, this.member.welcome?.peers.length ?? 1) });
        if (!plan.ok) throw new X2Error('X2_ERR_USAGE', `cannot create topic "${name}": ${plan.errorMessage}`);
        await this.#appendInternal(CONTROL_STREAM_ID, [encodeControlRecord(plan.record)]);
        if (this.control.topic(name)) {
          this.log.info(`created topic "${name}" with ${this.options.partitionsForCreate} partition(s)`);
        }
      }
    }
    this.#toStreamIds = this.control.topic(this.options.to)?.streamIds ?? [];
    if (this.options.onError.mode === 'dead-letter') {
      this.#deadStreamIds = this.control.topic(this.options.onError.topic)?.streamIds ?? [];
    }
    if (this.#toStreamIds.length === 0) {
      throw new X2Error('X2_ERR_USAGE', `--to topic "${this.options.to}" does not exist`);
    }
  }

  /** Waits until every --from topic exists (a cluster may start its sidecars before its topics). */
  async #waitForInputs(): Promise<void> {
    let warnedAtMs = 0;
    for (;;) {
      const missing = this.options.from.filter((topic) => !this.control.topic(topic));
      if (missing.length === 0) return;
      if (this.#ended) throw new Error('stopped while waiting for the input topics');
      if (Date.now() - warnedAtMs >= 10_000) {
        warnedAtMs = Date.now();
        this.log.warn(`waiting for --from topic(s) ${missing.join(', ')} to be created (known: ${
          this.control.topicNames({ includeInternal: false }).join(', ') || 'none'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Appends internal records as one batch and resolves once that entry is applied here. */
  async #appendInternal(streamId: number, values: readonly Buffer[]): Promise<void> {
    const writer = new RecordBatchWriter(8 * 1024 * 1024, 1024);
    const nowMs = Date.now();
    for (const value of values) writer.add({ key: null, value, headers: [], timestampMs: nowMs });
    const batch = Buffer.from(writer.finish());
    const { firstSeq } = await this.appender.appendAsync([{ streamId, recordCount: values.length, batch }]);
    const deadlineMs = Date.now() + 60_000;
    while (this.appliedSeq < firstSeq) {
      if (this.#ended) throw new Error('stopped');
      if (Date.now() > deadlineMs) throw unavailable('an internal append was not applied within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  // ---- applying the river, in seq order, committed entries only ----

  #isInput(streamId: number): boolean {
    if (streamId < 1024) return false;
    const where = this.control.partitionOf(streamId);
    return where !== undefined && this.options.from.includes(where.topic);
  }

  #deliver(entry: StoredRiverEntry): void {
    const keep = entry.streamId === CONTROL_STREAM_ID || entry.streamId === SIDECARS_STREAM_ID
      || entry.streamId >= 1024;
    let batch = entry.batch;
    if (keep) {
      // The batch is a view of a frame buffer: copy it out, it may wait here.
      const copy = Buffer.allocUnsafe(entry.batch.length);
      copy.set(entry.batch);
      batch = copy;
      this.#pendingBytes += copy.length;
    } else {
      batch = Buffer.alloc(0);
    }
    this.#pending.push({ ...entry, batch });
    this.#applyCommitted();
  }

  #advanceCommitted(committedSeq: number): void {
    if (committedSeq <= this.#committedSeq) return;
    this.#committedSeq = committedSeq;
    this.#applyCommitted();
  }

  #applyCommitted(): void {
    if (this.#ended) return;
    const limitSeq = Math.max(this.#committedSeq, this.#headSeq);
    let applied = false;
    while (this.#pendingHead < this.#pending.length) {
      const entry = this.#pending[this.#pendingHead]!;
      if (entry.seq > limitSeq) break;
      this.#pending[this.#pendingHead] = undefined as unknown as StoredRiverEntry;
      this.#pendingHead += 1;
      this.#pendingBytes -= entry.batch.length;
      this.#apply(entry);
      applied = true;
    }
    if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#pendingHead);
      this.#pendingHead = 0;
    }
    if (applied) {
      this.options.metrics.appliedSeq = this.appliedSeq;
      this.#updateLag();
      if (this.#live) this.#kick();
    }
  }

  #apply(entry: StoredRiverEntry): void {
    this.appliedSeq = entry.seq;
    const batch = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
    if (entry.streamId === CONTROL_STREAM_ID) {
      for (const value of this.#values(entry, batch)) {
        try {
          this.control.applyBytes(value);
        } catch (error) {
          this.log.limited('warn', 'control',
            `skipped a malformed control record at seq ${entry.seq}: ${String(error)}`);
        }
      }
    } else if (entry.streamId === SIDECARS_STREAM_ID) {
      for (const value of this.#values(entry, batch)) {
        let record: SidecarRecord;
        try {
          record = decodeSidecarRecord(value);
        } catch (error) {
          this.log.limited('warn', 'sidecars',
            `skipped a malformed sidecar record at seq ${entry.seq}: ${String(error)}`);
          continue;
        }
        if (record.name === this.options.name) this.#applySidecarRecord(record, entry.seq);
      }
    } else if (this.#isInput(entry.streamId)) {
      this.#headOffsets.set(entry.streamId, entry.baseOffset + entry.recordCount);
      const held: Held = { entry: { ...entry, batch }, appliedAtMs: Date.now() };
      if (!this.#live) {
        let list = this.#replayed.get(entry.streamId);
        if (!list) this.#replayed.set(entry.streamId, list = []);
        list.push(held);
        this.#hold(batch.length);
      } else if (this.#owned.has(entry.streamId)) {
        this.#work.push(held);
        this.#hold(batch.length);
      }
    }
  }

  #values(entry: StoredRiverEntry, batch: Buffer): Buffer[] {
    try {
      const decoded = decodeRecords(batch, DECODE_BYTES_MAX);
      if (!decoded.decoded) return [];
      const values: Buffer[] = [];
      for (const record of decoded.records) if (record.value !== null) values.push(record.value);
      return values;
    } catch (error) {
      this.log.limited('warn', `internal-${entry.streamId}`,
        `skipped a malformed batch at seq ${entry.seq}: ${String(error)}`);
      return [];
    }
  }

  #hold(bytes: number): void {
    this.#heldBytes += bytes;
    if (this.#heldBytes > this.options.inputBytesMax) {
      this.#finish({ kind: 'fatal', error: new X2Error('X2_ERR_SIDECAR',
        `input waiting to be processed passed --input-bytes-max (${this.options.inputBytesMax} bytes): ` +
        'the user logic is slower than the input; raise the bound or add members') });
    }
  }

  #applySidecarRecord(record: SidecarRecord, seq: number): void {
    if (record.kind === 'claim') {
      this.#claims.set(record.member, record.token);
      return;
    }
    if (this.#claims.get(record.member) !== record.token) {
      this.options.metrics.staleAppends += 1;
      this.log.error(`checkpoint at seq ${seq} from an older instance of "${record.name}" member ${record.member} ` +
        'was sequenced after a newer claim: its outputs may be duplicated');
    }
    for (const [streamId, nextOffset] of record.positions) {
      this.#checkpoints.set(streamId, nextOffset);
      if (!this.#live) this.#trimReplayed(streamId, nextOffset);
    }
  }

  #trimReplayed(streamId: number, nextOffset: number): void {
    const list = this.#replayed.get(streamId);
    if (!list) return;
    let drop = 0;
    while (drop < list.length && list[drop]!.entry.baseOffset + list[drop]!.entry.recordCount <= nextOffset) {
      this.#heldBytes -= list[drop]!.entry.batch.length;
      drop += 1;
    }
    if (drop > 0) list.splice(0, drop);
  }

  #goLive(): void {
    const inputs: number[] = [];
    for (const topic of this.options.from) inputs.push(...(this.control.topic(topic)?.streamIds ?? []));
    inputs.forEach((streamId, index) => {
      if (index % this.options.members === this.options.member) this.#owned.add(streamId);
    });
    const held: Held[] = [];
    for (const [streamId, list] of this.#replayed) {
      if (this.#owned.has(streamId)) held.push(...list);
      else for (const one of list) this.#heldBytes -= one.entry.batch.length;
    }
    this.#replayed.clear();
    held.sort((a, b) => a.entry.seq - b.entry.seq);
    this.#work.push(...held);
    for (const streamId of this.#owned) this.#nextOffsets.set(streamId, this.#checkpoints.get(streamId) ?? 0);
    this.#live = true;
    this.log.info(`claimed "${this.options.name}" member ${this.options.member}/${this.options.members} at seq ` +
      `${this.appliedSeq}: ${this.#owned.size} input stream(s), resuming at ${this.#describePositions()}`);
    this.#updateLag();
    this.#kick();
  }

  #describePositions(): string {
    const parts: string[] = [];
    for (const [streamId, next] of this.#nextOffsets) {
      const where = this.control.partitionOf(streamId);
      parts.push(`${where?.topic ?? streamId}[${where?.partition ?? '?'}]@${next}`);
    }
    return parts.join(' ') || 'nothing';
  }

  #updateLag(): void {
    let lag = 0;
    for (const streamId of this.#owned) {
      lag += Math.max(0, (this.#headOffsets.get(streamId) ?? 0) - (this.#nextOffsets.get(streamId) ?? 0));
    }
    this.options.metrics.lagRecords = lag;
  }

  // ---- processing: input records -> outputs + checkpoint, one atomic append ----

  #kick(): void {
    if (this.#pumping || this.#ended || this.#stopping) return;
    this.#pumping = true;
    this.#pump().then(() => { this.#pumping = false; }, (error: unknown) => {
      this.#pumping = false;
      if (error instanceof X2Error && !error.retriable) {
        // --on-error stop and bad input: the appends before the failure still count.
        this.#stopping = true;
        void this.#drainThenFinish({ kind: 'fatal', error });
      } else {
        this.#finish({ kind: 'restart', reason: String(error) });
      }
    });
  }

  async #pump(): Promise<void> {
    while (this.#workHead < this.#work.length && !this.#ended && !this.#stopping) {
      if (this.appender.inflight >= this.appender.inflightMax || !this.appender.connected) {
        // Resolves when a commit makes room (never at once here: that would spin on microtasks).
        await this.appender.whenWritable();
        if (this.#ended) return;
        if (!this.appender.connected) throw unavailable('lost the sequencer link');
        continue;
      }
      await this.#buildAndAppend();
    }
    if (this.#workHead > 1024 && this.#workHead * 2 > this.#work.length) {
      this.#work.splice(0, this.#workHead);
      this.#workHead = 0;
    }
  }

  #writerFor(streamId: number): RecordBatchWriter {
    let writer = this.#writers.get(streamId);
    if (!writer) this.#writers.set(streamId, writer = new RecordBatchWriter(APPEND_BYTES_MAX));
    return writer;
  }

  #partitionOf(record: OutputRecord, streamIds: readonly number[]): number {
    if (record.partition >= 0) {
      if (record.partition >= streamIds.length) {
        throw new TypeError(`output partition ${record.partition} does not exist (the topic has ${streamIds.length})`);
      }
      return streamIds[record.partition]!;
    }
    if (record.key !== null) return streamIds[partitionForKey(record.key, streamIds.length)]!;
    return streamIds[this.#roundRobin % streamIds.length]!;
  }

  /** Takes input from the work queue, runs it, and sends one append. */
  async #buildAndAppend(): Promise<void> {
    const touched = new Set<number>();
    const positions = new Map<number, number>();
    let outputBytes = 0;
    let outputCount = 0;
    let firstAppliedAtMs = 0;
    let stopError: X2Error | null = null;
    const addOutput = (record: OutputRecord, streamIds: readonly number[], target?: number): void => {
      const streamId = target ?? this.#partitionOf(record, streamIds);
      const writer = this.#writerFor(streamId);
      if (!touched.has(streamId)) {
        writer.reset();
        touched.add(streamId);
      }
      const before = writer.sizeBytes;
      const added = writer.add({
        key: record.key, value: record.value, headers: record.headers, timestampMs: record.timestampMs,
      });
      if (!added) {
        throw new TypeError('an output record does not fit one append');
      }
      outputBytes += writer.sizeBytes - before;
      outputCount += 1;
    };
    while (this.#workHead < this.#work.length && outputBytes < APPEND_BYTES_TARGET && stopError === null) {
      const held = this.#work[this.#workHead]!;
      const { entry } = held;
      const next = this.#nextOffsets.get(entry.streamId) ?? 0;
      const where = this.control.partitionOf(entry.streamId);
      const records = where && entry.baseOffset + entry.recordCount > next ? this.#decodeInput(entry, where, next) : [];
      this.#workHead += 1;
      this.#heldBytes -= entry.batch.length;
      if (records.length === 0) continue;
      if (firstAppliedAtMs === 0) firstAppliedAtMs = held.appliedAtMs;
      const outcomes = await this.options.transform.apply(records);
      if (this.#ended) return;
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        const outcome: Outcome = outcomes[i] ?? { outputs: null, error: 'no outcome' };
        let failure = outcome.error;
        if (outcome.outputs) {
          // Check every output of the record first, so a failed record leaves no partial output.
          let targets: number[] | null = null;
          try {
            targets = outcome.outputs.map((output) => this.#partitionOf(output, this.#toStreamIds));
            const bytes = outcome.outputs.reduce((sum, output) => sum + RecordBatchWriter.recordBytes({
              key: output.key, value: output.value, headers: output.headers, timestampMs: 0 }, 0, 0), 0);
            if (bytes > RECORD_OUTPUTS_BYTES_MAX) {
              throw new TypeError(`the outputs of one record take ${bytes} bytes, at most ${RECORD_OUTPUTS_BYTES_MAX}`);
            }
          } catch (error) {
            targets = null;
            failure = `output: ${(error as Error).message}`;
          }
          if (targets) outcome.outputs.forEach((output, k) => addOutput(output, this.#toStreamIds, targets[k]));
        }
        this.options.metrics.recordsIn += 1;
        this.options.metrics.bytesIn += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        if (failure !== null) {
          this.options.metrics.errors += 1;
          const at = `${record.topic}[${record.partition}]@${record.offset}`;
          const shown = record.value === null ? 'null' : JSON.stringify(record.value.subarray(0, 200).toString('utf8'));
          const key = record.key === null ? 'null' : JSON.stringify(record.key.toString('utf8'));
          this.log.error(`user logic failed on ${at} (key ${key}, ` +
            `value ${shown}): ${failure}; --on-error ${this.options.onError.mode}`);
          if (this.options.onError.mode === 'stop') {
            stopError = new X2Error('X2_ERR_SIDECAR', `user logic failed on ${at}: ${failure} (--on-error stop; ` +
              `the checkpoint stays at offset ${record.offset}, a restart retries this record)`);
            break;
          }
          if (this.options.onError.mode === 'dead-letter') {
            const headers: RecordHeader[] = Object.entries(record.headers).map(([key, value]) => ({ key, value }));
            headers.push({ key: 'x2-error', value: u8(failure) }, { key: 'x2-topic', value: u8(record.topic) },
              { key: 'x2-partition', value: u8(String(record.partition)) },
              { key: 'x2-offset', value: u8(String(record.offset)) });
            try {
              addOutput({ key: record.key, value: record.value, headers, partition: -1, timestampMs: record.timestamp },
                this.#deadStreamIds);
            } catch (error) {
              throw new X2Error('X2_ERR_SIDECAR', `cannot dead-letter ${at}: ${(error as Error).message}`);
            }
            this.options.metrics.deadLettered += 1;
          }
        }
        positions.set(entry.streamId, record.offset + 1);
        this.#nextOffsets.set(entry.streamId, record.offset + 1);
        if (outputBytes >= APPEND_BYTES_CUT && i < records.length - 1) {
          // The rest of this entry goes into the next append.
          this.#workHead -= 1;
          this.#heldBytes += entry.batch.length;
          break;
        }
      }
    }
    try {
      for (const output of await this.options.transform.flush()) addOutput(output, this.#toStreamIds);
    } catch (error) {
      throw new X2Error('X2_ERR_SIDECAR', `flush() failed: ${String(error)}`);
    }
    if (positions.size > 0 || touched.size > 0) await this.#send(touched, positions, outputCount, firstAppliedAtMs);
    this.#roundRobin += 1;
    if (stopError) throw stopError;
  }

  #decodeInput(entry: StoredRiverEntry, where: { topic: string; partition: number }, next: number): InputRecord[] {
    const batch = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
    let decoded;
    try {
      decoded = decodeRecords(batch, DECODE_BYTES_MAX);
    } catch (error) {
      throw new X2Error('X2_ERR_SIDECAR',
        `input ${where.topic}[${where.partition}] batch at offset ${entry.baseOffset} is malformed: ${String(error)}`);
    }
    if (!decoded.decoded) {
      throw new X2Error('X2_ERR_SIDECAR',
        `input ${where.topic}[${where.partition}] batch at offset ${entry.baseOffset}: ${decoded.reason}`);
    }
    const records: InputRecord[] = [];
    for (const record of decoded.records) {
      // decodeRecords makes offsets absolute from the batch's baseOffset field, patched by the sequencer.
      if (record.offset < next) continue;
      const headers: Record<string, Buffer | null> = {};
      for (const header of record.headers) headers[header.key] = header.value;
      records.push({
        topic: where.topic, partition: where.partition, offset: record.offset, timestamp: record.timestamp,
        key: record.key, value: record.value, headers,
      });
    }
    return records;
  }

  async #send(touched: Set<number>, positions: Map<number, number>, outputCount: number,
    firstAppliedAtMs: number): Promise<void> {
    const entries: AppendEntry[] = [];
    let outputBatchBytes = 0;
    for (const streamId of touched) {
      const writer = this.#writers.get(streamId)!;
      const batch = writer.finish();
      outputBatchBytes += batch.length;
      entries.push({ streamId, recordCount: writer.recordCount, batch });
    }
    const checkpoint = this.#checkpointWriter;
    checkpoint.reset();
    checkpoint.add({
      key: null, headers: [], timestampMs: Date.now(), value: encodeSidecarRecord({
        kind: 'checkpoint', name: this.options.name, member: this.options.member, token: this.token,
        positions: [...positions],
      }),
    });
    entries.push({ streamId: SIDECARS_STREAM_ID, recordCount: 1, batch: checkpoint.finish() });
    const metrics = this.options.metrics;
    for (;;) {
      const accepted = this.appender.append(entries, {
        onAppended: () => undefined,
        onCommitted: () => {
          metrics.appends += 1;
          metrics.recordsOut += outputCount;
          metrics.bytesOut += outputBatchBytes;
          if (firstAppliedAtMs > 0) metrics.latency?.observe((Date.now() - firstAppliedAtMs) / 1000);
        },
        onError: (error) => this.#finish(error.retriable || error.code === 'X2_ERR_SEQUENCER_UNAVAILABLE'
          ? { kind: 'restart', reason: error.message } : { kind: 'fatal', error }),
      });
      if (accepted) break;
      if (!this.appender.connected) throw unavailable('lost the sequencer link');
      await this.appender.whenWritable();
      if (this.#ended) return;
    }
    this.#updateLag();
  }
}
