/**
 * Reads stored entries from a commit over TCP, by seq: how a member that fell behind the retransmit
 * ring repairs (commits and subscribers alike), and how tests and the bench read back what a commit
 * holds. One link per client; requests are answered in order.
 *
 * Bounds: one answer is at most `bytesMax` of entries (plus at least one entry); the client holds
 * at most `inflightMax` requests.
 */
import { connect, type Socket } from 'node:net';
import { X2Error } from '../base/errors.ts';
import { writeU64 } from './frame.ts';
import { LinkReader, LinkWriter } from './link.ts';
import { MESSAGE, readEntriesMessage, unpackBody, type ErrorBody, type StoredRiverEntry } from './messages.ts';
import { parseHostPort } from './address.ts';

type Waiter = { requestId: number; resolve: (entries: StoredRiverEntry[]) => void; reject: (error: Error) => void };

export class PeerClient {
  readonly address: string;
  readonly #socket: Socket;
  readonly #writer: LinkWriter;
  readonly #waiters: Waiter[] = [];
  readonly #ready: Promise<void>;
  #nextRequestId = 1;
  #failure: Error | null = null;

  constructor(address: string) {
    this.address = address;
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
  async readBySeq(fromSeq: number, bytesMax: number): Promise<StoredRiverEntry[]> {
    await this.#ready;
    if (this.#socket.destroyed) throw new X2Error('X2_ERR_IO', `peer ${this.address} is not connected`);
    const requestId = this.#nextRequestId++;
    const { buffer, position } = this.#writer.reserve(MESSAGE.readSeq, 16);
    buffer.writeUInt32LE(requestId, position);
    writeU64(buffer, position + 4, fromSeq);
    buffer.writeUInt32LE(bytesMax, position + 12);
    return new Promise((resolve, reject) => this.#waiters.push({ requestId, resolve, reject }));
  }

  close(): void { this.#socket.destroy(); }

  #onMessage(type: number, payload: Buffer): void {
    const waiter = this.#waiters.shift();
    if (!waiter || payload.readUInt32LE(0) !== waiter.requestId) {
      this.#socket.destroy(new Error('peer answered out of order'));
      return;
    }
    if (type === MESSAGE.entries) {
      const decoded = readEntriesMessage(payload);
      if (decoded) waiter.resolve(decoded.entries); else waiter.reject(new Error('malformed ENTRIES from peer'));
    } else if (type === MESSAGE.readError) {
      const body = unpackBody<ErrorBody>(payload.subarray(4));
      waiter.reject(new X2Error('X2_ERR_IO', `peer ${this.address}: ${body.message}`));
    } else {
      waiter.reject(new Error(`unexpected message ${type} from peer`));
    }
  }
}
