/**
 * The gateway role: the Kafka edge of x2. It listens for Kafka clients (connection.ts), joins
 * the river as a subscriber (RiverMember) to learn everything that is committed (gateway-state.ts),
 * appends producers' batches and its own internal records through the sequencer (AppendClient),
 * and reads history from commits (history-reader.ts). API handlers live beside it, one file per
 * family: produce, fetch, admin (metadata, topics, offsets, configs) and groups.
 *
 * Start: the gateway serves only after it has replayed the river up to the head the sequencer
 * welcomed it with, so its topics, offsets and indexes are complete. Every GATEWAY_HEARTBEAT_MS
 * it appends an `alive` record (membership.ts); on a clean stop a `left` record.
 *
 * TLS: with `tls` set the Kafka port speaks TLS only (tls-listener.ts); without it, plaintext
 * connections read through one reused buffer each (reused-read-buffer.ts).
 *
 * SASL: with `sasl` set every connection must authenticate first (sasl-session.ts, sasl-handlers.ts);
 * with TLS too, that is Kafka's SASL_SSL.
 *
 * Bounds: requests at most `requestBytesMax`; Fetch answers at most FETCH_BYTES_MAX; the tail
 * cache `cacheBytesMax`; AppendClient in-flight appends APPENDS_INFLIGHT_MAX; TLS handshakes
 * TLS_HANDSHAKE_TIMEOUT_MS.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ADOPTABLE_SERVER_OPTIONS, adoptWithReadBuffer, readTlsWithBuffer } from '../../base/reused-read-buffer.ts';
import type { Log } from '../../base/log.ts';
import type { TlsServerFiles } from '../../base/tls-files.ts';
import { REPLAY_STALL_MS, waitWhileProgressing } from '../../base/wait-progress.ts';
import { ControlState, type ApplyOutcome } from '../../control/control-state.ts';
import { KafkaWriter } from '../../kafka/codec/writer.ts';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { counterFrom, gaugeFrom, type Registry } from '../../metrics/metrics.ts';
import { AppendClient } from '../../river/append-client.ts';
import type { RiverMode, Welcome } from '../../river/messages.ts';
import { registerMemberMetrics } from '../../river/member-metrics.ts';
import { RiverMember } from '../../river/river-member.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { Connection, type RequestContext } from './connection.ts';
import { dispatchAdmin } from './admin-handlers.ts';
import { dispatchGroups } from './group-handlers.ts';
import { RequestLatency } from './request-latency.ts';
import { FetchWaiters, handleFetch } from './fetch-handler.ts';
import { GatewayState } from './gateway-state.ts';
import { HistoryReader } from './history-reader.ts';
import { buildInternalBatch, INTERNAL_VALUES_MAX } from './internal-batch.ts';
import {
  encodeAlive, encodeLeft, GATEWAY_HEARTBEAT_MS, GATEWAYS_STREAM_ID, stableHash, type GatewayAddress,
} from './membership.ts';
import { handleProduce } from './produce-handler.ts';
import { startRetention } from './retention.ts';
import { handleRawSaslToken, handleSaslAuthenticate, handleSaslHandshake } from './sasl-handlers.ts';
import { SaslSession } from './sasl-session.ts';
import { SaslUsers, type SaslServerOptions } from './sasl-users.ts';
import type { SaslAuthenticateRequest } from '../../kafka/api/36-sasl-authenticate.ts';
import type { SaslHandshakeRequest } from '../../kafka/api/17-sasl-handshake.ts';
import { createTlsKafkaServer, type HandshakeFailure } from './tls-listener.ts';

export const FETCH_BYTES_MAX = 32 * 1024 * 1024;
export const APPENDS_INFLIGHT_MAX = 4096;
/** The appender link tells every committed-seq advance; this poll only covers a link that is down. */
const COMMITTED_POLL_MS = 20;
/** Each connection reads into one buffer of this size, reused (Node's own reads are 64 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;
/** Between tries of the outcome barrier's append while the sequencer is away. */
const OUTCOME_RETRY_MS = 100;
/** Spare request buffers kept for large Produce requests, over all connections (~32 requests of 2 MiB). */
const REQUEST_SPARES_BYTES_MAX = 64 * 1024 * 1024;
const GROUP_TICK_MS = 50;

export type GatewayOptions = {
  nodeId: number;
  listenHost: string;
  listenPort: number;
  /** Host and port clients are told to connect to; port 0 = the listening port. */
  advertisedHost: string;
  advertisedPort: number;
  sequencer: string;
  river: RiverMode;
  interfaceAddress: string | null;
  requestBytesMax: number;
  cacheBytesMax: number;
  autoCreateTopics: boolean;
  partitionCountDefault: number;
  sessionTimeoutMsMin: number;
  initialRebalanceDelayMs: number;
  clusterId: string;
  /** Commits in the cluster (replication factors above it are refused); 0 = as the sequencer's welcome lists. */
  commitCount: number;
  /** How often the controller gateway checks topic retention (retention.ts). */
  retentionCheckMs: number;
  /** Certificate, key and optional client CA: the Kafka port speaks TLS only. Null: plaintext. */
  tls: TlsServerFiles | null;
  /** Users and mechanisms: clients must authenticate with SASL first. Null: no authentication. */
  sasl?: SaslServerOptions | null;
  log: Log;
  registry: Registry;
};

export class Gateway {
  readonly options: GatewayOptions;
  readonly log: Log;
  readonly state: GatewayState;
  readonly appender: AppendClient;
  readonly member: RiverMember;
  readonly history: HistoryReader;
  readonly groups: GroupCoordinator;
  readonly fetchWaiters: FetchWaiters;
  readonly writer = new KafkaWriter(FETCH_BYTES_MAX + 1024 * 1024);
  /** Request buffers of large Produce requests, given back once their batches reached the sequencer's link. */
  readonly requestSpares = new SpareBuffers(REQUEST_SPARES_BYTES_MAX);
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #timers: NodeJS.Timeout[] = [];
  #self: GatewayAddress;
  #producerIdMs = 0;
  #producerIdCount = 0;
  #closing = false;
  /** The barrier for appends whose outcome a lost link left unknown, and the loss it is for. */
  #outcomeBarrier: { linksLost: number; done: Promise<void> } | null = null;
  // Counters.
  requestsServed = 0;
  connectionsOpened = 0;
  /** Fetch partitions answered with a copy of cached batches (answer-holds.ts: the bound). */
  fetchPartitionsCopied = 0;
  readonly counters = { framesReceived: 0, connectionsClosedForBadInput: 0, unauthenticatedRequests: 0 };
  tlsHandshakeFailures = 0;
  saslAuthentications = 0;
  saslFailures = 0;
  /** Built once at start (SCRAM credentials cost PBKDF2 per user); null without SASL. */
  readonly #saslUsers: SaslUsers | null;
  readonly #requestLatency: RequestLatency;

  private constructor(options: GatewayOptions) {
    this.options = options;
    this.log = options.log;
    this.#saslUsers = options.sasl === undefined || options.sasl === null ? null : new SaslUsers(options.sasl);
    this.state = new GatewayState({
      control: new ControlState({ partitionCountDefault: options.partitionCountDefault }),
      cacheBytesMax: options.cacheBytesMax, log: options.log,
    });
    this.appender = new AppendClient(options.sequencer, { inflightMax: APPENDS_INFLIGHT_MAX,
      onCommittedSeq: (committedSeq) => this.state.advanceCommitted(committedSeq) });
    this.member = new RiverMember({
      sequencer: options.sequencer, river: options.river, interfaceAddress: options.interfaceAddress, listen: null,
      loss: null, log: options.log, repairHeadersOnly: true,
    }, {
      hello: () => Promise.resolve({ role: 'subscriber', memberId: `gateway-${options.nodeId}` }),
      welcome: (welcome) => Promise.resolve(this.state.welcome(welcome)),
      deliver: (entry) => this.state.deliver(entry),
      holdsFrame: (own) => this.state.frames.claim(own),
    });
    this.state.frames.bindRecycle((own) => this.member.recycleFrame(own));
    this.history = new HistoryReader(() => this.member.welcome?.peers ?? [], options.log);
    this.groups = new GroupCoordinator({
      sessionTimeoutMsMin: options.sessionTimeoutMsMin, initialRebalanceDelayMs: options.initialRebalanceDelayMs,
    });
    this.fetchWaiters = new FetchWaiters(this);
    this.state.onApplied(() => this.fetchWaiters.recheck());
    this.#server = options.tls === null
      ? createServer(ADOPTABLE_SERVER_OPTIONS, (socket) => this.#onConnection(socket))
      : createTlsKafkaServer(options.tls, (socket) => this.#onTlsConnection(socket),
        (failure, remoteAddress) => this.#onHandshakeFailure(failure, remoteAddress));
    this.#self = { nodeId: options.nodeId, host: options.advertisedHost, port: options.advertisedPort };
    const registry = options.registry;
    this.#requestLatency = new RequestLatency(registry);
    counterFrom(registry, 'x2_gateway_requests_total', 'Kafka requests received', () => this.requestsServed);
    counterFrom(registry, 'x2_gateway_fetch_partitions_copied_total',
      'Fetch partitions whose cached batches were copied, not referred to (they would keep too much memory)',
      () => this.fetchPartitionsCopied);
    counterFrom(registry, 'x2_gateway_request_buffers_allocated_total',
      'buffers allocated for large Produce requests kept until sent on (the rest reuse spares)',
      () => this.requestSpares.allocated);
    counterFrom(registry, 'x2_gateway_frame_buffers_allocated_total',
      'river frame buffers allocated (the rest reuse buffers the tail cache gave back)',
      () => this.member.frameBuffersAllocated);
    counterFrom(registry, 'x2_gateway_frame_buffers_reused_total',
      'river frame buffers and slabs given back for reuse once no cached batch referred to them',
      () => this.state.frames.recycled);
    counterFrom(registry, 'x2_gateway_slabs_allocated_total',
      'slabs allocated to hold small cached batches (the rest reuse slabs the tail cache gave back)',
      () => this.state.slabsAllocated);
    counterFrom(registry, 'x2_gateway_connections_total', 'Kafka connections accepted', () => this.connectionsOpened);
    counterFrom(registry, 'x2_gateway_frames_total', 'Kafka frames received, bad ones included',
      () => this.counters.framesReceived);
    counterFrom(registry, 'x2_gateway_bad_input_closes_total', 'connections closed for bad input',
      () => this.counters.connectionsClosedForBadInput);
    counterFrom(registry, 'x2_gateway_tls_handshake_failures_total', 'TLS handshakes that failed or timed out '
      + '(plaintext clients on the TLS port included); 0 without TLS', () => this.tlsHandshakeFailures);
    counterFrom(registry, 'x2_gateway_sasl_authentications_total', 'SASL authentications that succeeded; 0 without '
      + 'SASL', () => this.saslAuthentications);
    counterFrom(registry, 'x2_gateway_sasl_failures_total', 'SASL authentications that failed (wrong user or '
      + 'password, bad token, mechanism not enabled); each closed its connection', () => this.saslFailures);
    counterFrom(registry, 'x2_gateway_sasl_unauthenticated_requests_total', 'requests other than ApiVersions and '
      + 'SASL before authentication on a SASL port; each closed its connection',
    () => this.counters.unauthenticatedRequests);
    gaugeFrom(registry, 'x2_gateway_connections', 'open Kafka connections', () => this.#connections.size);
    gaugeFrom(registry, 'x2_gateway_applied_seq', 'highest river seq applied', () => this.state.appliedSeq);
    gaugeFrom(registry, 'x2_gateway_tail_cache_bytes', 'bytes in the live-tail cache', () => this.state.cache.bytes);
    counterFrom(registry, 'x2_gateway_history_reads_total', 'history read requests sent to commits',
      () => this.history.reads);
    registerMemberMetrics(registry, this.member, { inPlace: false });
    gaugeFrom(registry, 'x2_river_committed_seq', 'committed seq as last heard', () => this.state.committedSeq);
  }

  /** Starts the role; resolves once the river is replayed and the Kafka port listens. */
  static async start(options: GatewayOptions, replayStallMs = REPLAY_STALL_MS): Promise<Gateway> {
    const gateway = new Gateway(options);
    gateway.member.start();
    gateway.#timers.push(setInterval(() => {
      gateway.state.advanceCommitted(Math.max(gateway.member.committedSeq, gateway.appender.committedSeq));
    }, COMMITTED_POLL_MS));
    await gateway.#waitReplayed(replayStallMs);
    await new Promise<void>((resolve, reject) => {
      gateway.#server.once('error', reject);
      gateway.#server.listen(options.listenPort, options.listenHost, () => {
        gateway.#server.off('error', reject);
        resolve();
      });
    });
    const address = gateway.#server.address();
    const port = typeof address === 'object' && address ? address.port : options.listenPort;
    gateway.#self = { ...gateway.#self, port: options.advertisedPort || port };
    gateway.#timers.push(setInterval(() => gateway.groups.tick(Date.now()), GROUP_TICK_MS));
    gateway.#timers.push(setInterval(() => gateway.#heartbeat(), GATEWAY_HEARTBEAT_MS));
    gateway.#heartbeat();
    gateway.#timers.push(startRetention(gateway, options.retentionCheckMs));
    return gateway;
  }

  get self(): GatewayAddress { return this.#self; }
  get listenPort(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /**
   * Until the river is applied up to what was sequenced when this gateway was welcomed
   * (replayTargetSeq): a gateway that restarts while the sequencer runs on must not serve from
   * older state (producers' sequences, offsets, watermarks). A large store takes long (every stored
   * entry is read from a commit): no deadline while the applied seq advances, progress logged
   * every 10 s, a failure after REPLAY_STALL_MS without any.
   */
  async #waitReplayed(stallMs: number): Promise<void> {
    await waitWhileProgressing({
      what: 'river replay', stallMs, progress: () => this.state.appliedSeq,
      isDone: () => {
        const welcome = this.member.welcome;
        return welcome !== null && this.member.live && this.state.appliedSeq >= replayTargetSeq(welcome)
          && this.appender.connected;
      },
      abortReason: () => (this.#closing ? 'stopped while replaying' : null),
      report: (appliedSeq) => this.log.info(
        `replaying the river: applied seq ${appliedSeq} of ${this.member.welcome === null ? '?'
          : replayTargetSeq(this.member.welcome)}`),
    });
  }

  /** Stops serving; a clean stop appends a `left` record first so the others stop listing it. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#server.close();
    for (const connection of this.#connections) connection.socket.destroy();
    await Promise.race([
      this.appendInternal(GATEWAYS_STREAM_ID, [encodeLeft(this.#self, Date.now())]).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1_000)),
    ]);
    this.groups.resign();
    this.fetchWaiters.close();
    this.member.close();
    this.appender.close();
    this.history.close();
  }

  /**
   * Resolves once this gateway has applied a seq sequenced after every append it had on links lost
   * so far: the outcome of each of those appends is then in its state (a committed batch applied,
   * or never to be). Its own append (a membership heartbeat) goes out on a later link and comes back
   * applied. One barrier per lost link, shared by the appends it failed.
   */
  outcomeBarrier(): Promise<void> {
    const linksLost = this.appender.linksLost;
    if (this.#outcomeBarrier?.linksLost === linksLost) return this.#outcomeBarrier.done;
    const barrier = { linksLost, done: this.#passOutcomes() };
    this.#outcomeBarrier = barrier;
    void barrier.done.then(() => { if (this.#outcomeBarrier === barrier) this.#outcomeBarrier = null; });
    return barrier.done;
  }

  async #passOutcomes(): Promise<void> {
    while (!this.#closing) {
      try {
        await this.appendInternal(GATEWAYS_STREAM_ID, [encodeAlive(this.#self, Date.now())]);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, OUTCOME_RETRY_MS));
      }
    }
  }

  #heartbeat(): void {
    this.appendInternal(GATEWAYS_STREAM_ID, [encodeAlive(this.#self, Date.now())]).catch((error: unknown) => {
      this.log.limited('warn', 'heartbeat', `membership heartbeat failed: ${String(error)}`);
    });
  }

  #onConnection(accepted: import('node:net').Socket): void {
    this.connectionsOpened += 1;
    let connection: Connection | null = null;
    const socket = adoptWithReadBuffer(accepted, READ_BUFFER_BYTES, (chunk) => connection?.onData(chunk),
      () => connection?.readTarget() ?? null);
    connection = this.#serve(socket);
  }

  /** A TLS client after its handshake: decrypted bytes land in a reused buffer too. */
  #onTlsConnection(socket: TLSSocket): void {
    this.connectionsOpened += 1;
    const connection = this.#serve(socket);
    readTlsWithBuffer(socket, READ_BUFFER_BYTES, (chunk) => connection.onData(chunk), () => connection.readTarget());
  }

  #serve(socket: Socket): Connection {
    const connection = new Connection(socket, {
      requestBytesMax: this.options.requestBytesMax, writer: this.writer, log: this.log, counters: this.counters,
      spares: this.requestSpares, latency: this.#requestLatency,
      dispatch: (context, request) => this.#dispatch(context, request),
      sasl: this.#saslUsers === null ? null : { session: new SaslSession(this.#saslUsers),
        onRawToken: (from, token) => handleRawSaslToken(this, from, token) },
    });
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
    return connection;
  }

  #onHandshakeFailure(failure: HandshakeFailure, remoteAddress: string): void {
    this.tlsHandshakeFailures += 1;
    this.log.limited('warn', `tls-${failure.kind}`,
      `closing connection from ${remoteAddress}: TLS handshake failed: ${failure.reason}`);
  }

  #dispatch(context: RequestContext, request: unknown): void {
    this.requestsServed += 1;
    switch (context.apiKey) {
      case 0: return handleProduce(this, context, request);
      case 1: return handleFetch(this, context, request);
      case 17: return handleSaslHandshake(this, context, request as SaslHandshakeRequest);
      case 36: return handleSaslAuthenticate(this, context, request as SaslAuthenticateRequest);
      default:
        if (dispatchGroups(this, context, request)) return;
        return dispatchAdmin(this, context, request);
    }
  }

  /** Live gateways, sorted by node id (this one included). */
  liveGateways(): ReturnType<GatewayState['members']['live']> {
    return this.state.members.live(Date.now(), this.#self);
  }

  /** The gateway leading a partition: spread by (topicId + partition) over the live set. */
  leaderOf(topicId: number, partition: number, live = this.liveGateways()): number {
    return live[(topicId + partition) % live.length]!.nodeId;
  }

  /** The coordinator of a group: a stable hash of its id over the live set. */
  coordinatorOf(groupId: string, live = this.liveGateways()): GatewayAddress {
    return live[stableHash(groupId) % live.length]!;
  }

  /** Commits an acks=all produce waits for (the sequencer's write quorum); null before a welcome says. */
  writeQuorum(): number | null {
    const writeQuorum = this.member.welcome?.writeQuorum;
    return typeof writeQuorum === 'number' && Number.isSafeInteger(writeQuorum) ? writeQuorum : null;
  }

  /** Commits known to the sequencer (replication factors above it are refused). */
  commitCount(): number {
    if (this.options.commitCount > 0) return this.options.commitCount;
    return Math.max(1, this.member.welcome?.peers.length ?? 1);
  }

  /**
   * A producer id unique in the cluster without coordination: the millisecond clock times 4096
   * plus node id (6 bits) and a counter (6 bits) within the millisecond.
   */
  nextProducerId(): number {
    let nowMs = Date.now();
    if (nowMs <= this.#producerIdMs) {
      if (this.#producerIdCount >= 63) {
        nowMs = this.#producerIdMs + 1;
        this.#producerIdCount = 0;
      } else {
        nowMs = this.#producerIdMs;
        this.#producerIdCount += 1;
      }
    } else {
      this.#producerIdCount = 0;
    }
    this.#producerIdMs = nowMs;
    return nowMs * 4096 + (this.options.nodeId % 64) * 64 + this.#producerIdCount;
  }

  /**
   * Appends internal records (one batch) to `streamId` and resolves once the entry has come
   * back from the river committed and been applied here, with the control outcomes.
   */
  async appendInternal(streamId: number, values: readonly Uint8Array[]): Promise<ApplyOutcome[]> {
    const outcomes: ApplyOutcome[] = [];
    for (let start = 0; start < values.length; start += INTERNAL_VALUES_MAX) {
      const batch = buildInternalBatch(values.slice(start, start + INTERNAL_VALUES_MAX));
      const { firstSeq } = await this.appender.appendAsync([{ streamId, recordCount: Math.min(INTERNAL_VALUES_MAX,
        values.length - start), batch }]);
      outcomes.push(...await new Promise<ApplyOutcome[]>((resolve) => this.state.whenApplied(firstSeq, resolve)));
    }
    return outcomes;
  }
}

/**
 * The seq a starting gateway applies before it serves: the sequencer's last seq when it welcomed
 * this gateway (everything sequenced before, a killed gateway's appends included), at least the
 * recovered head. The head alone is only where the sequencer's own epoch began.
 */
export function replayTargetSeq(welcome: Welcome): number {
  return Math.max(welcome.headSeq, welcome.nextSeq - 1);
}
