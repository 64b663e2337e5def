/**
 * The commit role: joins the river, writes every entry in seq order to the store (core/storage),
 * reports its durable seq to the sequencer after each sync to disk, and serves reads of what it
 * stores to other members over TCP (repairs of commits and subscribers that fell behind the ring,
 * reads by the gateway later).
 *
 * On (re)connection it tells the sequencer what it holds (last seq and its epoch, epoch history,
 * every stream's next offset). On the welcome it truncates a divergent, never-acknowledged tail
 * (one written under an epoch the new history does not continue), persists the new epoch history,
 * repairs up to the recovered head from the most advanced peer (RiverMember), and says ready.
 *
 * Frame buffers: the store copies small batches and writes large ones from the river frame
 * itself, so a frame with a large batch goes back to the member (recycleFrame) only once the
 * store has written the last of its batches (#pinned); until then the member leaves it alone.
 *
 * Bounds: entries waiting for the store (write buffer full) are held up to QUEUE_BYTES_MAX; past
 * that the member rewinds and fetches them again later (NAK / repair) instead of growing memory.
 * #pinned holds at most the frames of the store's two write buffers' views.
 * Peer reads answer at most PEER_READ_BYTES_MAX and ENTRIES_PER_ANSWER_MAX entries per request.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { pack } from 'msgpackr';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { X2Error } from '../../base/errors.ts';
import type { Log } from '../../base/log.ts';
import { FIRST_USER_STREAM_ID } from '../../control/topic-name.ts';
import {
  counterFrom, Gauge, gaugeFrom, Histogram, LATENCY_BUCKETS_SECONDS, type Registry,
} from '../../metrics/metrics.ts';
import { readU64 } from '../../river/frame.ts';
import { LinkReader, LinkWriter } from '../../river/link.ts';
import type { LossGenerator } from '../../river/loss-generator.ts';
import { MESSAGE, sendEntries, sendEntryHeaders, sendStreamEntries, type Hello, type RiverMode,
  type StoredRiverEntry, type Welcome } from '../../river/messages.ts';
import { RiverMember } from '../../river/river-member.ts';
import { registerMemberMetrics } from '../../river/member-metrics.ts';
import { announceRiverDriver } from '../../river/multicast-driver.ts';
import { GATHER_BATCH_BYTES_MIN, Store, type SyncPolicy } from '../../storage/store.ts';
import { CommitRetention } from './retention.ts';
import { divergencePoint, readEpochHistory, readOrCreateDataId, writeEpochHistory } from './epoch-file.ts';

export const QUEUE_BYTES_MAX = 256 * 1024 * 1024;
export const PEER_READ_BYTES_MAX = 4 * 1024 * 1024;
export const ENTRIES_PER_ANSWER_MAX = 0xffff;
/**
 * Read buffers kept for peer stream reads (each answer copies its batches out at once). A fresh
 * buffer per read made a third of a commit's CPU V8's major GC while gateways read history.
 */
const READ_SPARES_BYTES_MAX = 16 * 1024 * 1024;
/** Read buffers are sized in these steps, so a spare fits the next read of about the same size. */
const READ_SPARE_STEP_BYTES = 256 * 1024;

export type CommitOptions = {
  memberId: string;
  sequencer: string;
  listenHost: string;
  listenPort: number;
  dataDir: string;
  river: RiverMode;
  interfaceAddress: string | null;
  sync: SyncPolicy;
  /** Synced bytes of the active segment left in the page cache (null = every page). */
  pageCacheKeepBytes: number | null;
  /** Store-wide retention (undefined = unlimited) and how often it and log start moves are checked. */
  retentionMs: number | undefined;
  retentionBytes: number | undefined;
  retentionCheckMs: number;
  loss: LossGenerator | null;
  log: Log;
  registry: Registry;
};

export class Commit {
  readonly options: CommitOptions;
  readonly store: Store;
  readonly member: RiverMember;
  readonly retention: CommitRetention;
  readonly #server: Server;
  readonly #queue: StoredRiverEntry[] = [];
  #queueHead = 0;
  #queueBytes = 0;
  #pumping = false;
  #listen = '';
  readonly #dataId: string;
  /** Frame buffers with batches the store has yet to write: how many, and the frame once handed to us. */
  readonly #pinned = new Map<ArrayBufferLike, { batches: number; own: Buffer | null }>();
  readonly #readSpares = new SpareBuffers(READ_SPARES_BYTES_MAX);
  peerReads = 0;
  /** Of those, header-only reads (a gateway replaying the river). */
  peerHeaderReads = 0;

  private constructor(options: CommitOptions, store: Store, server: Server) {
    this.options = options;
    this.store = store;
    this.#server = server;
    this.#dataId = readOrCreateDataId(options.dataDir);
    this.member = new RiverMember({
      sequencer: options.sequencer, river: options.river, interfaceAddress: options.interfaceAddress,
      listen: null, loss: options.loss, log: options.log, batchCrcs: true, inPlace: true,
    }, {
      hello: () => this.#hello(),
      welcome: (welcome) => this.#welcome(welcome),
      deliver: (entry) => this.#deliver(entry),
      // Held while entries wait behind a full write buffer (left to the GC then), or while the
      // store has still to write a batch from the frame (recycled after its write).
      holdsFrame: (own) => this.#pumping || this.#holdPinned(own),
    });
    store.onDurable((durableSeq) => this.member.reportDurable(durableSeq));
    this.retention = new CommitRetention(store, options.log, () => this.member.committedSeq);
    const registry = options.registry;
    const member = this.member;
    announceRiverDriver(options.log, registry, () => member.riverDriver);
    registerMemberMetrics(registry, member, { inPlace: true });
    counterFrom(registry, 'x2_commit_peer_reads_total', 'read requests served to peers', () => this.peerReads);
    counterFrom(registry, 'x2_commit_peer_header_reads_total',
      'of those, header-only reads (user batches cut to their header: gateway replays)', () => this.peerHeaderReads);
    gaugeFrom(registry, 'x2_commit_durable_seq', 'highest seq durable in this store', () => store.durableSeq);
    gaugeFrom(registry, 'x2_commit_last_seq', 'highest seq appended to this store', () => store.lastSeq);
    gaugeFrom(registry, 'x2_river_committed_seq', 'committed seq as last heard from the river',
      () => member.committedSeq);
    counterFrom(registry, 'x2_commit_log_start_moves_total', 'log start moves (DeleteRecords, retention) applied',
      () => this.retention.logStartMovesApplied);
    counterFrom(registry, 'x2_commit_segments_deleted_total', 'segment files deleted by retention',
      () => this.retention.segmentsDeleted);
    gaugeFrom(registry, 'x2_river_epoch', 'epoch of the last welcome', () => member.epoch);
    counterFrom(registry, 'x2_store_fsyncs_total',
      'sync points of the store: O_DSYNC writes (sync entry-set) or fdatasync calls', () => store.metrics.fsyncs);
    counterFrom(registry, 'x2_store_bytes_written_total', 'bytes written to segment files',
      () => store.metrics.bytesWritten);
    counterFrom(registry, 'x2_store_inline_writes_total',
      'segment writes small enough to be made on the event loop, not in the libuv pool',
      () => store.metrics.inlineWrites);
    counterFrom(registry, 'x2_store_page_cache_dropped_bytes_total',
      'synced segment bytes dropped from the page cache (--page-cache-keep)',
      () => store.metrics.pageCacheDroppedBytes);
  }

  static async start(options: CommitOptions): Promise<Commit> {
    mkdirSync(options.dataDir, { recursive: true });
    let commit: Commit | null = null;
    const writeSeconds = new Histogram({ name: 'x2_store_write_seconds', registers: [options.registry],
      help: 'each segment write of the store (with O_DSYNC, sync entry-set, the device flush included)',
      buckets: LATENCY_BUCKETS_SECONDS });
    const syncSeconds = new Histogram({ name: 'x2_store_fdatasync_seconds', registers: [options.registry],
      help: 'each fdatasync of the store (sync policies other than entry-set)', buckets: LATENCY_BUCKETS_SECONDS });
    const store = await Store.open({ dir: join(options.dataDir, 'store'), sync: options.sync,
      retentionMs: options.retentionMs, retentionBytes: options.retentionBytes,
      pageCacheKeepBytes: options.pageCacheKeepBytes,
      onBatchesWritten: (batches) => { if (commit !== null) commit.#unpin(batches); },
      observeWriteSeconds: (seconds) => writeSeconds.observe(seconds),
      observeSyncSeconds: (seconds) => syncSeconds.observe(seconds) });
    const server = createServer({ noDelay: true });
    commit = new Commit(options, store, server);
    server.on('connection', (socket) => commit.#onPeer(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort, options.listenHost, () => { server.off('error', reject); resolve(); });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.listenPort;
    const host = options.listenHost === '0.0.0.0' ? (options.interfaceAddress ?? '127.0.0.1') : options.listenHost;
    commit.#listen = `${host}:${port}`;
    commit.member.options.listen = commit.#listen;
    new Gauge({ name: 'x2_commit_peer_address_info', help: 'where this commit serves stored entries to peers',
      labelNames: ['address'], registers: [options.registry] }).set({ address: commit.#listen }, 1);
    commit.member.start();
    commit.retention.start(options.retentionCheckMs);
    return commit;
  }

  get listen(): string { return this.#listen; }

  async close(): Promise<void> {
    this.member.close();
    this.#server.close();
    await this.retention.close();
    await this.store.close();
  }

  async #lastEpoch(): Promise<number> {
    if (this.store.lastSeq === 0) return 0;
    const [last] = await this.store.readBySeq(this.store.lastSeq, 1);
    return last?.epoch ?? 0;
  }

  async #hello(): Promise<Hello> {
    await this.#waitQueueEmpty();
    await this.store.sync();
    return {
      role: 'commit', memberId: this.options.memberId, dataId: this.#dataId, listen: this.#listen,
      lastSeq: this.store.lastSeq,
      lastEpoch: await this.#lastEpoch(), history: readEpochHistory(this.options.dataDir),
      streams: [...this.store.streams()].map(([streamId, info]) => [streamId, info.nextOffset]),
    };
  }

  async #welcome(welcome: Welcome): Promise<number> {
    await this.#waitQueueEmpty();
    const local = readEpochHistory(this.options.dataDir);
    for (let round = 0; round < 64; round++) {
      const cut = divergencePoint(welcome.history, local, this.store.lastSeq, await this.#lastEpoch());
      if (cut === null) break;
      this.options.log.warn(`truncating a divergent tail: seqs ${cut + 1}..${this.store.lastSeq} were never committed`);
      await this.store.truncateAfter(cut);
      this.retention.dropAfter(cut);
    }
    writeEpochHistory(this.options.dataDir, welcome.history);
    await this.store.sync();
    await this.retention.replayStored();
    this.options.log.info(`welcomed: epoch ${welcome.epoch}, head seq ${welcome.headSeq}, `
      + `holding ${this.store.lastSeq}`);
    return this.store.lastSeq;
  }

  #deliver(entry: StoredRiverEntry): void {
    const bytes = entry.batch.length + 64;
    if (this.#queueBytes + bytes > QUEUE_BYTES_MAX) {
      // The store cannot keep up: drop from here and fetch again later (NAK or peer repair).
      this.options.log.limited('warn', 'queue-full', `store queue full at seq ${entry.seq}; rewinding`);
      this.member.rewind(entry.seq);
      return;
    }
    this.#queue.push(entry);
    this.#queueBytes += bytes;
    if (!this.#pumping) this.#pump();
  }

  /** Appends queued entries; on a full write buffer waits for a sync and goes on. */
  #pump(): void {
    this.#pumping = true;
    while (this.#queueHead < this.#queue.length) {
      const entry = this.#queue[this.#queueHead]!;
      try {
        this.store.append(entry);
      } catch (error) {
        if (error instanceof X2Error && error.retriable) {
          this.store.sync().then(() => this.#pump(), () => setTimeout(() => this.#pump(), 100));
          return;
        }
        throw error;
      }
      if (entry.batch.length >= GATHER_BATCH_BYTES_MIN) this.#pin(entry.batch.buffer);
      this.retention.noteEntry(entry);
      this.#queueBytes -= entry.batch.length + 64;
      this.#queueHead += 1;
    }
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#pumping = false;
    for (const wake of this.#emptyWaiters.splice(0)) wake();
  }

  #pin(buffer: ArrayBufferLike): void {
    const pinned = this.#pinned.get(buffer);
    if (pinned) pinned.batches += 1;
    else this.#pinned.set(buffer, { batches: 1, own: null });
  }

  #holdPinned(own: Buffer): boolean {
    const pinned = this.#pinned.get(own.buffer);
    if (!pinned) return false;
    pinned.own = own;
    return true;
  }

  #unpin(batches: readonly Uint8Array[]): void {
    for (const batch of batches) {
      const pinned = this.#pinned.get(batch.buffer);
      if (!pinned || --pinned.batches > 0) continue;
      this.#pinned.delete(batch.buffer);
      if (pinned.own) this.member.recycleFrame(pinned.own);
    }
  }

  readonly #emptyWaiters: Array<() => void> = [];

  #waitQueueEmpty(): Promise<void> {
    if (!this.#pumping) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  #onPeer(socket: Socket): void {
    const writer = new LinkWriter(socket);
    let chain = Promise.resolve();
    const reader = new LinkReader((type, payload) => {
      const byStream = type === MESSAGE.readStream;
      if (byStream ? payload.length !== 20
        : (type !== MESSAGE.readSeq && type !== MESSAGE.readSeqHeaders) || payload.length !== 16) {
        socket.destroy();
        return;
      }
      const requestId = payload.readUInt32LE(0);
      const streamId = byStream ? payload.readUInt32LE(4) : 0;
      const from = readU64(payload, byStream ? 8 : 4); // an offset by stream, else a seq
      const bytesMax = Math.min(payload.readUInt32LE(byStream ? 16 : 12), PEER_READ_BYTES_MAX);
      // Answer in request order.
      chain = chain.then(async () => {
        this.peerReads += 1;
        let lent: Buffer | null = null;
        try {
          // A stream read lends a reused buffer: the answer copies the batches out at once.
          const entries = (byStream ? await this.store.readEntries(streamId, from, bytesMax, (bytes) => {
            lent = this.#readSpares.take(Math.ceil(bytes / READ_SPARE_STEP_BYTES) * READ_SPARE_STEP_BYTES);
            return lent;
          }) : from < 1 ? [] : await this.store.readBySeq(from, bytesMax)).slice(0, ENTRIES_PER_ANSWER_MAX);
          if (byStream) sendStreamEntries(writer, requestId, entries);
          else if (type === MESSAGE.readSeq) sendEntries(writer, requestId, entries);
          else {
            this.peerHeaderReads += 1;
            sendEntryHeaders(writer, requestId, entries, (streamId) => streamId < FIRST_USER_STREAM_ID);
          }
        } catch (error) {
          sendReadError(writer, requestId, { code: error instanceof X2Error ? error.code : 'X2_ERR_IO',
            message: String(error), retriable: true });
        } finally {
          if (lent !== null) this.#readSpares.give(lent);
        }
      });
    });
    socket.on('data', (chunk: Buffer) => {
      if (reader.feed(chunk)) socket.destroy();
    });
    socket.on('error', () => undefined);
  }
}

function sendReadError(writer: LinkWriter, requestId: number,
  body: { code: string; message: string; retriable: boolean }): void {
  const packed = pack(body);
  const { buffer, position } = writer.reserve(MESSAGE.readError, 4 + packed.length);
  buffer.writeUInt32LE(requestId, position);
  packed.copy(buffer, position + 4);
}
