/**
 * The appender side of the sequencer protocol, for any role that writes to the river (gateways,
 * sidecars, the bench). One TCP link to the sequencer; appends are pipelined on it.
 *
 * An append is an entry set: its entries get consecutive seqs and go out in one frame, so the set is
 * atomic. The handler hears twice: `onAppended(firstSeq, baseOffsets)` once sequenced, then
 * `onCommitted(seq)` once the set is durable as asked: on the write quorum (`ack: 'quorum'`, the
 * default; seq = the committed seq) or on at least one commit (`ack: 'one'`, Kafka's acks=1; seq
 * = the durable-on-one seq). `appendAsync` wraps the same in promises.
 *
 * A conditional append (`expect`) is sequenced only if each listed stream's next offset, when the
 * sequencer reaches it, is the expected one; otherwise nothing of it is sequenced and the handler
 * hears an AppendConditionError with the actual offsets. Writers that must never write twice
 * (sidecars) fence each other this way.
 *
 * Bounds: at most `inflightMax` appends not yet committed; past that `append` returns false and
 * `whenWritable()` resolves when there is room (backpressure from the sequencer's ring reaches the
 * caller this way). Losing the link fails every pending append with a retriable
 * X2_ERR_SEQUENCER_UNAVAILABLE (an AppendOutcomeUnknownError: sequenced or not, committed or not,
 * only the river tells), and the client reconnects.
 */
import { connect, type Socket } from 'node:net';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { readU64 } from './frame.ts';
import { LinkReader, LinkWriter } from './link.ts';
import {
  APPEND_CONDITIONS_MAX, MESSAGE, sendAppend, sendAppendIf, sendAppendViews, sendPacked, unpackBody,
  type AppendCondition,
  type AppendEntry, type ErrorBody, type Hello,
} from './messages.ts';
import { parseHostPort } from './address.ts';

export type AppendHandler = {
  onAppended(firstSeq: number, baseOffsets: readonly number[]): void;
  onCommitted(committedSeq: number): void;
  onError(error: X2Error): void;
};

export type AppendOptions = {
  /** 'quorum' (default): onCommitted when durable on the write quorum; 'one': on at least one commit. */
  ack?: 'quorum' | 'one';
  /** Conditional append: refused unless every listed stream's next offset equals `nextOffset`. */
  expect?: readonly AppendCondition[];
  /**
   * Large batches go to the link as views of the caller's bytes, not copies: the caller leaves
   * them unchanged until this is called, once the socket has written them (only for an accepted
   * append: a refused one never refers to them). Without it, `append` copies every batch.
   */
  written?: () => void;
};

/**
 * The link closed with this append sent but not answered as asked: it may have been sequenced (and
 * may yet be committed) or not. A writer that must not write twice learns which only from the
 * river; the code stays X2_ERR_SEQUENCER_UNAVAILABLE (retriable).
 */
export class AppendOutcomeUnknownError extends X2Error {
  constructor(message: string) {
    super('X2_ERR_SEQUENCER_UNAVAILABLE', message, { retriable: true });
  }
}

/** A conditional append was refused: `actualNextOffsets` are the streams' offsets at that moment. */
export class AppendConditionError extends X2Error {
  readonly actualNextOffsets: ReadonlyArray<AppendCondition>;

  constructor(message: string, actualNextOffsets: ReadonlyArray<AppendCondition>) {
    super('X2_ERR_APPEND_CONDITION', message);
    this.actualNextOffsets = actualNextOffsets;
  }
}

type Pending = { requestId: number; entryCount: number; lastSeq: number; handler: AppendHandler; ackOne: boolean };

export type AppendResult = { firstSeq: number; baseOffsets: readonly number[]; committed: Promise<number> };

/**
 * Pending appends in order (a head index, not Array.shift). A slot is cleared as soon as it is taken:
 * a gateway's handler holds its whole Produce request, and a slot left set kept answered requests
 * (at 10,000 partitions, ~400,000 partitions' objects) alive for every major GC.
 */
class PendingQueue {
  #items: Pending[] = [];
  #head = 0;

  get size(): number { return this.#items.length - this.#head; }

  push(pending: Pending): void { this.#items.push(pending); }

  peek(): Pending | undefined { return this.#items[this.#head]; }

  shift(): Pending | undefined {
    const pending = this.#items[this.#head];
    if (pending === undefined) return undefined;
    this.#items[this.#head] = undefined as unknown as Pending;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return pending;
  }

  /** Removes the pendings whose last seq is at or below `seq`, in order, calling `each`. */
  takeThrough(seq: number, each: (pending: Pending) => void): boolean {
    let took = false;
    for (let pending = this.peek(); pending !== undefined && pending.lastSeq <= seq; pending = this.peek()) {
      this.shift();
      each(pending);
      took = true;
    }
    return took;
  }

  takeAll(): Pending[] {
    const all = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return all;
  }
}

export class AppendClient {
  readonly address: string;
  readonly inflightMax: number;
  #socket: Socket | null = null;
  #writer: LinkWriter | null = null;
  #connected = false;
  #closed = false;
  #nextRequestId = 1;
  /** Sent, waiting for APPENDED, in request order. */
  readonly #sent = new PendingQueue();
  /** Sequenced, waiting for the committed seq (ack 'quorum') or the durable-on-one seq (ack 'one'). */
  readonly #waitingQuorum = new PendingQueue();
  readonly #waitingOne = new PendingQueue();
  #committedSeq = 0;
  #durableOneSeq = 0;
  #linksLost = 0;
  #waiters: Array<() => void> = [];
  #connectWaiters: Array<() => void> = [];
  readonly #onCommittedSeq: ((committedSeq: number) => void) | null;
  readonly #committedNotices: 'every' | 'own';

  /**
   * `onCommittedSeq` hears every advance of the committed seq, whoever appended (a gateway wakes
   * its readers at once instead of polling). `committedNotices: 'own'` asks the sequencer for the
   * committed seq only while an append of this client waits for it (`committedSeq` then lags when
   * others append): for clients that append now and then, so they are not woken for every frame.
   */
  constructor(address: string, options: { inflightMax?: number; onCommittedSeq?: (committedSeq: number) => void;
    committedNotices?: 'every' | 'own' } = {}) {
    this.address = address;
    this.inflightMax = options.inflightMax ?? 1024;
    this.#onCommittedSeq = options.onCommittedSeq ?? null;
    this.#committedNotices = options.committedNotices ?? 'every';
    assert(this.#committedNotices === 'every' || this.#onCommittedSeq === null,
      'onCommittedSeq needs every committed notice');
    this.#connect();
  }

  get committedSeq(): number { return this.#committedSeq; }
  get durableOneSeq(): number { return this.#durableOneSeq; }
  get connected(): boolean { return this.#connected; }
  /** Links lost so far: an append sent after this grew went out on a later link. */
  get linksLost(): number { return this.#linksLost; }
  get inflight(): number {
    return this.#sent.size + this.#waitingQuorum.size + this.#waitingOne.size;
  }

  /** Resolves once the link is up (immediately if it is). */
  whenConnected(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve) => this.#connectWaiters.push(resolve));
  }

  /** Resolves when an append would be accepted. */
  whenWritable(): Promise<void> {
    if (this.#connected && this.inflight < this.inflightMax) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends one entry set; false when not connected or `inflightMax` appends are pending. */
  append(entries: readonly AppendEntry[], handler: AppendHandler, options: AppendOptions = {}): boolean {
    assert(entries.length > 0 && entries.length <= 0xffff, 'an append holds 1..65535 entries');
    const expect = options.expect;
    assert(!expect || (expect.length > 0 && expect.length <= APPEND_CONDITIONS_MAX),
      `a conditional append names 1..${APPEND_CONDITIONS_MAX} streams`);
    const written = options.written;
    if (!this.#connected || this.inflight >= this.inflightMax || !this.#writer) return false;
    const requestId = this.#nextRequestId;
    this.#nextRequestId = (this.#nextRequestId + 1) >>> 0 || 1;
    if (expect) sendAppendIf(this.#writer, requestId, expect, entries);
    else if (written) sendAppendViews(this.#writer, requestId, entries, written);
    else sendAppend(this.#writer, requestId, entries);
    if (expect) written?.();
    this.#sent.push({ requestId, entryCount: entries.length, lastSeq: 0, handler, ackOne: options.ack === 'one' });
    return true;
  }

  /** The same as `append`, with promises; waits for room first. */
  async appendAsync(entries: readonly AppendEntry[], options: AppendOptions = {}): Promise<AppendResult> {
    for (;;) {
      await this.whenWritable();
      if (this.#closed) throw unavailable('append client closed');
      let resolveCommitted!: (seq: number) => void;
      let rejectCommitted!: (error: X2Error) => void;
      const committed = new Promise<number>((resolve,
        reject) => { resolveCommitted = resolve; rejectCommitted = reject; });
      committed.catch(() => undefined); // a caller may only care about the first answer
      const sequenced = new Promise<AppendResult>((resolve, reject) => {
        const accepted = this.append(entries, {
          onAppended: (firstSeq, baseOffsets) => resolve({ firstSeq, baseOffsets, committed }),
          onCommitted: resolveCommitted,
          onError: (error) => { reject(error); rejectCommitted(error); },
        }, options);
        if (!accepted) resolve({ firstSeq: -1, baseOffsets: [], committed });
      });
      const result = await sequenced;
      if (result.firstSeq >= 0) return result;
    }
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#failAll(new AppendOutcomeUnknownError('append client closed'));
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #connect(): void {
    if (this.#closed) return;
    const { host, port } = parseHostPort(this.address);
    const socket = connect({ host, port, noDelay: true });
    this.#socket = socket;
    const writer = new LinkWriter(socket);
    const reader = new LinkReader((type, payload) => this.#onMessage(type, payload));
    socket.on('connect', () => {
      this.#writer = writer;
      sendPacked(writer, MESSAGE.hello, { role: 'appender', memberId: `appender-${process.pid}`,
        committedNotices: this.#committedNotices } satisfies Hello);
      this.#connected = true;
      for (const wake of this.#connectWaiters.splice(0)) wake();
      this.#wake();
    });
    socket.on('data', (chunk: Buffer) => {
      const problem = reader.feed(chunk);
      if (problem) socket.destroy(new Error(problem));
    });
    socket.on('error', () => undefined); // 'close' follows and handles it
    socket.on('close', () => {
      this.#connected = false;
      this.#writer = null;
      this.#linksLost += 1;
      this.#failAll(new AppendOutcomeUnknownError(`lost the link to the sequencer ${this.address}`));
      if (!this.#closed) setTimeout(() => this.#connect(), 100).unref();
    });
  }

  #onMessage(type: number, payload: Buffer): void {
    if (type === MESSAGE.appended) {
      const pending = this.#sent.peek();
      if (!pending
        || pending.requestId !== payload.readUInt32LE(0)) return this.#protocolError('APPENDED out of order');
      this.#sent.shift();
      const firstSeq = readU64(payload, 4);
      const count = payload.readUInt16LE(12);
      const baseOffsets: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) baseOffsets[i] = readU64(payload, 14 + 8 * i);
      pending.lastSeq = firstSeq + pending.entryCount - 1;
      pending.handler.onAppended(firstSeq, baseOffsets);
      const durableSeq = pending.ackOne ? this.#durableOneSeq : this.#committedSeq;
      if (pending.lastSeq <= durableSeq) {
        pending.handler.onCommitted(durableSeq);
        this.#wake();
      } else {
        (pending.ackOne ? this.#waitingOne : this.#waitingQuorum).push(pending);
      }
    } else if (type === MESSAGE.committed) {
      if (payload.length !== 16) return this.#protocolError('COMMITTED of a wrong size');
      const committedSeq = Math.max(this.#committedSeq, readU64(payload, 0));
      const durableOneSeq = Math.max(this.#durableOneSeq, readU64(payload, 8), committedSeq);
      const advanced = committedSeq > this.#committedSeq;
      this.#committedSeq = committedSeq;
      this.#durableOneSeq = durableOneSeq;
      const tookQuorum = this.#waitingQuorum.takeThrough(committedSeq, (p) => p.handler.onCommitted(committedSeq));
      const tookOne = this.#waitingOne.takeThrough(durableOneSeq, (p) => p.handler.onCommitted(durableOneSeq));
      if (tookQuorum || tookOne) this.#wake();
      if (advanced) this.#onCommittedSeq?.(committedSeq);
    } else if (type === MESSAGE.appendError) {
      const pending = this.#sent.peek();
      if (!pending
        || pending.requestId !== payload.readUInt32LE(0)) return this.#protocolError('APPEND_ERROR out of order');
      this.#sent.shift();
      const body = unpackBody<ErrorBody>(payload.subarray(4));
      if (body.code === 'X2_ERR_APPEND_CONDITION') {
        const actual = (body.actual ?? []).map(([streamId, nextOffset]) => ({ streamId, nextOffset }));
        pending.handler.onError(new AppendConditionError(body.message, actual));
      } else {
        const code = body.code === 'X2_ERR_APPEND_REJECTED' ? 'X2_ERR_APPEND_REJECTED' : 'X2_ERR_SEQUENCER_UNAVAILABLE';
        pending.handler.onError(new X2Error(code, body.message, { retriable: body.retriable }));
      }
      this.#wake();
    }
  }

  #protocolError(what: string): void {
    this.#socket?.destroy(new Error(what));
  }

  #failAll(error: X2Error): void {
    const failed = [...this.#sent.takeAll(), ...this.#waitingQuorum.takeAll(), ...this.#waitingOne.takeAll()];
    for (const pending of failed) pending.handler.onError(error);
  }

  #wake(): void {
    if (this.inflight >= this.inflightMax || !this.#connected) return;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

function unavailable(message: string): X2Error {
  return new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE', message, { retriable: true });
}
