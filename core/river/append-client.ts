/**
 * The appender side of the sequencer protocol, for any role that writes to the river (gateways,
 * sidecars, the bench). One TCP link to the sequencer; appends are pipelined on it.
 *
 * An append is an entry set: its entries get consecutive seqs and go out in one frame, so the set is
 * atomic. The handler hears twice: `onAppended(firstSeq, baseOffsets)` once sequenced, then
 * `onCommitted(committedSeq)` once the committed seq reaches the set's last seq (durable on the
 * write quorum). `appendAsync` wraps the same in promises.
 *
 * Bounds: at most `inflightMax` appends not yet committed; past that `append` returns false and
 * `whenWritable()` resolves when there is room (backpressure from the sequencer's ring reaches the
 * caller this way). Losing the link fails every pending append with a retriable
 * X2_ERR_SEQUENCER_UNAVAILABLE (its outcome is unknown), and the client reconnects.
 */
import { connect, type Socket } from 'node:net';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { readU64 } from './frame.ts';
import { LinkReader, LinkWriter } from './link.ts';
import { MESSAGE, sendAppend, sendPacked, unpackBody, type AppendEntry, type ErrorBody } from './messages.ts';
import { parseHostPort } from './address.ts';

export type AppendHandler = {
  onAppended(firstSeq: number, baseOffsets: readonly number[]): void;
  onCommitted(committedSeq: number): void;
  onError(error: X2Error): void;
};

type Pending = { requestId: number; entryCount: number; lastSeq: number; handler: AppendHandler };

export type AppendResult = { firstSeq: number; baseOffsets: readonly number[]; committed: Promise<number> };

export class AppendClient {
  readonly address: string;
  readonly inflightMax: number;
  #socket: Socket | null = null;
  #writer: LinkWriter | null = null;
  #connected = false;
  #closed = false;
  #nextRequestId = 1;
  /** Sent, waiting for APPENDED, in request order. */
  readonly #sent: Pending[] = [];
  #sentHead = 0;
  /** Sequenced, waiting for the committed seq, in seq order. */
  readonly #sequenced: Pending[] = [];
  #sequencedHead = 0;
  #committedSeq = 0;
  #waiters: Array<() => void> = [];
  #connectWaiters: Array<() => void> = [];

  constructor(address: string, options: { inflightMax?: number } = {}) {
    this.address = address;
    this.inflightMax = options.inflightMax ?? 1024;
    this.#connect();
  }

  get committedSeq(): number { return this.#committedSeq; }
  get connected(): boolean { return this.#connected; }
  get inflight(): number { return this.#sent.length - this.#sentHead + this.#sequenced.length - this.#sequencedHead; }

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
  append(entries: readonly AppendEntry[], handler: AppendHandler): boolean {
    assert(entries.length > 0 && entries.length <= 0xffff, 'an append holds 1..65535 entries');
    if (!this.#connected || this.inflight >= this.inflightMax || !this.#writer) return false;
    const requestId = this.#nextRequestId;
    this.#nextRequestId = (this.#nextRequestId + 1) >>> 0 || 1;
    sendAppend(this.#writer, requestId, entries);
    this.#sent.push({ requestId, entryCount: entries.length, lastSeq: 0, handler });
    return true;
  }

  /** The same as `append`, with promises; waits for room first. */
  async appendAsync(entries: readonly AppendEntry[]): Promise<AppendResult> {
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
        });
        if (!accepted) resolve({ firstSeq: -1, baseOffsets: [], committed });
      });
      const result = await sequenced;
      if (result.firstSeq >= 0) return result;
    }
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#failAll(unavailable('append client closed'));
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
      sendPacked(writer, MESSAGE.hello, { role: 'appender', memberId: `appender-${process.pid}` });
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
      this.#failAll(unavailable(`lost the link to the sequencer ${this.address}`));
      if (!this.#closed) setTimeout(() => this.#connect(), 100).unref();
    });
  }

  #onMessage(type: number, payload: Buffer): void {
    if (type === MESSAGE.appended) {
      const pending = this.#sent[this.#sentHead];
      if (!pending
        || pending.requestId !== payload.readUInt32LE(0)) return this.#protocolError('APPENDED out of order');
      this.#shift('sent');
      const firstSeq = readU64(payload, 4);
      const count = payload.readUInt16LE(12);
      const baseOffsets: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) baseOffsets[i] = readU64(payload, 14 + 8 * i);
      pending.lastSeq = firstSeq + pending.entryCount - 1;
      pending.handler.onAppended(firstSeq, baseOffsets);
      if (pending.lastSeq <= this.#committedSeq) {
        pending.handler.onCommitted(this.#committedSeq);
        this.#wake();
      } else {
        this.#sequenced.push(pending);
      }
    } else if (type === MESSAGE.committed) {
      this.#committedSeq = Math.max(this.#committedSeq, readU64(payload, 0));
      let woke = false;
      for (;;) {
        const pending = this.#sequenced[this.#sequencedHead];
        if (!pending || pending.lastSeq > this.#committedSeq) break;
        this.#shift('sequenced');
        pending.handler.onCommitted(this.#committedSeq);
        woke = true;
      }
      if (woke) this.#wake();
    } else if (type === MESSAGE.appendError) {
      const pending = this.#sent[this.#sentHead];
      if (!pending
        || pending.requestId !== payload.readUInt32LE(0)) return this.#protocolError('APPEND_ERROR out of order');
      this.#shift('sent');
      const body = unpackBody<ErrorBody>(payload.subarray(4));
      const code = body.code === 'X2_ERR_APPEND_REJECTED' ? 'X2_ERR_APPEND_REJECTED' : 'X2_ERR_SEQUENCER_UNAVAILABLE';
      pending.handler.onError(new X2Error(code, body.message, { retriable: body.retriable }));
      this.#wake();
    }
  }

  #shift(queue: 'sent' | 'sequenced'): void {
    // Head indexes instead of Array.shift (O(1)); compact once the dead prefix is large.
    if (queue === 'sent') {
      this.#sentHead += 1;
      if (this.#sentHead > 1024 && this.#sentHead * 2 > this.#sent.length) { this.#sent.splice(0,
        this.#sentHead); this.#sentHead = 0; }
    } else {
      this.#sequencedHead += 1;
      if (this.#sequencedHead > 1024 && this.#sequencedHead * 2 > this.#sequenced.length) {
        this.#sequenced.splice(0, this.#sequencedHead);
        this.#sequencedHead = 0;
      }
    }
  }

  #protocolError(what: string): void {
    this.#socket?.destroy(new Error(what));
  }

  #failAll(error: X2Error): void {
    const failed = [...this.#sent.slice(this.#sentHead), ...this.#sequenced.slice(this.#sequencedHead)];
    this.#sent.length = 0;
    this.#sentHead = 0;
    this.#sequenced.length = 0;
    this.#sequencedHead = 0;
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
