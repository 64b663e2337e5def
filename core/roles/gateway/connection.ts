/**
 * One Kafka client connection: cuts the byte stream into frames (FrameSplitter), reads each
 * request header, decides by (key, version) what to do (registry.requestDisposition), decodes
 * the body and hands it to the gateway's dispatcher with a RequestContext. Handlers answer at
 * once or later (produce waits for the commit, fetch long-polls, joins wait for the rebalance);
 * responses still leave in request order, as Kafka clients require: each request takes a slot
 * in a queue and the queue is flushed from its head.
 *
 * Bad input never throws out of here: an oversize or malformed frame, an unknown API key, an
 * unadvertised version or a body that does not decode closes the connection, logged once per
 * kind and period. Bounds: at most INFLIGHT_REQUESTS_MAX unanswered requests per connection
 * (the socket is paused past that), frames at most `requestBytesMax`.
 * SASL: a connection with a `SaslSession` answers only ApiVersions and the SASL APIs until it
 * has authenticated (any other request closes it, counted), its frames meanwhile at most
 * SASL_FRAME_BYTES_MAX; after a SaslHandshake v0 its frames are raw tokens, handed to `onRawSaslToken`.
 */
import type { Socket } from 'node:net';
import type { Log } from '../../base/log.ts';
import { produce, produceErrorResponse, type ProduceRequest } from '../../kafka/api/00-produce.ts';
import type { SpareBuffers } from '../../base/spare-buffers.ts';
import { KafkaDecodeError } from '../../kafka/codec/decode-error.ts';
import type { ApiDefinition } from '../../kafka/codec/define-api.ts';
import { KafkaReader } from '../../kafka/codec/reader.ts';
import type { KafkaWriter } from '../../kafka/codec/writer.ts';
import { FrameSplitter } from '../../kafka/framing.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { SASL_FRAME_BYTES_MAX } from '../../kafka/sasl-mechanisms.ts';
import {
  encodeApiVersionsFallback, encodeResponseFrame, encodeResponseFrameGather, lookupApi, readRequestHeader,
  RequestHeader, requestDisposition,
} from '../../kafka/registry.ts';
import type { RequestLatency } from './request-latency.ts';
import type { SaslSession } from './sasl-session.ts';

export const INFLIGHT_REQUESTS_MAX = 256;

/**
 * A response waiting for its turn: one buffer, or the parts of a gathered one (Fetch). `written`
 * runs once the socket no longer needs the parts: written, or the connection closed.
 */
type Slot = { frame: Buffer | Buffer[] | null; done: boolean; written: (() => void) | null };

/** Record data of a gathered response at least this long is referenced, not copied. */
export const GATHER_BYTES_MIN = 16 * 1024;

/** What a handler gets with a request: who asked, and how to answer (exactly once). */
export class RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string;
  readonly connection: Connection;
  readonly #slot: Slot;
  readonly #frame: Buffer;
  /** performance.now() when the request was read (x2_gateway_request_seconds). */
  readonly #startedMs: number;

  constructor(connection: Connection, header: RequestHeader, slot: Slot, frame: Buffer, startedMs: number) {
    this.connection = connection;
    this.#frame = frame;
    this.#startedMs = startedMs;
    this.apiKey = header.apiKey;
    this.apiVersion = header.apiVersion;
    this.correlationId = header.correlationId;
    this.clientId = header.clientId ?? '';
    this.#slot = slot;
  }

  get answered(): boolean { return this.#slot.done; }

  /** Bytes of the request frame (header included). */
  get frameBytes(): number { return this.#frame.length; }

  /**
   * Called while the request is handled (before the read callback returns): keeps the request's
   * bytes valid past it and returns the function to call once nothing refers to them. Null when
   * they sit in the connection's read buffer: copy what must outlive the callback instead.
   */
  keepFrame(): (() => void) | null {
    return this.connection.keepFrame(this.#frame);
  }

  respond<Q, S>(api: ApiDefinition<Q, S>, body: S): void {
    if (this.#slot.done) return;
    this.#slot.frame = this.connection.encode(api, this.apiVersion, this.correlationId, body);
    this.#slot.done = true;
    this.connection.answered(this.apiKey, this.#startedMs);
  }

  /**
   * Like respond, but the body's records (Fetch batches) are handed to the socket as they are,
   * not copied: every run of RecordRuns, and a single buffer of GATHER_BYTES_MIN or more. They must
   * not change until `written` runs (once: after the socket wrote them, or when the connection
   * closed before it could); null when every referenced buffer is the answer's own.
   */
  respondGathered<Q, S>(api: ApiDefinition<Q, S>, body: S, written: (() => void) | null): void {
    if (this.#slot.done) {
      written?.();
      return;
    }
    this.#slot.frame = this.connection.encodeGathered(api, this.apiVersion, this.correlationId, body);
    this.#slot.written = written;
    this.#slot.done = true;
    this.connection.answered(this.apiKey, this.#startedMs);
  }

  /**
   * acks=0 produce: the request takes its turn but nothing is sent (and it is not timed: there is
   * no response, and its near-zero time would hide the acknowledged requests' latency).
   */
  noResponse(): void {
    if (this.#slot.done) return;
    this.#slot.done = true;
    this.connection.flush();
  }
}

export type Dispatch = (context: RequestContext, request: unknown) => void;

/** Counters shared by every connection of a gateway (exported as metrics). */
export type ConnectionCounters = {
  framesReceived: number; connectionsClosedForBadInput: number;
  /** Requests other than ApiVersions and SASL before authentication (each closed its connection). */
  unauthenticatedRequests?: number;
};

/** How long a connection closed after its last answer waits for the client to hang up. */
const END_WAIT_MS = 5_000;

export class Connection {
  readonly socket: Socket;
  readonly clientHost: string;
  /** Null on a port without SASL. */
  readonly sasl: SaslSession | null;
  readonly #onRawSaslToken: ((connection: Connection, token: Buffer) => void) | null;
  readonly #requestBytesMax: number;
  readonly #splitter: FrameSplitter;
  readonly #writer: KafkaWriter;
  readonly #dispatch: Dispatch;
  readonly #log: Log;
  readonly #counters: ConnectionCounters;
  readonly #latency: RequestLatency | null;
  readonly #slots: Slot[] = [];
  #slotsHead = 0;
  readonly #header = new RequestHeader();
  readonly #reader = new KafkaReader(Buffer.alloc(0));
  #paused = false;
  /**
   * Chunks that arrived while paused, copied, in order: a TLS socket still delivers the bytes it
   * had read before the pause (at most one read of its encrypted side); a plaintext one none.
   */
  readonly #held: Buffer[] = [];
  #closed = false;
  requests = 0;

  constructor(socket: Socket, options: {
    requestBytesMax: number; writer: KafkaWriter; dispatch: Dispatch; log: Log; counters: ConnectionCounters;
    /** Where each answered request's latency goes; null measures nothing. */
    latency?: RequestLatency | null;
    /** Where request buffers kept past their read (keepFrame) go back, shared by the gateway's connections. */
    spares: SpareBuffers;
    /** The connection's SASL state on a SASL port, and who reads raw tokens (SaslHandshake v0). */
    sasl?: { session: SaslSession; onRawToken: (connection: Connection, token: Buffer) => void } | null;
  }) {
    this.socket = socket;
    this.clientHost = socket.remoteAddress ?? '';
    this.sasl = options.sasl?.session ?? null;
    this.#onRawSaslToken = options.sasl?.onRawToken ?? null;
    this.#requestBytesMax = options.requestBytesMax;
    this.#splitter = new FrameSplitter(this.sasl === null ? options.requestBytesMax
      : Math.min(options.requestBytesMax, SASL_FRAME_BYTES_MAX), undefined, options.spares);
    this.#writer = options.writer;
    this.#dispatch = options.dispatch;
    this.#log = options.log;
    this.#counters = options.counters;
    this.#latency = options.latency ?? null;
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      this.#closed = true;
      this.#releaseUnwritten();
    });
  }

  /** Slots that will never be flushed: what they refer to is free (written ones were told by their write). */
  #releaseUnwritten(): void {
    for (let i = this.#slotsHead; i < this.#slots.length; i++) {
      const slot = this.#slots[i]!;
      const written = slot.written;
      slot.written = null;
      written?.();
    }
  }

  get closed(): boolean { return this.#closed; }

  close(why: string, key: string): void {
    if (this.#closed) return;
    this.#log.limited('warn', key, `closing connection from ${this.clientHost}: ${why}`);
    this.#counters.connectionsClosedForBadInput += 1;
    this.#closed = true;
    this.socket.destroy();
  }

  /**
   * Closes once every answer so far is written (after a failed SASL authentication: the client
   * reads why, then the connection ends), destroying it if the client has not hung up by END_WAIT_MS.
   */
  endAfterAnswers(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), END_WAIT_MS).unref();
  }

  /** The SASL session authenticated: frames may now be up to `requestBytesMax`. */
  onAuthenticated(): void {
    this.#splitter.requestBytesMax = this.#requestBytesMax;
  }

  /** Answers a raw SASL token (after a SaslHandshake v0): 4 size bytes and the token, in request order. */
  respondRawToken(token: Buffer): void {
    const frame = Buffer.allocUnsafe(4 + token.length);
    frame.writeInt32BE(token.length, 0);
    token.copy(frame, 4);
    this.#slots.push({ frame, done: true, written: null });
    this.flush();
  }

  /** Encodes one response frame into a buffer of its own (the socket may hold it a while). */
  encode<Q, S>(api: ApiDefinition<Q, S>, version: number, correlationId: number, body: S): Buffer {
    const view = encodeResponseFrame(this.#writer, api, version, correlationId, body);
    const frame = Buffer.allocUnsafe(view.length);
    view.copy(frame);
    return frame;
  }

  /**
   * The same frame as encode, as parts for one corked write: the writer's bytes between the
   * records are copied into one buffer of their own, the large records are referenced.
   */
  encodeGathered<Q, S>(api: ApiDefinition<Q, S>, version: number, correlationId: number, body: S): Buffer[] {
    const parts = encodeResponseFrameGather(this.#writer, api, version, correlationId, body, GATHER_BYTES_MIN);
    const writerMemory = this.#writer.buffer.buffer;
    let ownBytes = 0;
    for (const part of parts) if (part.buffer === writerMemory) ownBytes += part.length;
    const own = Buffer.allocUnsafe(ownBytes);
    let position = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.buffer !== writerMemory) continue;
      part.copy(own, position);
      parts[i] = own.subarray(position, position + part.length);
      position += part.length;
    }
    return parts;
  }

  /** A request's slot was just filled: its latency is recorded and what is in order goes out. */
  answered(apiKey: number, startedMs: number): void {
    this.#latency?.observe(apiKey, startedMs);
    this.flush();
  }

  flush(): void {
    while (this.#slotsHead < this.#slots.length && this.#slots[this.#slotsHead]!.done) {
      const slot = this.#slots[this.#slotsHead]!;
      this.#slots[this.#slotsHead] = undefined as unknown as Slot;
      this.#slotsHead += 1;
      const written = slot.written;
      slot.written = null;
      if (slot.frame === null || this.#closed) {
        written?.();
        continue;
      }
      if (!Array.isArray(slot.frame)) {
        this.socket.write(slot.frame, written === null ? undefined : () => written());
        continue;
      }
      // The parts leave in one writev; its callback (also run, with an error, when the socket is
      // destroyed first) says the socket is done with them.
      this.socket.cork();
      const last = slot.frame.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(slot.frame[i]!);
      this.socket.write(slot.frame[last]!, written === null ? undefined : () => written());
      this.socket.uncork();
    }
    if (this.#slotsHead === this.#slots.length) {
      this.#slots.length = 0;
      this.#slotsHead = 0;
    }
    if (this.#paused && this.#slots.length - this.#slotsHead < INFLIGHT_REQUESTS_MAX / 2) {
      this.#paused = false;
      // Held chunks go first, outside this flush (it may run inside a frame's dispatch).
      if (this.#held.length > 0) setImmediate(() => this.#takeHeld());
      else this.socket.resume();
    }
  }

  #takeHeld(): void {
    while (this.#held.length > 0 && !this.#paused && !this.#closed) this.#take(this.#held.shift()!);
    if (this.#held.length === 0 && !this.#paused && !this.#closed) this.socket.resume();
  }

  /** Where the socket's next read may land in place (FrameSplitter.readTarget), or null. */
  readTarget(): Buffer | null {
    return this.#closed || this.#paused || this.#held.length > 0 ? null : this.#splitter.readTarget();
  }

  /** One chunk read from the socket (valid only during the call: the read buffer is reused). */
  onData(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#paused || this.#held.length > 0) {
      this.#held.push(Buffer.from(chunk));
      return;
    }
    this.#take(chunk);
  }

  #take(chunk: Buffer): void {
    this.#splitter.push(chunk);
    for (;;) {
      const frame = this.#splitter.next();
      if (frame === 'more') break;
      this.#counters.framesReceived += 1;
      if (frame === 'oversize') {
        return this.close(`request of ${this.#splitter.failedSizeBytes} bytes exceeds the limit of ` +
          `${this.#splitter.requestBytesMax} (${this.#splitter.requestBytesMax < this.#requestBytesMax
            ? 'before SASL authentication' : '--request-bytes-max'})`, 'oversize');
      }
      if (frame === 'malformed') return this.close(`negative frame size ${this.#splitter.failedSizeBytes}`,
        'malformed');
      this.#onFrame(frame);
      if (this.#closed) return;
    }
    if (!this.#paused && this.#slots.length - this.#slotsHead >= INFLIGHT_REQUESTS_MAX) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  /** See RequestContext.keepFrame. */
  keepFrame(frame: Buffer): (() => void) | null {
    const buffer = this.#splitter.adoptFrame(frame);
    if (buffer === null) return null;
    let kept = true;
    return () => {
      if (!kept) return;
      kept = false;
      this.#splitter.returnBuffer(buffer);
    };
  }

  #onFrame(frame: Buffer): void {
    if (this.sasl !== null && this.sasl.expectsRawToken) {
      return this.#onRawSaslToken?.(this, frame);
    }
    const header = this.#header;
    const reader = this.#reader;
    reader.reset(frame);
    try {
      readRequestHeader(reader, header);
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      return this.close(`malformed request header: ${error.message}`, 'header');
    }
    this.requests += 1;
    const disposition = requestDisposition(header.apiKey, header.apiVersion);
    if (disposition === 'close-unknown-api') return this.close(`unknown API key ${header.apiKey}`, 'unknown-api');
    if (disposition === 'close-unsupported-version') {
      return this.close(`API key ${header.apiKey} version ${header.apiVersion} is not supported`,
        'unsupported-version');
    }
    if (this.sasl !== null && !this.sasl.allows(header.apiKey)) {
      this.#counters.unauthenticatedRequests = (this.#counters.unauthenticatedRequests ?? 0) + 1;
      return this.close(`API key ${header.apiKey} before SASL authentication (only ApiVersions, SaslHandshake and `
        + 'SaslAuthenticate are answered until then; is the client set to security.protocol=SASL_*?)',
      'sasl-unauthenticated');
    }
    const slot: Slot = { frame: null, done: false, written: null };
    this.#slots.push(slot);
    if (disposition === 'api-versions-fallback') {
      const view = encodeApiVersionsFallback(this.#writer, header.correlationId);
      slot.frame = Buffer.from(view);
      slot.done = true;
      this.flush();
      return;
    }
    const registered = lookupApi(header.apiKey)!;
    let request: unknown;
    try {
      request = registered.api.request.decode(reader, header.apiVersion);
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      return this.close(`malformed ${registered.api.name} v${header.apiVersion} request: ${error.message}`,
        `body-${header.apiKey}`);
    }
    const context = new RequestContext(this, header, slot, frame, this.#latency === null ? 0 : performance.now());
    if (disposition === 'unsupported-version-reply') {
      // Produce v0-2: advertised for librdkafka's feature probe, answered per partition.
      const produceRequest = request as ProduceRequest;
      if (produceRequest.acks === 0) context.noResponse();
      else context.respond(produce, produceErrorResponse(produceRequest, KAFKA_ERROR.UNSUPPORTED_VERSION));
      return;
    }
    try {
      this.#dispatch(context, request);
    } catch (error) {
      // A handler bug must not take the gateway down: log it and drop this client.
      this.#log.limited('error', `handler-${header.apiKey}`, `${registered.api.name} handler failed: ` +
        `${(error as Error).stack ?? String(error)}`, 60_000);
      this.close('internal error while handling a request', 'handler');
    }
  }
}
