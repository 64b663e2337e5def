/**
 * Reads stored entries from a commit over TCP, by seq: how a member that fell behind the retransmit
 * ring repairs (commits and subscribers alike), and how tests and the bench read back what a commit
 * holds; or one stream's batches by offset: a gateway's history read. One link per client;
 * requests are answered in order.
 *
 * Bounds: one answer is at most `bytesMax` of entries (plus at least one entry); callers bound how
 * many requests they send at once (a gateway's Fetch: HISTORY_READS_PER_FETCH_MAX); a request not
 * answered within `requestTimeoutMs` (connecting included) closes the link and fails every request
 * on it, so a silent or unreachable peer costs a repair or a history read seconds, never a wedged
 * member (a TCP connect alone may wait ~2 min).
 */
import { connect, type Socket } from 'node:net';
import { X2Error } from '../base/errors.ts';
import { writeU64 } from './frame.ts';
import { LinkReader, LinkWriter } from './link.ts';
import {
  MESSAGE, readEntriesMessage, readEntryHeadersMessage, readStreamEntriesMessage, unpackBody, type ErrorBody,
  type StoredRiverEntry,
} from './messages.ts';
import { parseHostPort } from './address.ts';

/** How long a read may wait for its answer, connecting included. */
export const PEER_REQUEST_TIMEOUT_MS = 10_000;

type Waiter = { requestId: number; resolve: (entries: StoredRiverEntry[]) => void; reject: (error: Error) => void };

export class PeerClient {
  readonly address: string;
  readonly #socket: Socket;
  readonly #writer: LinkWriter;
  readonly #waiters: Waiter[] = [];
  readonly #ready: Promise<void>;
  #nextRequestId = 1;
  #failure: Error | null = null;
  readonly #requestTimeoutMs: number;

  constructor(address: string, options: { requestTimeoutMs?: number } = {}) {
    this.address = address;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? PEER_REQUEST_TIMEOUT_MS;
    const { host, port } = parseHostPort(address);
    this.#socket = connect({ host, port, noDelay: true });
    this.#writer = new LinkWriter(this.#socket);
    const reader = new LinkReader((type, payload) => this.#onMessage(type, payload));
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', reject);
    });
    this.#ready.catch(() => undefined);
    this.#socket.on('data', (chunk: Buffer) => {
      const problem = reader.feed(chunk);
      if (problem) this.#socket.destroy(new Error(problem));
    });
    this.#socket.on('error', (error) => { this.#failure ??= error; });
    this.#socket.on('close', () => {
      const error = this.#failure ?? new Error(`peer ${address} closed the link`);
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    });
  }

  /** Entries with seq >= fromSeq, in seq order ([] when the peer has none). */
  readBySeq(fromSeq: number, bytesMax: number): Promise<StoredRiverEntry[]> {
    return this.#read(MESSAGE.readSeq, fromSeq, bytesMax);
  }

  /**
   * The same entries, each user batch cut to its header (`batchBytes` holds its whole length),
   * internal streams whole: what a gateway's replay needs. `bytesMax` bounds the bytes the peer
   * reads from its store, not the (much smaller) answer.
   */
  readHeadersBySeq(fromSeq: number, bytesMax: number): Promise<StoredRiverEntry[]> {
    return this.#read(MESSAGE.readSeqHeaders, fromSeq, bytesMax);
  }

  /**
   * Batches of one stream from the one holding `offset`, in offset order, through the commit's
   * index: [] when the commit's stream ends at `offset`; an error when it has no such offset.
   */
  readStream(streamId: number, offset: number, bytesMax: number): Promise<StoredRiverEntry[]> {
    return this.#request(MESSAGE.readStream, 20, (buffer, position) => {
      buffer.writeUInt32LE(streamId >>> 0, position);
      writeU64(buffer, position + 4, offset);
      buffer.writeUInt32LE(bytesMax, position + 12);
    });
  }

  #read(type: number, fromSeq: number, bytesMax: number): Promise<StoredRiverEntry[]> {
    return this.#request(type, 16, (buffer, position) => {
      writeU64(buffer, position, fromSeq);
      buffer.writeUInt32LE(bytesMax, position + 8);
    });
  }

  /** One request of `payloadBytes`: its id (4 bytes), then what `write` puts after it. */
  async #request(type: number, payloadBytes: number, write: (buffer: Buffer, position: number) => void):
  Promise<StoredRiverEntry[]> {
    const timer = setTimeout(() => this.#socket.destroy(new X2Error('X2_ERR_IO',
      `peer ${this.address}: no answer within ${this.#requestTimeoutMs} ms`, { retriable: true })),
    this.#requestTimeoutMs);
    try {
      await this.#ready;
      if (this.#socket.destroyed) {
        throw this.#failure ?? new X2Error('X2_ERR_IO', `peer ${this.address} is not connected`);
      }
      const requestId = this.#nextRequestId++;
      const { buffer, position } = this.#writer.reserve(type, payloadBytes);
      buffer.writeUInt32LE(requestId, position);
      write(buffer, position + 4);
      return await new Promise<StoredRiverEntry[]>((resolve, reject) => this.#waiters.push({ requestId, resolve,
        reject }));
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void { this.#socket.destroy(); }

  /** True once the link is gone (closed, failed or timed out): every later request fails. */
  get closed(): boolean { return this.#socket.destroyed; }

  #onMessage(type: number, payload: Buffer): void {
    const waiter = this.#waiters.shift();
    if (!waiter || payload.readUInt32LE(0) !== waiter.requestId) {
      this.#socket.destroy(new Error('peer answered out of order'));
      return;
    }
    if (type === MESSAGE.entries || type === MESSAGE.entryHeaders || type === MESSAGE.streamEntries) {
      const decoded = type === MESSAGE.entries ? readEntriesMessage(payload)
        : type === MESSAGE.streamEntries ? readStreamEntriesMessage(payload) : readEntryHeadersMessage(payload);
      if (decoded) waiter.resolve(decoded.entries); else waiter.reject(new Error('malformed ENTRIES from peer'));
    } else if (type === MESSAGE.readError) {
      const body = unpackBody<ErrorBody>(payload.subarray(4));
      waiter.reject(new X2Error('X2_ERR_IO', `peer ${this.address}: ${body.message}`));
    } else {
      waiter.reject(new Error(`unexpected message ${type} from peer`));
    }
  }
}
