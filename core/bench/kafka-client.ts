/**
 * The bench's own Kafka client connection: one TCP socket to one broker with pipelined
 * requests. Requests are written as soon as they are made; responses come back in request
 * order (Kafka's rule per connection) and are matched to the oldest pending request by
 * correlation id, so a mismatch is a protocol error that closes the connection. Admin and
 * fetch calls get a promise each; produce uses a callback per request (not per record).
 *
 * It sits under core/bench/targets/kafka.ts and uses the shared codecs in core/kafka.
 * Bounds: at most `inFlightMax` produce requests wait for responses (the caller checks
 * `canSend`); frames above `responseBytesMax` close the connection; connecting gives up after
 * `connectTimeoutMs` (the TLS handshake included). Any socket error fails every pending request
 * with the same error. With TLS files the connection speaks TLS (Kafka's security.protocol=SSL):
 * the gateway's certificate is verified against `ca` (Node's bundled CAs when null) and the
 * address connected to, as Kafka clients do. With SASL credentials the connection authenticates
 * (SaslHandshake v1, then SaslAuthenticate v1 carrying PLAIN or SCRAM tokens) before `connect`
 * resolves, within the same `connectTimeoutMs`; a SCRAM server must prove it knows the credential.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { X2Error } from '../base/errors.ts';
import { TLS_VERSION_MIN, type TlsClientFiles } from '../base/tls-files.ts';
import { saslHandshake } from '../kafka/api/17-sasl-handshake.ts';
import { apiVersions } from '../kafka/api/18-api-versions.ts';
import { saslAuthenticate } from '../kafka/api/36-sasl-authenticate.ts';
import type { SaslClientCredentials } from '../kafka/sasl-mechanisms.ts';
import { encodePlainToken } from '../kafka/sasl-plain.ts';
import { ScramClientExchange } from '../kafka/sasl-scram.ts';
import type { ApiDefinition } from '../kafka/codec/define-api.ts';
import { KafkaReader } from '../kafka/codec/reader.ts';
import { KafkaWriter } from '../kafka/codec/writer.ts';
import { FrameSplitter } from '../kafka/framing.ts';
import { kafkaErrorName } from '../kafka/kafka-errors.ts';
import { encodeRequestFrame } from '../kafka/registry.ts';

export const CLIENT_ID = 'x2-bench';
export const RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

export type BrokerAddress = { host: string; port: number };

/** Handles one response body (the reader is positioned after the response header) or a failure. */
export type ResponseHandler = (reader: KafkaReader | null, error: Error | null) => void;

type Pending = { correlationId: number; flexible: boolean; handle: ResponseHandler };

export class KafkaConnectionError extends X2Error {
  constructor(message: string, cause?: unknown) {
    super('X2_ERR_IO', message, cause === undefined ? undefined : { cause });
  }
}

export class KafkaConnection {
  readonly address: BrokerAddress;
  readonly #socket: net.Socket;
  readonly #splitter = new FrameSplitter(RESPONSE_BYTES_MAX);
  readonly #reader = new KafkaReader(Buffer.alloc(0));
  readonly #writer = new KafkaWriter(64 * 1024 * 1024);
  readonly #pending: Pending[] = [];
  #pendingHead = 0;
  #nextCorrelationId = 1;
  #failure: Error | null = null;
  /** Highest version the broker serves per API key (from ApiVersions). */
  readonly versionMax = new Map<number, number>();
  readonly versionMin = new Map<number, number>();

  /** Whether any response came: a plaintext port that closes at once may well speak TLS. */
  #answered = false;
  #authenticated = false;

  private constructor(address: BrokerAddress, socket: net.Socket, isTls: boolean) {
    this.address = address;
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(new KafkaConnectionError(
      `kafka://${address.host}:${address.port}: ${error.message}`, error)));
    socket.on('close', () => this.#fail(new KafkaConnectionError(
      `kafka://${address.host}:${address.port}: the broker closed the connection` + (this.#answered || isTls ? ''
        : ' before answering (a TLS port? then --tls-ca)') + (this.versionMax.has(saslHandshake.apiKey)
        && !this.#authenticated ? ' (the port requires SASL: --sasl-username, --sasl-mechanism)' : ''))));
  }

  /** A connection, authenticated with `sasl` when given; everything within `connectTimeoutMs`. */
  static async connect(address: BrokerAddress, connectTimeoutMs: number, tlsFiles: TlsClientFiles | null = null,
    sasl: SaslClientCredentials | null = null): Promise<KafkaConnection> {
    const startedMs = Date.now();
    const connection = await KafkaConnection.#open(address, connectTimeoutMs, tlsFiles);
    if (sasl === null) return connection;
    const timer = setTimeout(() => connection.close(), Math.max(1, connectTimeoutMs - (Date.now() - startedMs)));
    try {
      await connection.authenticate(sasl);
    } catch (error) {
      connection.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  static #open(address: BrokerAddress, connectTimeoutMs: number, tlsFiles: TlsClientFiles | null):
  Promise<KafkaConnection> {
    return new Promise((resolve, reject) => {
      const socket = tlsFiles === null ? net.connect({ host: address.host, port: address.port })
        : tls.connect({ host: address.host, port: address.port, minVersion: TLS_VERSION_MIN,
          ...(tlsFiles.ca === null ? {} : { ca: tlsFiles.ca }),
          ...(tlsFiles.cert === null || tlsFiles.key === null ? {} : { cert: tlsFiles.cert, key: tlsFiles.key }) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaConnectionError(
          `kafka://${address.host}:${address.port}: no connection within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        const what = tlsFiles === null ? '' : 'TLS: ';
        reject(new KafkaConnectionError(`kafka://${address.host}:${address.port}: ${what}${error.message}`, error));
      });
      socket.once(tlsFiles === null ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(address, socket, tlsFiles !== null));
      });
    });
  }

  /**
   * SASL as Kafka's SASL_PLAINTEXT/SASL_SSL clients do it: SaslHandshake v1 names the mechanism,
   * SaslAuthenticate v1 carries each token. Throws with the gateway's message on a refusal.
   */
  async authenticate(sasl: SaslClientCredentials): Promise<void> {
    const where = `kafka://${this.address.host}:${this.address.port}: SASL ${sasl.mechanism}`;
    const handshake = await this.request(saslHandshake, 1, { mechanism: sasl.mechanism });
    if (handshake.errorCode !== 0) {
      throw new KafkaConnectionError(`${where}: refused (${kafkaErrorName(handshake.errorCode)}; the gateway `
        + `enables ${handshake.mechanisms.join(', ') || 'none'})`);
    }
    const send = async (token: Buffer): Promise<Buffer> => {
      const response = await this.request(saslAuthenticate, 1, { authBytes: token });
      if (response.errorCode !== 0) {
        throw new KafkaConnectionError(`${where}: ${response.errorMessage ?? kafkaErrorName(response.errorCode)}`);
      }
      return response.authBytes;
    };
    if (sasl.mechanism === 'PLAIN') await send(encodePlainToken(sasl.username, sasl.password));
    else {
      const scram = new ScramClientExchange(sasl.mechanism, sasl.username, sasl.password);
      const serverFirst = await send(scram.first());
      let clientFinal: Buffer;
      try {
        clientFinal = scram.final(serverFirst);
      } catch (error) {
        throw new KafkaConnectionError(`${where}: ${(error as Error).message}`);
      }
      const serverFinal = await send(clientFinal);
      try {
        scram.verify(serverFinal);
      } catch (error) {
        throw new KafkaConnectionError(`${where}: ${(error as Error).message}`);
      }
    }
    this.#authenticated = true;
  }

  /** Asks ApiVersions (v0, which every broker answers) and records the served ranges. */
  async negotiate(): Promise<void> {
    const response = await this.request(apiVersions, 0, { clientSoftwareName: CLIENT_ID, clientSoftwareVersion: '1' });
    if (response.errorCode !== 0) {
      throw new KafkaConnectionError(`ApiVersions failed: ${kafkaErrorName(response.errorCode)}`);
    }
    for (const entry of response.apiKeys) {
      this.versionMax.set(entry.apiKey, entry.maxVersion);
      this.versionMin.set(entry.apiKey, entry.minVersion);
    }
  }

  /** The highest version both sides speak for `api`, or an error naming the API. */
  pickVersion(api: { apiKey: number; name: string }, ourMin: number, ourMax: number): number {
    const brokerMax = this.versionMax.get(api.apiKey);
    const brokerMin = this.versionMin.get(api.apiKey) ?? 0;
    const version = Math.min(ourMax, brokerMax ?? -1);
    if (brokerMax === undefined || version < Math.max(ourMin, brokerMin)) {
      throw new KafkaConnectionError(`the broker does not serve ${api.name} versions ${ourMin}-${ourMax} ` +
        `(it serves ${brokerMax === undefined ? 'none' : `${brokerMin}-${brokerMax}`})`);
    }
    return version;
  }

  get inFlight(): number {
    return this.#pending.length - this.#pendingHead;
  }

  /** Bytes written but not yet handed to the kernel. */
  get writableBytes(): number {
    return this.#socket.writableLength;
  }

  get failure(): Error | null {
    return this.#failure;
  }

  nextCorrelationId(): number {
    const id = this.#nextCorrelationId;
    this.#nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Sends a request through the shared codecs and resolves with its decoded response. */
  request<Q, S>(api: ApiDefinition<Q, S>, version: number, body: Q): Promise<S> {
    return new Promise((resolve, reject) => {
      const correlationId = this.nextCorrelationId();
      let frame: Buffer;
      try {
        frame = Buffer.from(encodeRequestFrame(this.#writer, api, version, correlationId, CLIENT_ID, body));
      } catch (error) {
        reject(error);
        return;
      }
      this.sendFrame(frame, correlationId, version >= api.flexibleVersionMin && api.apiKey !== 18, (reader, error) => {
        if (error !== null || reader === null) reject(error ?? new Error('no response'));
        else {
          try {
            resolve(api.response.decode(reader, version));
          } catch (decodeError) {
            reject(decodeError);
          }
        }
      });
    });
  }

  /**
   * Writes a prepared request frame (size prefix included). `handle` is null when no
   * response comes (Produce with acks=0). The frame must not be reused by the caller.
   */
  sendFrame(frame: Buffer, correlationId: number, flexibleResponse: boolean, handle: ResponseHandler | null): void {
    if (this.#failure !== null) {
      if (handle !== null) handle(null, this.#failure);
      return;
    }
    if (handle !== null) this.#pending.push({ correlationId, flexible: flexibleResponse, handle });
    this.#socket.write(frame);
  }

  /**
   * Like sendFrame, for a frame in parts (header pieces and record batches, written in one corked
   * writev): the batches are not copied into a frame. `onWritten` runs once the socket no longer
   * needs the parts (written, or failed), so their buffers can be reused.
   */
  sendFrameParts(parts: Buffer[], correlationId: number, handle: ResponseHandler | null,
    onWritten: () => void): void {
    if (this.#failure !== null) {
      if (handle !== null) handle(null, this.#failure);
      onWritten();
      return;
    }
    if (handle !== null) this.#pending.push({ correlationId, flexible: false, handle });
    this.#socket.cork();
    for (let i = 0; i < parts.length - 1; i++) this.#socket.write(parts[i]!);
    this.#socket.write(parts[parts.length - 1]!, () => onWritten());
    this.#socket.uncork();
  }

  close(): void {
    this.#socket.destroy();
    this.#fail(new KafkaConnectionError(`kafka://${this.address.host}:${this.address.port}: connection closed`));
  }

  #onData(chunk: Buffer): void {
    this.#answered = true;
    this.#splitter.push(chunk);
    for (;;) {
      const frame = this.#splitter.next();
      if (frame === 'more') return;
      if (frame === 'oversize' || frame === 'malformed') {
        this.#socket.destroy();
        this.#fail(new KafkaConnectionError(`response frame is ${frame} (size ${this.#splitter.failedSizeBytes})`));
        return;
      }
      const pending = this.#pending[this.#pendingHead];
      if (pending === undefined) {
        this.#socket.destroy();
        this.#fail(new KafkaConnectionError('the broker sent a response nobody asked for'));
        return;
      }
      this.#pending[this.#pendingHead] = undefined as never;
      this.#pendingHead++;
      if (this.#pendingHead > 1024 && this.#pendingHead * 2 > this.#pending.length) {
        this.#pending.splice(0, this.#pendingHead);
        this.#pendingHead = 0;
      }
      const reader = this.#reader;
      reader.reset(frame);
      const correlationId = frame.length >= 4 ? reader.readInt32() : -1;
      if (correlationId !== pending.correlationId) {
        this.#socket.destroy();
        const error = new KafkaConnectionError(
          `response correlation id ${correlationId} does not match the oldest request (${pending.correlationId})`);
        pending.handle(null, error);
        this.#fail(error);
        return;
      }
      if (pending.flexible) reader.skipTaggedFields();
      pending.handle(reader, null);
    }
  }

  #fail(error: Error): void {
    if (this.#failure === null) this.#failure = error;
    const pending = this.#pending.splice(this.#pendingHead);
    this.#pending.length = 0;
    this.#pendingHead = 0;
    for (const entry of pending) entry.handle(null, this.#failure);
  }
}
