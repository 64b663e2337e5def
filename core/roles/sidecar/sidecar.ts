/**
 * The sidecar role: user logic next to the river (DESIGN §8). It joins the river as a subscriber
 * and applies committed entries in seq order: `__x2_control` (topics), `__x2_sidecars` (group
 * membership), its fence streams `__x2_sidecar.NAME.INPUTSTREAMID` (claims and checkpoints,
 * checkpoint-records.ts) and its input streams. It runs each input record through the Transform
 * and appends the output batches and the new checkpoints through the sequencer as ONE entry set,
 * so outputs and checkpoints are sequenced atomically: exactly once.
 *
 * Group: every sidecar process with one --name is a member (a member id per process). Members
 * join, heartbeat every session timeout / 3, leave on a clean stop, and expel a member silent for
 * its session timeout; each computes the same round-robin assignment of the input streams from
 * the same member set (group-membership.ts). Handover and the fence: a member assigned a stream
 * appends a claim to its fence stream, conditional on the fence's end as the member has read it;
 * when the claim comes back, everything the fence held before it (the last checkpoint) is the
 * state, and processing starts there. Every output append is conditional on each touched fence
 * stream being at the offset the owner expects, so after another member's claim an older owner's
 * appends are refused by the sequencer (X2_ERR_APPEND_CONDITION) and nothing of them is written:
 * the refused owner waits for its appends in flight, re-reads, and resumes only the streams it
 * still owns from their checkpoints. A refused claim (the old owner's last appends came in
 * between) is retried once those are read.
 *
 * Start: replay the river to the welcomed head, append a heartbeat as a sync point and wait for
 * it (everything sequenced before it is applied), create missing output and fence topics, wait
 * for the inputs, then join. An instance that loses its sequencer link stops (`done` resolves
 * with a restart): the outcome of its in-flight appends is unknown, the next instance (same
 * member id) claims again and its claims settle it.
 *
 * Bounds: input held uncovered by checkpoints (every member holds every input stream's, see
 * input-stream.ts) at most inputBytesMax (past it the instance stops with X2_ERR_SIDECAR); one
 * record's outputs at most RECORD_OUTPUTS_BYTES_MAX (more is that record's error); an append is
 * cut past APPEND_BYTES_CUT of outputs; at most APPENDS_INFLIGHT_MAX output appends not yet
 * committed, and GROUP_APPENDS_INFLIGHT_MAX membership records and claims (on a second link).
 */
import { X2Error } from '../../base/errors.ts';
import type { Log } from '../../base/log.ts';
import { REPLAY_STALL_MS, waitWhileProgressing } from '../../base/wait-progress.ts';
import { ControlState } from '../../control/control-state.ts';
import { encodeControlRecord } from '../../control/control-records.ts';
import { INTERNAL_TOPICS, parseSidecarTopicName, sidecarTopicName } from '../../control/topic-name.ts';
import { decodeRecords } from '../../kafka/record-batch.ts';
import { partitionForKey } from '../../records/murmur2.ts';
import { RecordBatchWriter, type RecordHeader } from '../../records/record-batch-writer.ts';
import { AppendClient, AppendConditionError } from '../../river/append-client.ts';
import type { AppendCondition, AppendEntry, RiverMode, StoredRiverEntry } from '../../river/messages.ts';
import { RiverMember } from '../../river/river-member.ts';
import {
  decodeSidecarRecord, encodeSidecarRecord, SIDECARS_STREAM_ID, type MembershipRecord, type SidecarRecord,
} from './checkpoint-records.ts';
import { GroupMembership } from './group-membership.ts';
import { InputStream } from './input-stream.ts';
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
/** How often a live member checks its assignment (claims to retry) and the others' silence. */
const GROUP_TICK_MS = 100;
const GROUP_APPENDS_INFLIGHT_MAX = 64;
const DECODE_BYTES_MAX = 64 * 1024 * 1024;

export type OnError = { mode: 'stop' } | { mode: 'skip' } | { mode: 'dead-letter'; topic: string };

export type SidecarOptions = {
  name: string;
  /** This process's id in the group (the same across instance restarts). */
  memberId: string;
  sessionTimeoutMs: number;
  sequencer: string;
  river: RiverMode;
  interfaceAddress: string | null;
  from: readonly string[];
  to: string;
  /** Partition count for a missing --to or dead-letter topic, created at start. */
  partitionsForCreate: number;
  onError: OnError;
  inputBytesMax: number;
  transform: Transform;
  metrics: SidecarMetrics;
  log: Log;
};

/** How an instance ended: a clean stop, a restart (link lost) or a fatal error (exit). */
export type SidecarEnd = { kind: 'stopped' } | { kind: 'restart'; reason: string } | { kind: 'fatal'; error: X2Error };

function unavailable(message: string): X2Error {
  return new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE', message, { retriable: true });
}

function u8(value: string | null): Buffer | null {
  return value === null ? null : Buffer.from(value, 'utf8');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One record of an internal stream, as an uncompressed RecordBatch. */
function internalBatch(writer: RecordBatchWriter, value: Buffer): Buffer {
  writer.reset();
  writer.add({ key: null, value, headers: [], timestampMs: Date.now() });
  return writer.finish();
}

export class Sidecar {
  readonly options: SidecarOptions;
  readonly log: Log;
  readonly control = new ControlState();
  readonly member: RiverMember;
  readonly appender: AppendClient;
  /** Membership records and claims on a link of their own, so a full output window never delays a heartbeat. */
  readonly groupAppender: AppendClient;
  readonly group = new GroupMembership();
  readonly done: Promise<SidecarEnd>;
  #end!: (end: SidecarEnd) => void;
  #ended = false;
  #stopping = false;
  #timer: NodeJS.Timeout;
  #groupTimer: NodeJS.Timeout | null = null;
  appliedSeq = 0;
  #committedSeq = 0;
  #headSeq = 0;
  readonly #pending: StoredRiverEntry[] = [];
  #pendingHead = 0;
  #live = false;
  // River-derived state: every input stream (held input, checkpoint, fence) by input streamId.
  readonly #inputs = new Map<number, InputStream>();
  /** Fence streamId -> its input stream; null for a stream that is no fence of this sidecar. */
  readonly #fences = new Map<number, InputStream | null>();
  #heldBytes = 0;
  // Processing state (this instance only).
  #inputOrder: InputStream[] = [];
  #lastSequencedSeq = 0;
  #resyncing = false;
  #heartbeatAtMs = 0;
  readonly #expelledAtMs = new Map<string, number>();
  readonly #writers = new Map<number, RecordBatchWriter>();
  readonly #fenceWriters = new Map<number, RecordBatchWriter>();
  #toStreamIds: readonly number[] = [];
  #deadStreamIds: readonly number[] = [];
  #roundRobin = 0;
  #pumping = false;

  constructor(options: SidecarOptions) {
    this.options = options;
    this.log = options.log;
    this.done = new Promise((resolve) => { this.#end = resolve; });
    this.appender = new AppendClient(options.sequencer, { inflightMax: APPENDS_INFLIGHT_MAX });
    // The main appender hears every committed advance; this one needs only its own.
    this.groupAppender = new AppendClient(options.sequencer, { inflightMax: GROUP_APPENDS_INFLIGHT_MAX,
      committedNotices: 'own' });
    this.member = new RiverMember({
      sequencer: options.sequencer, river: options.river, interfaceAddress: options.interfaceAddress, listen: null,
      loss: null, log: options.log,
    }, {
      hello: () => Promise.resolve({ role: 'subscriber', memberId: `sidecar-${options.name}-${options.memberId}` }),
      welcome: (welcome) => {
        // Uncommitted entries may have been cut by a new sequencer; survivors come again.
        this.#pending.length = 0;
        this.#pendingHead = 0;
        this.#headSeq = Math.max(this.#headSeq, welcome.headSeq);
        this.#advanceCommitted(welcome.committedSeq);
        return Promise.resolve(this.appliedSeq);
      },
      deliver: (entry) => this.#deliver(entry),
    });
    this.#timer = setInterval(() => {
      this.#advanceCommitted(Math.max(this.member.committedSeq, this.appender.committedSeq,
        this.groupAppender.committedSeq));
    }, COMMITTED_POLL_MS);
  }

  /** Starts an instance; resolves once it has joined its group (or has ended). */
  static async start(options: SidecarOptions, replayStallMs = REPLAY_STALL_MS): Promise<Sidecar> {
    const sidecar = new Sidecar(options);
    sidecar.member.start();
    try {
      await sidecar.#waitReplayed(replayStallMs);
      // A sync point: once this heartbeat is applied, everything sequenced before it is too, so
      // topics, members and checkpoints are current. (A heartbeat of a non-member changes nothing.)
      await sidecar.#appendInternal(SIDECARS_STREAM_ID,
        encodeSidecarRecord({ kind: 'heartbeat', name: options.name, memberId: options.memberId }));
      await sidecar.#ensureTopics();
      await sidecar.#waitForInputs();
      await sidecar.#ensureFences();
      await options.transform.init({
        name: options.name, from: options.from, to: options.to, toPartitions: sidecar.#toStreamIds.length,
        memberId: options.memberId, log: (message) => options.log.info(`module: ${message}`),
      });
      if (!sidecar.#ended) sidecar.#goLive();
    } catch (error) {
      sidecar.#finish(error instanceof X2Error && !error.retriable
        ? { kind: 'fatal', error } : { kind: 'restart', reason: String(error) });
    }
    return sidecar;
  }

  get live(): boolean { return this.#live; }

  /** Input streams this instance processes now (its claims came back and still stand). */
  get ownedStreams(): number[] {
    return this.#inputOrder.filter((input) => input.ownership === 'owned').map((input) => input.streamId);
  }

  /**
   * Clean stop: no new appends; once those in flight are committed, a leave record hands this
   * member's streams to the others at once; then `done` resolves.
   */
  stop(): void {
    this.#leave({ kind: 'stopped' });
  }

  /** Stops appending, waits for the appends in flight, appends a leave record, then ends with `end`. */
  #leave(end: SidecarEnd): void {
    if (!this.#live) return this.#finish(end);
    if (this.#stopping) return;
    this.#stopping = true;
    void this.#drain().then(async () => {
      if (this.#live && !this.#ended && this.groupAppender.connected) {
        try {
          const { name, memberId } = this.options;
          const leave = encodeSidecarRecord({ kind: 'leave', name, memberId });
          await this.groupAppender.appendAsync([{ streamId: SIDECARS_STREAM_ID, recordCount: 1,
            batch: internalBatch(new RecordBatchWriter(4096, 16), leave) }]);
        } catch (error) {
          this.log.warn(`could not append the leave record (the others take over after the session timeout): ${
            String(error)}`);
        }
      }
      this.#finish(end);
    });
  }

  /** Waits (at most 10 s) for the build under way and the appends in flight to be settled. */
  async #drain(): Promise<void> {
    const deadlineMs = Date.now() + 10_000;
    while ((this.#pumping || this.appender.inflight > 0) && Date.now() < deadlineMs && !this.#ended) await delay(10);
  }

  #finish(end: SidecarEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    if (this.#groupTimer) clearInterval(this.#groupTimer);
    this.member.close();
    this.appender.close();
    this.groupAppender.close();
    this.#end(end);
  }

  /** Until the river is applied up to the welcomed head: no deadline while it advances. */
  async #waitReplayed(stallMs: number): Promise<void> {
    await waitWhileProgressing({
      what: 'river replay', stallMs, progress: () => this.appliedSeq,
      isDone: () => {
        const welcome = this.member.welcome;
        return welcome !== null && this.member.live && this.appliedSeq >= welcome.headSeq && this.appender.connected
          && this.groupAppender.connected;
      },
      abortReason: () => (this.#ended ? 'stopped while replaying' : null),
      report: (appliedSeq) => this.options.log.info(
        `replaying the river: applied seq ${appliedSeq} of ${this.member.welcome?.headSeq ?? '?'}`),
    });
  }

  /** Creates the --to and dead-letter topics when missing; records their partition streams. */
  async #ensureTopics(): Promise<void> {
    const names = [this.options.to];
    if (this.options.onError.mode === 'dead-letter') names.push(this.options.onError.topic);
    for (const name of names) {
      await this.#createTopic(name, () => this.control.planCreateTopic({
        topic: name, partitionCount: this.options.partitionsForCreate, replicationFactor: -1, configs: {},
      }, { commitCount: Math.max(1, this.member.welcome?.peers.length ?? 1) }));
      if (this.control.topic(name)) continue;
      throw new X2Error('X2_ERR_USAGE', `topic "${name}" could not be created (other nodes kept creating topics)`);
    }
    this.#toStreamIds = this.control.topic(this.options.to)?.streamIds ?? [];
    if (this.options.onError.mode === 'dead-letter') {
      this.#deadStreamIds = this.control.topic(this.options.onError.topic)?.streamIds ?? [];
    }
  }

  /** Plans and appends a topic creation until the topic exists (a plan goes stale when another node creates one). */
  async #createTopic(name: string, plan: () => ReturnType<ControlState['planCreateTopic']>): Promise<void> {
    for (let attempt = 0; attempt < 10 && !this.control.topic(name); attempt++) {
      const planned = plan();
      if (!planned.ok) throw new X2Error('X2_ERR_USAGE', `cannot create topic "${name}": ${planned.errorMessage}`);
      await this.#appendInternal(CONTROL_STREAM_ID, encodeControlRecord(planned.record));
      if (this.control.topic(name) && !name.startsWith('__')) {
        this.log.info(`created topic "${name}" with ${this.options.partitionsForCreate} partition(s)`);
      }
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
      await delay(50);
    }
  }

  /** Creates the fence topic of every input stream when missing; fixes the input order. */
  async #ensureFences(): Promise<void> {
    const order: InputStream[] = [];
    for (const topic of this.options.from) {
      for (const streamId of this.control.topic(topic)?.streamIds ?? []) {
        const fenceTopic = sidecarTopicName(this.options.name, streamId);
        await this.#createTopic(fenceTopic, () => this.control.planCreateSidecarTopic(fenceTopic));
        const fenceStreamId = this.control.topic(fenceTopic)?.streamIds[0];
        if (fenceStreamId === undefined) throw unavailable(`fence topic "${fenceTopic}" could not be created`);
        const input = this.#inputOf(streamId);
        if (!input) throw unavailable(`input stream ${streamId} of "${topic}" is unknown`);
        input.fenceStreamId = fenceStreamId;
        this.#fences.set(fenceStreamId, input);
        order.push(input);
      }
    }
    this.#inputOrder = order;
  }

  /** Appends one internal record and resolves once that entry is applied here. */
  async #appendInternal(streamId: number, value: Buffer): Promise<void> {
    const batch = internalBatch(new RecordBatchWriter(1024 * 1024, 16), value);
    const { firstSeq } = await this.appender.appendAsync([{ streamId, recordCount: 1, batch }]);
    const deadlineMs = Date.now() + 60_000;
    while (this.appliedSeq < firstSeq) {
      if (this.#ended) throw new Error('stopped');
      if (Date.now() > deadlineMs) throw unavailable('an internal append was not applied within 60 s');
      await delay(2);
    }
  }

  // ---- applying the river, in seq order, committed entries only ----

  /** The input stream `streamId` is, when it belongs to a --from topic. */
  #inputOf(streamId: number): InputStream | undefined {
    let input = this.#inputs.get(streamId);
    if (input || streamId < 1024) return input;
    const where = this.control.partitionOf(streamId);
    if (!where || !this.options.from.includes(where.topic)) return undefined;
    this.#inputs.set(streamId, input = new InputStream(streamId, where));
    return input;
  }

  /** The input stream whose fence `streamId` is, for this sidecar's name. */
  #fenceOf(streamId: number): InputStream | null {
    const known = this.#fences.get(streamId);
    if (known !== undefined) return known;
    const where = this.control.partitionOf(streamId);
    if (!where) return null;
    const parsed = parseSidecarTopicName(where.topic);
    const input = parsed && parsed.sidecarName === this.options.name ? this.#inputOf(parsed.inputStreamId) : undefined;
    if (input) input.fenceStreamId = streamId;
    this.#fences.set(streamId, input ?? null);
    return input ?? null;
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
      this.#apply(entry);
      if (this.#ended) return;
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
      return;
    }
    if (entry.streamId === SIDECARS_STREAM_ID) {
      for (const record of this.#sidecarRecords(entry, batch)) {
        if (record.kind === 'claim' || record.kind === 'checkpoint') continue;
        this.#applyMembership(record);
      }
      return;
    }
    if (entry.streamId < 1024) return;
    const input = this.#inputOf(entry.streamId);
    if (input) {
      input.hold({ entry: { ...entry, batch }, appliedAtMs: Date.now() });
      this.#heldBytes += batch.length;
      if (this.#heldBytes > this.options.inputBytesMax) {
        this.#leave({ kind: 'fatal', error: new X2Error('X2_ERR_SIDECAR',
          `input not yet covered by a checkpoint passed --input-bytes-max (${this.options.inputBytesMax} bytes): ` +
          'the user logic is slower than the input; raise the bound or add members') });
      }
      return;
    }
    const fenced = this.#fenceOf(entry.streamId);
    if (fenced) {
      fenced.fenceNext = entry.baseOffset + entry.recordCount;
      for (const record of this.#sidecarRecords(entry, batch)) {
        if (record.kind === 'claim') this.#applyClaim(fenced, record.memberId);
        else if (record.kind === 'checkpoint') this.#heldBytes -= fenced.covered(record.nextOffset);
      }
    }
  }

  #sidecarRecords(entry: StoredRiverEntry, batch: Buffer): SidecarRecord[] {
    const records: SidecarRecord[] = [];
    for (const value of this.#values(entry, batch)) {
      try {
        const record = decodeSidecarRecord(value);
        if (record.name === this.options.name) records.push(record);
      } catch (error) {
        this.log.limited('warn', 'sidecars',
          `skipped a malformed sidecar record at seq ${entry.seq}: ${String(error)}`);
      }
    }
    return records;
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

  #applyMembership(record: MembershipRecord): void {
    const self = this.options.memberId;
    if (!this.group.apply(record, Date.now())) return;
    this.options.metrics.members = this.group.memberIds.length;
    if (record.kind === 'expel' && record.memberId === self) {
      this.log.warn(`expelled from "${this.options.name}" by ${record.byMemberId} (silent past the session ` +
        'timeout): dropping every input stream and joining again');
      this.#heartbeatAtMs = 0;
    }
    if (this.#live) {
      this.log.info(`group "${this.options.name}" is now ${this.group.memberIds.length} member(s) after ` +
        `${record.kind} of ${record.memberId === self ? 'this member' : record.memberId}`);
      this.#reconcile();
    }
  }

  #applyClaim(input: InputStream, memberId: string): void {
    input.claimedBy = memberId;
    if (memberId !== this.options.memberId) {
      if (input.ownership !== 'idle') {
        this.log.info(`${input.label} was claimed by ${memberId}: dropping it`);
        input.ownership = 'idle';
        this.#updateOwned();
      }
      return;
    }
    if (input.ownership !== 'claiming') return;
    input.ownership = 'owned';
    input.resume();
    this.options.metrics.claims += 1;
    this.log.info(`claimed ${input.label} at checkpoint ${input.checkpoint} (seq ${this.appliedSeq})`);
    this.#updateOwned();
  }

  #updateOwned(): void {
    this.options.metrics.ownedStreams = this.ownedStreams.length;
  }

  #updateLag(): void {
    let lag = 0;
    for (const input of this.#inputOrder) if (input.ownership === 'owned') lag += input.lag;
    this.options.metrics.lagRecords = lag;
  }

  // ---- the group: join, heartbeats, expels, claims ----

  #goLive(): void {
    this.#live = true;
    this.log.info(`"${this.options.name}" member ${this.options.memberId} joining at seq ${this.appliedSeq}: ` +
      `${this.#inputOrder.length} input stream(s), ${this.group.memberIds.length} member(s) so far`);
    this.#groupTick();
    this.#groupTimer = setInterval(() => this.#groupTick(), GROUP_TICK_MS);
  }

  /** Heartbeat (or join again), expel the silent, (re)claim what is assigned. */
  #groupTick(): void {
    if (this.#ended || this.#stopping || !this.groupAppender.connected) return;
    const nowMs = Date.now();
    const self = this.options.memberId;
    if (nowMs - this.#heartbeatAtMs >= this.options.sessionTimeoutMs / 3) {
      this.#heartbeatAtMs = nowMs;
      this.#appendMembership(this.group.has(self)
        ? { kind: 'heartbeat', name: this.options.name, memberId: self }
        : { kind: 'join', name: this.options.name, memberId: self, sessionTimeoutMs: this.options.sessionTimeoutMs });
    }
    for (const silent of this.group.expired(self, nowMs)) {
      const sentAtMs = this.#expelledAtMs.get(silent) ?? 0;
      if (nowMs - sentAtMs < this.options.sessionTimeoutMs) continue;
      this.#expelledAtMs.set(silent, nowMs);
      this.log.warn(`member ${silent} of "${this.options.name}" is silent past its session timeout: expelling it`);
      this.#appendMembership({ kind: 'expel', name: this.options.name, memberId: silent, byMemberId: self });
    }
    this.#reconcile();
  }

  #appendMembership(record: MembershipRecord): void {
    const batch = internalBatch(new RecordBatchWriter(4096, 16), encodeSidecarRecord(record));
    this.groupAppender.append([{ streamId: SIDECARS_STREAM_ID, recordCount: 1, batch }], {
      onAppended: () => undefined,
      onCommitted: () => undefined,
      onError: (error) => this.#onAppendError(error),
    });
  }

  /** Drops what is no longer assigned, claims what newly is. */
  #reconcile(): void {
    if (!this.#live || this.#ended) return;
    const assigned = new Set(this.#stopping ? [] : this.group.assignment(
      this.#inputOrder.map((input) => input.streamId), this.options.memberId));
    for (const input of this.#inputOrder) {
      if (!assigned.has(input.streamId)) {
        if (input.ownership !== 'idle') {
          this.log.info(`${input.label} is assigned to another member now: dropping it`);
          input.ownership = 'idle';
        }
      } else if (input.ownership === 'idle' && !this.#resyncing) {
        this.#claim(input);
      }
    }
    this.#updateOwned();
    this.#updateLag();
    this.#kick();
  }

  /** Appends a claim conditional on the fence's end as read here; a refusal is retried at the next tick. */
  #claim(input: InputStream): void {
    const batch = internalBatch(new RecordBatchWriter(4096, 16),
      encodeSidecarRecord({ kind: 'claim', name: this.options.name, memberId: this.options.memberId }));
    const accepted = this.groupAppender.append([{ streamId: input.fenceStreamId, recordCount: 1, batch }], {
      onAppended: () => undefined,
      onCommitted: () => undefined,
      onError: (error) => {
        if (input.ownership === 'claiming') input.ownership = 'idle';
        if (!(error instanceof AppendConditionError)) return this.#onAppendError(error);
        this.log.limited('info', `claim-${input.streamId}`, `claim of ${input.label} refused (${error.message}): ` +
          'the previous owner\'s last appends came in between; claiming again once they are read');
      },
    }, { expect: [{ streamId: input.fenceStreamId, nextOffset: input.fenceNext }] });
    if (accepted) input.ownership = 'claiming';
  }

  #onAppendError(error: X2Error): void {
    this.#finish(error.retriable || error.code === 'X2_ERR_SEQUENCER_UNAVAILABLE'
      ? { kind: 'restart', reason: error.message } : { kind: 'fatal', error });
  }

  /**
   * After a refused append: its outputs and checkpoints were not written, nor those of the appends
   * after it on the same fences. Wait for everything in flight, read up to the last append that
   * was sequenced, and resume the streams still owned from their checkpoints.
   */
  #resync(reason: string): void {
    if (this.#resyncing) return;
    this.#resyncing = true;
    this.options.metrics.fencedAppends += 1;
    this.log.warn(`an append was refused (${reason}): re-reading and resuming from the checkpoints`);
    void (async () => {
      while ((this.#pumping || this.appender.inflight > 0) && !this.#ended) await delay(5);
      while (this.appliedSeq < this.#lastSequencedSeq && !this.#ended) await delay(2);
      if (this.#ended) return;
      for (const input of this.#inputOrder) {
        if (input.ownership !== 'owned') continue;
        if (input.claimedBy === this.options.memberId) input.resume();
        else input.ownership = 'idle';
      }
      this.#resyncing = false;
      this.#reconcile();
    })();
  }

  // ---- processing: input records -> outputs + checkpoints, one atomic conditional append ----

  #kick(): void {
    if (this.#pumping || this.#ended || this.#stopping || this.#resyncing || !this.#live) return;
    this.#pumping = true;
    this.#pump().then(() => { this.#pumping = false; }, (error: unknown) => {
      this.#pumping = false;
      if (error instanceof X2Error && !error.retriable) {
        // --on-error stop and bad input: the appends before the failure still count; leaving
        // hands the streams over at once (a restart of this process joins as a new member).
        this.#leave({ kind: 'fatal', error });
      } else {
        this.#finish({ kind: 'restart', reason: String(error) });
      }
    });
  }

  /** The owned stream whose next held entry is the oldest in the river. */
  #nextWork(): InputStream | undefined {
    let best: InputStream | undefined;
    let bestSeq = Infinity;
    for (const input of this.#inputOrder) {
      if (input.ownership !== 'owned' || input.appending) continue;
      const held = input.peek();
      if (held && held.entry.seq < bestSeq) {
        best = input;
        bestSeq = held.entry.seq;
      }
    }
    return best;
  }

  async #pump(): Promise<void> {
    while (this.#nextWork() && !this.#ended && !this.#stopping && !this.#resyncing) {
      if (this.appender.inflight >= this.appender.inflightMax || !this.appender.connected) {
        // Resolves when a commit makes room (never at once here: that would spin on microtasks).
        await this.appender.whenWritable();
        if (this.#ended) return;
        if (!this.appender.connected) throw unavailable('lost the sequencer link');
        continue;
      }
      await this.#buildAndAppend();
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

  /** Takes input from the owned streams, runs it, and sends one append. */
  async #buildAndAppend(): Promise<void> {
    const touched = new Set<number>();
    const positions = new Map<InputStream, number>();
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
    for (;;) {
      if (outputBytes >= APPEND_BYTES_TARGET || stopError !== null || this.#resyncing) break;
      const input = this.#nextWork();
      if (!input) break;
      const held = input.peek()!;
      const { entry } = held;
      const next = input.nextOffset;
      const records = entry.baseOffset + entry.recordCount > next ? this.#decodeInput(entry, input, next) : [];
      if (records.length === 0) {
        input.advance();
        continue;
      }
      if (firstAppliedAtMs === 0) firstAppliedAtMs = held.appliedAtMs;
      const outcomes = await this.options.transform.apply(records);
      if (this.#ended) return;
      let cut = false;
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
            cut = true;
            break;
          }
          if (this.options.onError.mode === 'dead-letter') {
            const headers: RecordHeader[] = Object.entries(record.headers)
              .map(([name, value]) => ({ key: name, value }));
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
        positions.set(input, record.offset + 1);
        input.nextOffset = record.offset + 1;
        if (outputBytes >= APPEND_BYTES_CUT && i < records.length - 1) {
          // The rest of this entry goes into the next append (the cursor stays on it).
          cut = true;
          break;
        }
      }
      if (!cut) input.advance();
    }
    try {
      for (const output of await this.options.transform.flush()) addOutput(output, this.#toStreamIds);
    } catch (error) {
      throw new X2Error('X2_ERR_SIDECAR', `flush() failed: ${String(error)}`);
    }
    if (positions.size === 0 && touched.size > 0) {
      // Outputs of flush() alone still need a fence: the checkpoint of an owned stream, unchanged.
      const owner = this.#inputOrder.find((input) => input.ownership === 'owned' && !input.appending);
      if (owner) positions.set(owner, owner.nextOffset);
      else this.log.error(`flush() returned ${outputCount} record(s) while no input stream is owned: dropped`);
    }
    if (positions.size > 0) await this.#send(touched, positions, outputCount, firstAppliedAtMs);
    this.#roundRobin += 1;
    if (stopError) throw stopError;
  }

  #decodeInput(entry: StoredRiverEntry, input: InputStream, next: number): InputRecord[] {
    const batch = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
    let decoded;
    try {
      decoded = decodeRecords(batch, DECODE_BYTES_MAX);
    } catch (error) {
      throw new X2Error('X2_ERR_SIDECAR', `input ${input.label} batch at offset ${entry.baseOffset} is malformed: ${
        String(error)}`);
    }
    if (!decoded.decoded) {
      throw new X2Error('X2_ERR_SIDECAR',
        `input ${input.label} batch at offset ${entry.baseOffset}: ${decoded.reason}`);
    }
    const records: InputRecord[] = [];
    for (const record of decoded.records) {
      // decodeRecords makes offsets absolute from the batch's baseOffset field, patched by the sequencer.
      if (record.offset < next) continue;
      const headers: Record<string, Buffer | null> = {};
      for (const header of record.headers) headers[header.key] = header.value;
      records.push({
        topic: input.topic, partition: input.partition, offset: record.offset, timestamp: record.timestamp,
        key: record.key, value: record.value, headers,
      });
    }
    return records;
  }

  /**
   * Sends outputs + one checkpoint per input stream as one append, conditional on each fence being
   * where this owner left it. One append per fence at a time: the next waits for this one to be
   * sequenced, so an expected offset can never be met by another member's records instead of ours.
   */
  async #send(touched: Set<number>, positions: Map<InputStream, number>, outputCount: number,
    firstAppliedAtMs: number): Promise<void> {
    const entries: AppendEntry[] = [];
    let outputBatchBytes = 0;
    const nowMs = Date.now();
    for (const streamId of touched) {
      const writer = this.#writers.get(streamId)!;
      // An output (or dead-letter) topic with LogAppendTime gets the append time, as from a producer.
      const topic = this.control.partitionOf(streamId)?.topic;
      const logAppendTime = topic !== undefined
        && this.control.configOf(topic, 'message.timestamp.type') === 'LogAppendTime';
      const batch = writer.finish(logAppendTime ? nowMs : undefined);
      outputBatchBytes += batch.length;
      entries.push({ streamId, recordCount: writer.recordCount, batch });
    }
    const expect: AppendCondition[] = [];
    const fenced: InputStream[] = [];
    for (const [input, nextOffset] of positions) {
      let writer = this.#fenceWriters.get(input.fenceStreamId);
      if (!writer) this.#fenceWriters.set(input.fenceStreamId, writer = new RecordBatchWriter(4096, 16));
      const value = encodeSidecarRecord({
        kind: 'checkpoint', name: this.options.name, memberId: this.options.memberId, nextOffset,
      });
      entries.push({ streamId: input.fenceStreamId, recordCount: 1, batch: internalBatch(writer, value) });
      expect.push({ streamId: input.fenceStreamId, nextOffset: input.expectNext });
      input.expectNext += 1;
      input.appending = true;
      fenced.push(input);
    }
    const metrics = this.options.metrics;
    const settle = (): void => {
      for (const input of fenced) input.appending = false;
      this.#kick();
    };
    // Heartbeats and claims share the window: wait for room if they took it while building.
    while (this.appender.inflight >= this.appender.inflightMax && this.appender.connected && !this.#ended) {
      await this.appender.whenWritable();
    }
    if (this.#ended) return;
    const accepted = this.appender.append(entries, {
      onAppended: (firstSeq) => {
        this.#lastSequencedSeq = Math.max(this.#lastSequencedSeq, firstSeq + entries.length - 1);
        settle();
      },
      onCommitted: () => {
        metrics.appends += 1;
        metrics.recordsOut += outputCount;
        metrics.bytesOut += outputBatchBytes;
        if (firstAppliedAtMs > 0) metrics.latency?.observe((Date.now() - firstAppliedAtMs) / 1000);
      },
      onError: (error) => {
        for (const input of fenced) input.appending = false;
        if (error instanceof AppendConditionError) this.#resync(error.message);
        else this.#onAppendError(error);
      },
    }, { expect });
    if (!accepted) throw unavailable('lost the sequencer link');
    this.#updateLag();
  }
}
