/**
 * A minimal Kafka client for gateway tests, built on x2's own codecs: sends typed requests of
 * any API and version and decodes the responses by correlation id, or writes raw bytes (fuzz).
 * It exists to reach what real clients never send: exact duplicate and out-of-order idempotent
 * batches, bad CRCs, oversized frames, unknown keys.
 */
import { connect, type Socket } from 'node:net';
import type { ApiDefinition } from '../../core/kafka/codec/define-api.ts';
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { FrameSplitter } from '../../core/kafka/framing.ts';
import { encodeRequestFrame } from '../../core/kafka/registry.ts';

type Waiter = {
  decode: (reader: KafkaReader) => unknown;
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
};

export class RawKafka {
  readonly socket: Socket;
  readonly #writer = new KafkaWriter(64 * 1024 * 1024);
  readonly #waiters = new Map<number, Waiter>();
  readonly #splitter = new FrameSplitter(256 * 1024 * 1024);
  #nextCorrelationId = 1;
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#splitter.push(chunk);
      for (let frame = this.#splitter.next(); Buffer.isBuffer(frame); frame = this.#splitter.next()) {
        const reader = new KafkaReader(frame);
        const correlationId = reader.readInt32();
        const waiter = this.#waiters.get(correlationId);
        if (!waiter) continue;
        this.#waiters.delete(correlationId);
        try {
          waiter.resolve(waiter.decode(reader));
        } catch (error) {
          waiter.reject(error as Error);
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.#waiters.values()) waiter.reject(new Error('connection closed by the gateway'));
      this.#waiters.clear();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawKafka> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('connect', () => resolve(new RawKafka(socket)));
      socket.once('error', reject);
    });
  }

  request<Q, S>(api: ApiDefinition<Q, S>, version: number, body: Q): Promise<S> {
    const correlationId = this.#nextCorrelationId++;
    const frame = Buffer.from(encodeRequestFrame(this.#writer, api, version, correlationId, 'raw-test', body));
    // After a close no answer can come: fail at once instead of waiting for the test's timeout.
    if (this.closed) return Promise.reject(new Error(`connection already closed; ${api.name} v${version} not sent`));
    return new Promise<S>((resolve, reject) => {
      this.#waiters.set(correlationId, {
        decode: (reader) => {
          if (api.apiKey !== 18 && version >= api.flexibleVersionMin) reader.skipTaggedFields();
          return api.response.decode(reader, version);
        },
        resolve: resolve as (body: unknown) => void, reject,
      });
      this.socket.write(frame);
    });
  }

  /** Writes bytes as they are (may be a broken frame). */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    return this.socket.write(bytes);
  }

  /** Resolves when the gateway closes the connection (or after timeoutMs with false). */
  whenClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => { clearTimeout(timer); resolve(true); });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
