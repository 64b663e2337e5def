/**
 * The sequencer role: turns racing appends into one ordered river. Each entry of an append gets the
 * river's next seq and its stream's next offsets (only baseOffset, bytes 0-7, and
 * partitionLeaderEpoch, bytes 12-15, of the RecordBatch are patched, in the copy that goes out),
 * is framed into the retransmit ring and sent: once on the multicast group, and over the link to
 * every unicast member. Appenders hear (seq, baseOffsets) at once and the committed seq later.
 *
 * Committed seq: the W-th highest durable seq reported by the ready commits (W = write quorum).
 * Appenders also hear the durable-on-one seq (the highest durable seq of any ready commit), which
 * answers Kafka's acks=1. A conditional append (APPEND_IF) is sequenced only if each named stream's
 * next offset, at the moment of sequencing, is the one the appender expects; else it is refused
 * whole with X2_ERR_APPEND_CONDITION and the actual offsets. Stream next offsets are recovered from
 * the commits on restart, so the condition holds across sequencer generations (a fence for
 * exactly-once writers such as sidecars).
 * Flow control: the ring only evicts frames at or below the committed seq, so when it is full of
 * uncommitted frames the sequencer stops taking appends (appender sockets are paused) instead of
 * growing memory. A commit that fell behind the ring repairs from a peer commit.
 *
 * Recovery (every start, rules in recovery.ts): wait for max(W, R-W+1) commits to say hello, take the most advanced log
 * (last entry's epoch, then seq) as the head, set the next seq and every stream's next offset from
 * it, pick an epoch above every epoch any of them has seen, and welcome the commits: each truncates
 * a divergent never-acknowledged tail, repairs up to the head from the most advanced commit,
 * persists the new epoch and says ready. Appends are taken once W commits are ready, so every
 * epoch is stored on a write quorum and a later recovery (which hears R-W+1 commits) sees it.
 *
 * Pacing: at most SEND_WINDOW_BYTES of frames sent and not yet committed (send-window.ts), so the
 * river never runs further ahead of the commits than they can buffer.
 *
 * Bounds: ring bytes/frames fixed at start; at most APPEND_QUEUE_MAX appends and APPEND_QUEUE_BYTES_MAX
 * bytes waiting (past either, appender sockets are paused); a frame
 * coalesces appends up to FRAME_COALESCE_BYTES (a lost datagram of a large frame is NAKed and resent
 * alone, by fragment index); per-link backlog above LINK_BACKLOG_BYTES_MAX stops
 * live frames to that member (it NAKs and catches up from the ring or a peer), and above
 * RETRANSMIT_BACKLOG_BYTES_MAX its NAKs wait for their next repeat (no resends pile up).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pack } from 'msgpackr';
import { assert } from '../../base/assert.ts';
import type { Log } from '../../base/log.ts';
import { counterFrom, gaugeFrom, Gauge, Histogram, type Registry } from '../../metrics/metrics.ts';
import {
  BODY_BYTES_POSITION, ENTRY_HEADER_BYTES, FRAGMENT_INDEX_POSITION, FRAME_HEADER_BYTES, FRAME_KIND, fragmentedBytes,
  FragmentWriter, KIND_POSITION, readU64, rewriteHeaderCrc, writeFrameHeader, type RiverEntry,
} from '../../river/frame.ts';
import { LINK_MESSAGE_BYTES_MAX, LinkReader, LinkWriter } from '../../river/link.ts';
import {
  MESSAGE, readAppend, readAppendIf, readNakFragments, sendAppended, sendPacked, sendSeqPair, unpackBody,
  type AppendCondition, type EpochHistory, type Hello, type Ready, type RiverMode, type Welcome,
} from '../../river/messages.ts';
import { IP_UDP_HEADER_BYTES, MulticastSender } from '../../river/multicast.ts';
import { announceRiverDriver } from '../../river/multicast-driver.ts';
import { distinctCommits, planRecovery, recoveryQuorum, sameCommit } from './recovery.ts';
import { RetransmitRing } from '../../river/retransmit-ring.ts';
import { SendWindow } from './send-window.ts';
import { AppendArena } from './append-arena.ts';
import { ADOPTABLE_SERVER_OPTIONS, adoptWithReadBuffer } from '../../base/reused-read-buffer.ts';

export const APPEND_QUEUE_MAX = 4096;
export const APPEND_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
export const FRAME_COALESCE_BYTES = 64 * 1024;
export const APPEND_BYTES_MAX = 8 * 1024 * 1024;
/** Uncommitted frame bytes at most (send-window.ts): about what a commit's socket and store buffer. */
export const SEND_WINDOW_BYTES = 16 * 1024 * 1024;
/** Each member link reads into one reused buffer of this size (few links, much traffic). */
const READ_BUFFER_BYTES = 256 * 1024;
export const LINK_BACKLOG_BYTES_MAX = 32 * 1024 * 1024;
export const RETRANSMIT_BYTES_MAX = 1024 * 1024;
/**
 * A NAK that finds more than this waiting in its member's link is not served (counted as deferred).
 * A member repeats its NAK for a gap until the gap fills (after 20 ms, then backing off to every
 * 160 ms: NakSchedule); while its link drains slowly (a busy gateway), each repeat queued the same
 * frames again (at a fixed 20 ms then, up to 50 MB/s of duplicates per gap) and without bound: a
 * sequencer grew to 22 GB under librdkafka's test 0041 (500 KB messages). Deferred, the NAK is
 * served at a later repeat, once the resends drained.
 */
export const RETRANSMIT_BACKLOG_BYTES_MAX = 8 * 1024 * 1024;
const RECORD_BATCH_HEADER_BYTES = 61;
const LATENCY_FRAMES_MAX = 65536;

export type SequencerOptions = {
  listenHost: string;
  listenPort: number;
  replication: number;
  writeQuorum: number;
  /** Multicast group and port, or null for a unicast-only river. */
  group: string | null;
  groupPort: number;
  interfaceAddress: string | null;
  mtuBytes: number;
  ringBytes: number;
  riverId: number;
  heartbeatMs: number;
  log: Log;
  registry: Registry;
};

type Member = {
  id: number;
  socket: Socket;
  reader: LinkReader;
  writer: LinkWriter;
  hello: Hello | null;
  river: RiverMode;
  welcomed: boolean;
  ready: boolean;
  durableSeq: number;
  /** Appenders: the last seq of their appends sequenced so far, and the committed seq last sent to them. */
  sequencedSeq: number;
  noticedCommittedSeq: number;
};

type QueuedAppend = {
  member: Member; requestId: number; entries: RiverEntry[]; bodyBytes: number;
  /** APPEND_IF: checked when the append is sequenced (always the first append of its frame). */
  conditions: AppendCondition[] | null;
  /** Why a malformed append is refused: answered in its turn, so answers keep request order. */
  refusal: string | null;
  /** End of its payload's region in the append arena (released when it leaves the queue), or -1. */
  arenaEnd: number;
  /** Or the link reader's assembly buffer it was read into, taken over (given back when it leaves). */
  adopted: Buffer | null;
};

export class Sequencer {
  readonly options: SequencerOptions;
  readonly #server: Server;
  readonly #members = new Set<Member>();
  readonly #ring: RetransmitRing;
  readonly #window: SendWindow;
  #multicast: MulticastSender | null = null;
  #phase: 'recovering' | 'welcoming' | 'running' = 'recovering';
  #epoch = 0;
  #history: EpochHistory = [];
  #headSeq = 0;
  #nextSeq = 1;
  #committedSeq = 0;
  #durableOneSeq = 0;
  #committedSent = 0;
  #durableOneSent = 0;
  readonly #streamNext = new Map<number, number>();
  readonly #queue: QueuedAppend[] = [];
  // Queued appends' payloads; the queue's byte bound plus one largest append fits in it.
  readonly #arena = new AppendArena(APPEND_QUEUE_BYTES_MAX + APPEND_BYTES_MAX + 1024);
  #queueHead = 0;
  #queueBytes = 0;
  #paused = false;
  #drainScheduled = false;
  #sentSinceHeartbeat = false;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  readonly #fragmentWriter = new FragmentWriter();
  readonly #fragmentBodyBytesMax: number;
  #nextMemberId = 1;
  // Append-to-commit latency: (last seq, send time) per frame, a bounded ring.
  readonly #latencySeq = new Float64Array(LATENCY_FRAMES_MAX);
  readonly #latencyAtMs = new Float64Array(LATENCY_FRAMES_MAX);
  #latencyHead = 0;
  #latencySize = 0;
  readonly #latency: Histogram;
  // Counters.
  framesSent = 0;
  bytesSent = 0;
  bytesAppended = 0;
  entriesAppended = 0;
  naksReceived = 0;
  /** NAKs not served because the member's link was backed up (RETRANSMIT_BACKLOG_BYTES_MAX). */
  naksDeferred = 0;
  retransmits = 0;
  repairsOrdered = 0;
  appendsRejected = 0;
  appendConditionsFailed = 0;

  private constructor(options: SequencerOptions, server: Server) {
    this.options = options;
    this.#server = server;
    this.#ring = new RetransmitRing(options.ringBytes, Math.max(1024, Math.floor(options.ringBytes / 512)));
    this.#window = new SendWindow(Math.min(SEND_WINDOW_BYTES, options.ringBytes), this.#ring.framesMax);
    this.#fragmentBodyBytesMax = options.mtuBytes - IP_UDP_HEADER_BYTES - FRAME_HEADER_BYTES;
    assert(this.#fragmentBodyBytesMax >= 256, 'MTU too small for river frames');

    const registry = options.registry;
    counterFrom(registry, 'x2_river_frames_sent_total', 'river datagrams sent (multicast counts once)',
      () => this.framesSent);
    counterFrom(registry, 'x2_river_bytes_sent_total', 'river bytes sent, all drivers', () => this.bytesSent);
    counterFrom(registry, 'x2_river_bytes_appended_total', 'entry bytes appended', () => this.bytesAppended);
    counterFrom(registry, 'x2_river_entries_appended_total', 'entries sequenced', () => this.entriesAppended);
    counterFrom(registry, 'x2_river_naks_received_total', 'NAKs received from members', () => this.naksReceived);
    counterFrom(registry, 'x2_river_naks_deferred_total',
      'NAKs not served because the member\'s link held more than 8 MiB (served at its next repeat)',
      () => this.naksDeferred);
    gaugeFrom(registry, 'x2_river_link_backlog_bytes_max',
      'largest number of bytes queued in one member\'s link and not yet taken by the kernel',
      () => this.linkBacklogBytesMax);
    counterFrom(registry, 'x2_river_retransmits_total', 'frames resent from the ring', () => this.retransmits);
    counterFrom(registry, 'x2_river_repairs_ordered_total', 'NAKs below the ring, sent to a peer commit',
      () => this.repairsOrdered);
    counterFrom(registry, 'x2_river_appends_rejected_total', 'appends refused as malformed',
      () => this.appendsRejected);
    counterFrom(registry, 'x2_river_append_conditions_failed_total',
      'conditional appends refused because a stream was not at the expected offset', () => this.appendConditionsFailed);
    gaugeFrom(registry, 'x2_river_durable_one_seq', 'highest seq durable on at least one commit',
      () => Math.max(this.#durableOneSeq, this.#committedSeq));
    gaugeFrom(registry, 'x2_river_last_seq', 'highest seq sequenced', () => this.#nextSeq - 1);
    gaugeFrom(registry, 'x2_river_committed_seq', 'highest seq durable on the write quorum', () => this.#committedSeq);
    gaugeFrom(registry, 'x2_river_epoch', 'sequencer epoch', () => this.#epoch);
    gaugeFrom(registry, 'x2_river_window_bytes', 'frame bytes sent and not yet committed (send window)',
      () => this.#window.bytes);
    const readyCount = (role: string): number =>
      [...this.#members].filter((m) => m.hello?.role === role && m.ready).length;
    gaugeFrom(registry, 'x2_river_commits_ready', 'commits welcomed in this epoch and ready',
      () => readyCount('commit'));
    gaugeFrom(registry, 'x2_river_subscribers_ready', 'subscribers welcomed and ready', () => readyCount('subscriber'));
    gaugeFrom(registry, 'x2_river_ring_frames', 'frames held in the retransmit ring', () => this.#ring.size);
    const members = this.#members;
    const lastSeq = (): number => this.#nextSeq - 1;
    new Gauge({
      name: 'x2_river_commit_lag_entries', help: 'entries a commit is behind the last seq', labelNames: ['member'],
      registers: [registry],
      collect() {
        this.reset();
        for (const member of members) {
          if (member.hello?.role !== 'commit') continue;
          this.set({ member: member.hello.memberId }, lastSeq() - member.durableSeq);
        }
      },
    });
    new Gauge({
      name: 'x2_river_commit_durable_seq', help: 'durable seq reported by each commit', labelNames: ['member'],
      registers: [registry],
      collect() {
        this.reset();
        for (const member of members) {
          if (member.hello?.role === 'commit') this.set({ member: member.hello.memberId }, member.durableSeq);
        }
      },
    });
    this.#latency = new Histogram({
      name: 'x2_river_append_to_commit_seconds', help: 'time from sending a frame to its last seq being committed',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2], registers: [registry],
    });
  }

  static async start(options: SequencerOptions): Promise<Sequencer> {
    assert(options.writeQuorum <= options.replication, 'write quorum above replication');
    assert(options.writeQuorum >= 1 || options.replication === 0, 'write quorum below 1');
    const server = createServer(ADOPTABLE_SERVER_OPTIONS);
    const sequencer = new Sequencer(options, server);
    if (options.group !== null) {
      const interfaceAddress = options.interfaceAddress ?? '127.0.0.1';
      sequencer.#multicast = await MulticastSender.open(options.group, options.groupPort, interfaceAddress);
    }
    announceRiverDriver(options.log, options.registry, () => sequencer.#multicast?.driver ?? 'tcp');
    server.on('connection', (socket) => sequencer.#onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort, options.listenHost, () => { server.off('error', reject); resolve(); });
    });
    sequencer.#heartbeatTimer = setInterval(() => sequencer.#heartbeat(), options.heartbeatMs);
    if (options.replication === 0) {
      // No commits: an ephemeral river (benchmarks of the river alone); sent means committed.
      sequencer.#epoch = 1;
      sequencer.#history = [[1, 1]];
      sequencer.#phase = 'running';
    }
    return sequencer;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : this.options.listenPort;
  }

  get phase(): string { return this.#phase; }
  get epoch(): number { return this.#epoch; }
  get committedSeq(): number { return this.#committedSeq; }

  close(): void {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    for (const member of this.#members) member.socket.destroy();
    this.#server.close();
    this.#multicast?.close();
  }

  #onConnection(accepted: Socket): void {
    let member: Member | null = null;
    // Payloads live only during #onMessage: what waits (appends) is copied into the arena, or
    // keeps the reader's assembly buffer it was read into.
    const reader = new LinkReader((type, payload) => this.#onMessage(member!, type, payload),
      LINK_MESSAGE_BYTES_MAX, true);
    const socket = adoptWithReadBuffer(accepted, READ_BUFFER_BYTES, (chunk) => {
      const problem = reader.feed(chunk);
      if (problem) this.#drop(member!, problem);
    }, () => reader.readTarget());
    member = { id: this.#nextMemberId++, socket, reader, writer: new LinkWriter(socket), hello: null,
      river: 'unicast', welcomed: false, ready: false, durableSeq: 0, sequencedSeq: 0, noticedCommittedSeq: 0 };
    this.#members.add(member);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#members.delete(member!);
      if (member!.hello?.role !== 'commit') return;
      this.options.log.info(`commit ${member!.hello.memberId} left`);
      if (member!.ready) this.#announcePeers();
    });
  }

  #drop(member: Member, why: string): void {
    this.options.log.limited('warn', `drop-${why}`,
      `closing link of member ${member.hello?.memberId ?? member.id}: ${why}`);
    member.socket.destroy();
  }

  #onMessage(member: Member, type: number, payload: Buffer): void {
    if (member.socket.destroyed) return; // dropped (bad input earlier in the same read): ignore the rest
    if (member.hello === null && type !== MESSAGE.hello) return this.#drop(member, 'first message must be HELLO');
    switch (type) {
      case MESSAGE.hello: return this.#onHello(member, unpackBody<Hello>(payload));
      case MESSAGE.append: return this.#onAppend(member, payload, false);
      case MESSAGE.appendIf: return this.#onAppend(member, payload, true);
      case MESSAGE.durable: return this.#onDurable(member, readU64(payload, 0));
      case MESSAGE.nak: return this.#onNak(member, readU64(payload, 0), readU64(payload, 8));
      case MESSAGE.nakFragments: return this.#onNakFragments(member, payload);
      case MESSAGE.ready: return this.#onReady(member, unpackBody<Ready>(payload));
      default: return this.#drop(member, `unexpected message type ${type}`);
    }
  }

  #onHello(member: Member, hello: Hello): void {
    if (member.hello !== null) return this.#drop(member, 'HELLO twice');
    member.hello = hello;
    member.river = hello.river === 'multicast' && this.#multicast ? 'multicast' : 'unicast';
    if (hello.role === 'commit') {
      // A commit that reconnected replaces its old link at once: the old link's durable seq may
      // predate a truncation and must not count toward the committed seq.
      for (const other of this.#members) {
        if (other !== member && other.hello?.role === 'commit' && sameCommit(other.hello, hello)) {
          this.#members.delete(other);
          other.socket.destroy();
        }
      }
    }
    this.options.log.info(`${hello.role} ${hello.memberId} joined (${member.river}` +
      (hello.role === 'commit' ? `, last seq ${hello.lastSeq}, epoch ${hello.lastEpoch})` : ')'));
    if (hello.role === 'appender') return;
    if (this.#phase === 'recovering') this.#maybeRecover(); else this.#welcome(member);
  }

  #maybeRecover(): void {
    const hellos = [...this.#members].map((member) => member.hello).filter((hello) => hello !== null);
    const commits = distinctCommits(hellos);
    if (commits.length < recoveryQuorum(this.options.replication, this.options.writeQuorum)) return;
    const plan = planRecovery(commits);
    this.#epoch = plan.epoch;
    this.#headSeq = plan.headSeq;
    this.#nextSeq = plan.headSeq + 1;
    this.#history = plan.history;
    for (const [streamId, nextOffset] of plan.streams) this.#streamNext.set(streamId, nextOffset);
    this.#phase = 'welcoming';
    this.#bestListen = plan.head.listen ?? null;
    this.options.log.info(`recovered from ${commits.length} commits: head seq ${this.#headSeq} `
      + `(from ${plan.head.memberId}), ${this.#streamNext.size} streams, epoch ${this.#epoch}`);
    for (const member of this.#members) if (member.hello && member.hello.role !== 'appender') this.#welcome(member);
  }

  #bestListen: string | null = null;

  #peers(): string[] {
    const ready = [...this.#members].filter((m) => m.hello?.role === 'commit' && m.ready && m.hello.listen)
      .sort((a, b) => b.durableSeq - a.durableSeq).map((m) => m.hello!.listen!);
    if (this.#bestListen && !ready.includes(this.#bestListen)) ready.push(this.#bestListen);
    return ready;
  }

  /**
   * Tells every welcomed member the ready commits (PEERS) when they change: a member welcomed
   * before all commits were ready (a gateway started with them) would otherwise read history and
   * repair from the first ones only, until its next welcome.
   */
  #announcePeers(): void {
    const peers = this.#peers();
    for (const member of this.#members) {
      if (!member.welcomed || member.hello === null || member.hello.role === 'appender') continue;
      sendPacked(member.writer, MESSAGE.peers, { peers });
    }
  }

  #welcome(member: Member): void {
    const welcome: Welcome = {
      epoch: this.#epoch, riverId: this.options.riverId, history: this.#history, headSeq: this.#headSeq,
      nextSeq: this.#nextSeq, committedSeq: this.#committedSeq, peers: this.#peers(),
      group: this.options.group, port: this.options.groupPort, interfaceAddress: this.options.interfaceAddress,
      mtu: this.options.mtuBytes, writeQuorum: this.options.writeQuorum,
    };
    member.welcomed = true;
    sendPacked(member.writer, MESSAGE.welcome, welcome);
  }

  #onReady(member: Member, ready: Ready): void {
    const wasReady = member.ready;
    member.ready = true;
    member.durableSeq = Math.max(member.durableSeq, ready.lastSeq);
    if (member.hello?.role !== 'commit') {
      if (this.options.replication === 0) this.#updateCommitted();
      return;
    }
    this.#updateCommitted();
    if (!wasReady) this.#announcePeers();
    if (this.#phase !== 'welcoming') return;
    const readyCommits = [...this.#members].filter((m) => m.hello?.role === 'commit' && m.ready).length;
    if (readyCommits < this.options.writeQuorum) return;
    this.#phase = 'running';
    this.options.log.info(`running: epoch ${this.#epoch}, next seq ${this.#nextSeq}`);
    this.#scheduleDrain();
  }

  #onDurable(member: Member, durableSeq: number): void {
    if (durableSeq < 0 || durableSeq >= this.#nextSeq) return this.#drop(member,
      `durable seq ${durableSeq} out of range`);
    member.durableSeq = Math.max(member.durableSeq, durableSeq);
    this.#updateCommitted();
  }

  #updateCommitted(): void {
    // With R = 0 (bench of the river alone) the subscribers stand in for the commits: an entry is
    // committed once every ready subscriber delivered it, so the ring never drops what one lacks.
    const role = this.options.replication === 0 ? 'subscriber' : 'commit';
    const durable = [...this.#members].filter((m) => m.hello?.role === role && m.ready).map((m) => m.durableSeq)
      .sort((a, b) => b - a);
    if (role === 'subscriber' && durable.length === 0) return this.#commitAll();
    const durableOne = role === 'commit' ? durable[0] : undefined;
    if (durableOne !== undefined && durableOne > this.#durableOneSeq) {
      this.#durableOneSeq = durableOne;
      this.#scheduleNotice();
    }
    const candidate = durable[role === 'subscriber' ? durable.length - 1 : this.options.writeQuorum - 1];
    if (candidate === undefined || candidate <= this.#committedSeq) return;
    this.#committedSeq = candidate;
    this.#window.release(candidate);
    const nowMs = performance.now();
    while (this.#latencySize > 0 && this.#latencySeq[this.#latencyHead]! <= candidate) {
      this.#latency.observe((nowMs - this.#latencyAtMs[this.#latencyHead]!) / 1000);
      this.#latencyHead = (this.#latencyHead + 1) % LATENCY_FRAMES_MAX;
      this.#latencySize -= 1;
    }
    this.#scheduleDrain();
    this.#scheduleNotice();
  }

  #noticeScheduled = false;

  #scheduleNotice(): void {
    if (this.#noticeScheduled) return;
    this.#noticeScheduled = true;
    setImmediate(() => this.#noticeCommitted());
  }

  /**
   * Tells appenders the committed and durable-on-one seqs (once per turn of the loop): all of them,
   * except those that asked only about their own appends and have none waiting.
   */
  #noticeCommitted(): void {
    this.#noticeScheduled = false;
    // Committed implies durable on one; an ephemeral river (R = 0) has only the committed seq.
    const durableOneSeq = Math.max(this.#durableOneSeq, this.#committedSeq);
    if (this.#committedSent === this.#committedSeq && this.#durableOneSent === durableOneSeq) return;
    this.#committedSent = this.#committedSeq;
    this.#durableOneSent = durableOneSeq;
    for (const member of this.#members) {
      if (member.hello?.role !== 'appender') continue;
      if (member.hello.committedNotices === 'own' && member.sequencedSeq <= member.noticedCommittedSeq) continue;
      member.noticedCommittedSeq = this.#committedSeq;
      sendSeqPair(member.writer, MESSAGE.committed, this.#committedSeq, durableOneSeq);
    }
    // Subscribers learn it from the next frame or heartbeat.
    this.#sentSinceHeartbeat = false;
  }

  #commitAll(): void {
    if (this.#committedSeq === this.#nextSeq - 1) return;
    this.#committedSeq = this.#nextSeq - 1;
    this.#window.release(this.#committedSeq);
    this.#latencyHead = 0;
    this.#latencySize = 0;
    this.#scheduleNotice();
  }

  #onAppend(member: Member, received: Buffer, conditional: boolean): void {
    const append: { requestId: number; entries: RiverEntry[]; conditions?: AppendCondition[] } | null =
      conditional ? readAppendIf(received) : readAppend(received);
    if (!append) return this.#drop(member, `malformed ${conditional ? 'APPEND_IF' : 'APPEND'}`);
    let bodyBytes = 0;
    let refusal: string | null = null;
    for (const entry of append.entries) {
      assert(entry.batch.buffer === received.buffer, 'an entry outside its APPEND payload');
      refusal ??= batchProblem(entry);
      bodyBytes += ENTRY_HEADER_BYTES + entry.batch.length;
    }
    if (bodyBytes > APPEND_BYTES_MAX) refusal ??= `append of ${bodyBytes} bytes, at most 8 MiB`;
    const conditions = append.conditions ?? null;
    if (refusal) bodyBytes = 0; // its bytes are not sequenced, nor counted against the queue
    const queued: QueuedAppend = { member, requestId: append.requestId, entries: append.entries, bodyBytes,
      conditions, refusal, arenaEnd: -1, adopted: null };
    this.#queue.push(queued);
    this.#queueBytes += bodyBytes;
    // The payload lives only during this call. An append that fills a frame on its own and finds
    // nothing queued is sequenced now, straight from it (one pass over its bytes fewer); one that
    // waits reads a copy in the arena (taken only for a well-formed append, so regions are
    // released in the order they were taken).
    if (bodyBytes >= FRAME_COALESCE_BYTES && this.#queue.length - this.#queueHead === 1) {
      this.#drain();
      if (this.#queue[this.#queueHead] !== queued) return;
    }
    this.#keep(queued, received);
    const full = this.#queue.length - this.#queueHead >= APPEND_QUEUE_MAX || this.#queueBytes >= APPEND_QUEUE_BYTES_MAX;
    if (full && !this.#paused) this.#pauseAppenders(true);
    this.#scheduleDrain();
  }

  /**
   * Keeps a queued append's batches past this turn: a large append read into the link reader's
   * assembly buffer keeps that buffer (no copy); others are copied into the arena.
   */
  #keep(queued: QueuedAppend, received: Buffer): void {
    if (received.length >= FRAME_COALESCE_BYTES) {
      queued.adopted = queued.member.reader.adoptAssembly(received);
      if (queued.adopted !== null) return;
    }
    const arenaStart = this.#arena.take(received.length);
    const copy = arenaStart < 0 ? Buffer.allocUnsafe(received.length)
      : this.#arena.bytes.subarray(arenaStart, arenaStart + received.length);
    received.copy(copy);
    for (const entry of queued.entries) {
      const at = entry.batch.byteOffset - received.byteOffset;
      entry.batch = copy.subarray(at, at + entry.batch.length);
    }
    queued.arenaEnd = arenaStart < 0 ? -1 : arenaStart + received.length;
  }

  /** A queued append leaves the queue: its arena region or adopted buffer is free again. */
  #release(append: QueuedAppend): void {
    if (append.arenaEnd >= 0) this.#arena.release(append.arenaEnd);
    if (append.adopted !== null) append.member.reader.returnAssembly(append.adopted);
  }

  /** Whether an APPEND_IF's expected offsets are the streams' next offsets; if not, refuses it. */
  #conditionsHold(append: QueuedAppend): boolean {
    const conditions = append.conditions ?? [];
    const actual = conditions.map((c): [number, number] => [c.streamId, this.#streamNext.get(c.streamId) ?? 0]);
    const wrong = conditions.flatMap((c, i) => actual[i]![1] === c.nextOffset ? []
      : [`stream ${c.streamId} is at offset ${actual[i]![1]}, the append expected ${c.nextOffset}`]);
    if (wrong.length === 0) return true;
    this.appendConditionsFailed += 1;
    sendAppendError(append.member.writer, append.requestId, 'X2_ERR_APPEND_CONDITION', wrong.join('; '), false,
      actual);
    return false;
  }

  #pauseAppenders(pause: boolean): void {
    this.#paused = pause;
    for (const member of this.#members) {
      if (member.hello?.role !== 'appender') continue;
      if (pause) member.socket.pause(); else member.socket.resume();
    }
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  /** Sequences queued appends into frames while the ring has room. */
  #drain(): void {
    if (this.#phase !== 'running') return;
    while (this.#queueHead < this.#queue.length) {
      const head = this.#queue[this.#queueHead]!;
      if (head.refusal) {
        this.appendsRejected += 1;
        sendAppendError(head.member.writer, head.requestId, 'X2_ERR_APPEND_REJECTED', head.refusal, false);
      }
      if (head.refusal || (head.conditions && !this.#conditionsHold(head))) {
        this.#release(head);
        this.#queue[this.#queueHead] = undefined as unknown as QueuedAppend;
        this.#queueBytes -= head.bodyBytes;
        this.#queueHead += 1;
        continue;
      }
      let bodyBytes = 0;
      let entryCount = 0;
      let last = this.#queueHead;
      while (last < this.#queue.length) {
        const append = this.#queue[last]!;
        // A conditional append starts its own frame: its condition is checked against offsets
        // that include every append sequenced before it and none after.
        if (last > this.#queueHead && (bodyBytes + append.bodyBytes > FRAME_COALESCE_BYTES
          || entryCount + append.entries.length > 0xffff || append.conditions || append.refusal)) break;
        bodyBytes += append.bodyBytes;
        entryCount += append.entries.length;
        last += 1;
      }
      const frameBytes = fragmentedBytes(bodyBytes, this.#fragmentBodyBytesMax);
      if (!this.#window.hasRoom(frameBytes)) break; // as much in flight as the commits can take: wait
      // Staged datagrams are views of the ring (sendStable): out they go before it reuses space.
      this.#multicast?.flush();
      const slot = this.#ring.reserve(frameBytes, this.#committedSeq);
      if (!slot) break; // ring full of uncommitted frames: wait for the committed seq to move
      const firstSeq = this.#nextSeq;
      const writer = this.#fragmentWriter;
      writer.begin(slot.arena, slot.position, bodyBytes, this.#fragmentBodyBytesMax);
      for (let i = this.#queueHead; i < last; i++) {
        const append = this.#queue[i]!;
        const baseOffsets: number[] = new Array<number>(append.entries.length);
        const appendFirstSeq = this.#nextSeq;
        for (let j = 0; j < append.entries.length; j++) {
          const entry = append.entries[j]!;
          const baseOffset = this.#streamNext.get(entry.streamId) ?? 0;
          this.#streamNext.set(entry.streamId, baseOffset + entry.recordCount);
          baseOffsets[j] = baseOffset;
          entry.baseOffset = baseOffset;
          writer.putEntry(entry, this.#epoch);
          this.#nextSeq += 1;
          this.entriesAppended += 1;
          this.bytesAppended += entry.batch.length;
        }
        sendAppended(append.member.writer, append.requestId, appendFirstSeq, baseOffsets);
        append.member.sequencedSeq = this.#nextSeq - 1;
      }
      const end = writer.finish({ kind: FRAME_KIND.data, entryCount, riverId: this.options.riverId,
        epoch: this.#epoch, seq: firstSeq, committedSeq: this.#committedSeq });
      assert(end - slot.position === frameBytes, 'fragmented size mismatch');
      this.#ring.commit(firstSeq, entryCount, frameBytes);
      this.#window.add(this.#nextSeq - 1, frameBytes);
      this.#send(slot.arena.subarray(slot.position, end));
      this.#recordSent(this.#nextSeq - 1);
      if (this.options.replication === 0) this.#updateCommitted();
      for (let i = this.#queueHead; i < last; i++) {
        this.#release(this.#queue[i]!);
        this.#queue[i] = undefined as unknown as QueuedAppend;
      }
      this.#queueBytes -= bodyBytes;
      this.#queueHead = last;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    const roomy = this.#queue.length - this.#queueHead < APPEND_QUEUE_MAX / 2
      && this.#queueBytes < APPEND_QUEUE_BYTES_MAX / 2;
    if (this.#paused && roomy) this.#pauseAppenders(false);
  }

  #recordSent(lastSeq: number): void {
    if (this.#latencySize === LATENCY_FRAMES_MAX) {
      this.#latencyHead = (this.#latencyHead + 1) % LATENCY_FRAMES_MAX;
      this.#latencySize -= 1;
    }
    const index = (this.#latencyHead + this.#latencySize) % LATENCY_FRAMES_MAX;
    this.#latencySeq[index] = lastSeq;
    this.#latencyAtMs[index] = performance.now();
    this.#latencySize += 1;
  }

  /** Sends one frame (its fragments back to back) on every driver. */
  #send(frame: Buffer): void {
    this.#sentSinceHeartbeat = true;
    if (this.#multicast) {
      let position = 0;
      while (position < frame.length) {
        const end = position + FRAME_HEADER_BYTES + frame.readUInt32LE(position + BODY_BYTES_POSITION);
        this.#multicast.sendStable(frame.subarray(position, end));
        this.framesSent += 1;
        this.bytesSent += end - position;
        position = end;
      }
    }
    for (const member of this.#members) {
      if (member.river !== 'unicast' || !member.welcomed || member.hello?.role === 'appender') continue;
      if (member.writer.backlogBytes > LINK_BACKLOG_BYTES_MAX) continue;
      member.writer.send(MESSAGE.frame, frame);
      this.framesSent += 1;
      this.bytesSent += frame.length;
    }
  }

  #heartbeat(): void {
    if (this.#sentSinceHeartbeat) {
      this.#sentSinceHeartbeat = false;
      return;
    }
    if (this.#phase === 'recovering') return;
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(frame, 0, { kind: FRAME_KIND.heartbeat, fragmentIndex: 0, fragmentCount: 1, entryCount: 0,
      riverId: this.options.riverId, epoch: this.#epoch, bodyBytes: 0, seq: this.#nextSeq - 1,
        committedSeq: this.#committedSeq });
    this.#send(frame);
    this.#sentSinceHeartbeat = false;
  }

  #onNak(member: Member, fromSeq: number, toSeq: number): void {
    this.naksReceived += 1;
    if (fromSeq < 1 || toSeq <= fromSeq || toSeq > this.#nextSeq) return this.#drop(member,
      `bad NAK [${fromSeq}, ${toSeq})`);
    if (this.#isNakDeferred(member)) return;
    const next = this.#ring.visit(fromSeq, toSeq, RETRANSMIT_BYTES_MAX, (frame) => this.#resend(member, frame, null));
    if (next < 0) this.#orderRepair(member, fromSeq, toSeq);
  }

  /** A NAK for some fragments of one frame: resend only those (the member holds the others). */
  #onNakFragments(member: Member, payload: Buffer): void {
    this.naksReceived += 1;
    const nak = readNakFragments(payload);
    if (!nak || nak.seq >= this.#nextSeq) return this.#drop(member, 'bad NAK_FRAGMENTS');
    if (this.#isNakDeferred(member)) return;
    const wanted = new Set(nak.fragmentIndexes);
    let found = false;
    const next = this.#ring.visit(nak.seq, nak.seq + 1, RETRANSMIT_BYTES_MAX, (frame, firstSeq) => {
      if (firstSeq !== nak.seq) return;
      found = true;
      this.#resend(member, frame, wanted);
    });
    if (next < 0) this.#orderRepair(member, nak.seq, nak.seq + 1);
    else if (!found) this.#onNak(member, nak.seq, nak.seq + 1);
  }

  /** True when the member's link holds too much to take resends now (RETRANSMIT_BACKLOG_BYTES_MAX). */
  #isNakDeferred(member: Member): boolean {
    if (member.writer.backlogBytes <= RETRANSMIT_BACKLOG_BYTES_MAX) return false;
    this.naksDeferred += 1;
    return true;
  }

  /** The largest backlog of any member's link: bytes queued for a member that has yet to read them. */
  get linkBacklogBytesMax(): number {
    let bytesMax = 0;
    for (const member of this.#members) bytesMax = Math.max(bytesMax, member.writer.backlogBytes);
    return bytesMax;
  }

  /** Sends a frame from the ring (all fragments, or only `fragmentIndexes`) as RETRANSMIT. */
  #resend(member: Member, frame: Buffer, fragmentIndexes: ReadonlySet<number> | null): void {
    let position = 0;
    while (position < frame.length) {
      const end = position + FRAME_HEADER_BYTES + frame.readUInt32LE(position + BODY_BYTES_POSITION);
      if (fragmentIndexes === null || fragmentIndexes.has(frame.readUInt16LE(position + FRAGMENT_INDEX_POSITION))) {
        const reserved = member.writer.reserve(MESSAGE.frame, end - position);
        frame.copy(reserved.buffer, reserved.position, position, end);
        reserved.buffer[reserved.position + KIND_POSITION] = FRAME_KIND.retransmit;
        rewriteHeaderCrc(reserved.buffer, reserved.position);
        this.bytesSent += end - position;
      }
      position = end;
    }
    this.retransmits += 1;
  }

  /** Below the ring: the member repairs from a commit (the ring starts at its first seq). */
  #orderRepair(member: Member, fromSeq: number, toSeq: number): void {
    this.repairsOrdered += 1;
    const ringFirstSeq = this.#ring.size > 0 ? this.#ring.firstSeq : this.#nextSeq;
    const peers = this.#peers().filter((peer) => peer !== member.hello?.listen);
    sendPacked(member.writer, MESSAGE.repair, { fromSeq, toSeq: Math.max(fromSeq + 1, Math.min(toSeq, ringFirstSeq)),
      peers });
  }
}

/** Why an entry is not a plausible Kafka RecordBatch v2 (null when it is). */
function batchProblem(entry: RiverEntry): string | null {
  if (entry.batch.length < RECORD_BATCH_HEADER_BYTES) {
    return `batch of ${entry.batch.length} bytes, a RecordBatch v2 has at least 61`;
  }
  if (entry.batch[16] !== 2) return `batch magic ${entry.batch[16]}, only RecordBatch v2 (magic 2) is accepted`;
  const view = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
  const records = view.readInt32BE(57);
  if (entry.recordCount < 1
    || records !== entry.recordCount) return `record count ${entry.recordCount} does not match the batch (${records})`;
  return null;
}

function sendAppendError(writer: LinkWriter, requestId: number, code: string, message: string,
  retriable: boolean, actual?: Array<[number, number]>): void {
  const body = pack(actual ? { code, message, retriable, actual } : { code, message, retriable });
  const { buffer, position } = writer.reserve(MESSAGE.appendError, 4 + body.length);
  buffer.writeUInt32LE(requestId >>> 0, position);
  body.copy(buffer, position + 4);
}
