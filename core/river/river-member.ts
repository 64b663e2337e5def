/**
 * The receiving side of the river, shared by every role that reads it (commits, subscribers, later
 * gateways and sidecars). It keeps the control link to the sequencer (hello, welcome, NAKs, durable
 * seq), receives frames from the multicast group or over the link (unicast), reassembles them,
 * detects gaps, NAKs them, repairs from a peer commit when the sequencer's ring no longer holds
 * them, and delivers every entry exactly once, in seq order, to `hooks.deliver`.
 *
 * Epoch fencing: only frames of the epoch of the last welcome are accepted; anything else is
 * refused and counted. Between losing the link and the next welcome nothing is delivered.
 *
 * Bounds: the reassembler and the gap tracker hold a bounded number of frames; repairs read at
 * most REPAIR_BYTES_MAX per request; a NAK for one gap repeats after twice `nakRetryMs`, then
 * backs off by doubling up to NAK_RETRY_MS_MAX (nak-schedule.ts).
 */
import { connect, type Socket } from 'node:net';
import { crc32cZerosFactor } from '../base/crc32c.ts';
import type { Log } from '../base/log.ts';
import { parseHostPort } from './address.ts';
import { decodeFrameHeader, FRAME_HEADER_BYTES, FRAME_KIND, readEntries, type FrameHeader } from './frame.ts';
import { spanCrc, type FragmentCrcs } from './fragment-crcs.ts';
import { GapTracker } from './gap-tracker.ts';
import { NakSchedule } from './nak-schedule.ts';
import { LinkReader, LinkWriter } from './link.ts';
import type { LossGenerator } from './loss-generator.ts';
import {
  MESSAGE, sendNakFragments, sendPacked, sendSeq, sendSeqPair, unpackBody, type Hello, type Peers, type Repair,
  type RiverMode, type StoredRiverEntry, type Welcome,
} from './messages.ts';
import { IP_UDP_HEADER_BYTES, MulticastReceiver } from './multicast.ts';
import { multicastDriver, type RiverDriverName } from './multicast-driver.ts';
import { PeerClient } from './peer-client.ts';
import { BODY_CRC_FAILED, Reassembler, type CompleteFrame } from './reassembler.ts';

export const REPAIR_BYTES_MAX = 1024 * 1024;
/** Stored bytes a header-only repair read covers per request (its answer is a small part of it). */
export const REPAIR_HEADER_READ_BYTES = 4 * 1024 * 1024;
/** Missing ranges NAKed per check: several losses in flight cost one round trip, not one each. */
export const NAK_RANGES_MAX = 32;
/** The longest a member waits before repeating a NAK for a range still missing (NakSchedule). */
export const NAK_RETRY_MS_MAX = 160;

export type MemberHooks = {
  /** The member's state for the sequencer (role, stored seq, history, streams). */
  hello(): Promise<Hello>;
  /** Brings the local log in line with the welcome (truncate a divergent tail); returns the last seq held. */
  welcome(welcome: Welcome): Promise<number>;
  /** One entry, in seq order, exactly once. */
  deliver(entry: StoredRiverEntry): void;
  /**
   * Asked right after a frame's entries were delivered: true when the receiver still refers to
   * `own`, the frame's buffer. It may give the buffer back later with `recycleFrame(own)` (a
   * gateway, once its tail cache drops the last view) or leave it to the garbage collector (a
   * commit whose entries wait behind a full write buffer). False: the member reuses the buffer
   * for the next frames at once. Absent: frame buffers are never reused.
   */
  holdsFrame?(own: Buffer): boolean;
};

export type MemberOptions = {
  sequencer: string;
  river: RiverMode;
  interfaceAddress: string | null;
  /** This member's own peer-read address, never used as its own repair source. */
  listen: string | null;
  loss: LossGenerator | null;
  nakRetryMs?: number;
  /** Subscribers: report the delivered seq as the "durable" seq (once per turn of the loop). */
  reportDelivered?: boolean;
  /**
   * Repairs from peers read user batches as headers only (entries carry `batchBytes`); internal
   * streams come whole. A gateway needs no more to rebuild its state, and reads history later.
   */
  repairHeadersOnly?: boolean;
  /**
   * Entries whose batches span whole fragments carry `batchCrc`, joined from their frame's checked
   * fragment CRCs (spanCrc): a commit's store then does not read the batch again for its own CRC.
   */
  batchCrcs?: boolean;
  /**
   * Take large multicast frames in place where the receiver scattered them (needs holdsFrame):
   * a commit, which gives each buffer back soon after. Not a gateway: its entries wait for the
   * committed seq, so its chunks come back in bursts larger than the free list keeps (62-165
   * fresh 16 MiB chunks a minute at the head; BENCHMARKS.md, session 9).
   */
  inPlace?: boolean;
  log: Log;
};

export class RiverMember {
  readonly options: MemberOptions;
  readonly hooks: MemberHooks;
  readonly #reassembler: Reassembler;
  #tracker = new GapTracker(1);
  #socket: Socket | null = null;
  #writer: LinkWriter | null = null;
  #multicast: MulticastReceiver | null = null;
  #multicastKey = '';
  #live = false;
  #repairing = false;
  #closed = false;
  #epoch = -1;
  #nextDeliverSeq = 1;
  #lastKnownSeq = 0;
  #timer: NodeJS.Timeout | null = null;
  committedSeq = 0;
  welcome: Welcome | null = null;
  // Counters (exported as metrics by the role).
  framesReceived = 0;
  bytesReceived = 0;
  #framesRefused = 0;
  naksSent = 0;
  retransmitsReceived = 0;
  entriesRepaired = 0;
  /** Frames dropped while not live (joining, or after losing the link): not faults, repaired later. */
  framesBeforeLive = 0;

  /** Frames refused: bad CRC, another epoch or river, fragments whose sizes contradict their frame. */
  get framesRefused(): number {
    return this.#framesRefused + this.#reassembler.malformed + this.#reassembler.corruptFragments;
  }
  duplicatesDropped = 0;

  constructor(options: MemberOptions, hooks: MemberHooks) {
    this.options = options;
    this.hooks = hooks;
    this.#naks = new NakSchedule((options.nakRetryMs ?? 10) * 2, NAK_RETRY_MS_MAX, NAK_RANGES_MAX * 4);
    // Pooled frame buffers only for a receiver that gives them back (it copies what it keeps).
    this.#reassembler = new Reassembler(undefined, undefined, hooks.holdsFrame !== undefined);
  }

  /** A frame buffer the receiver kept (holdsFrame) and no longer refers to: the next frames may reuse it. */
  recycleFrame(own: Buffer): void {
    this.#reassembler.recycle(own);
  }

  /** Frame buffers the reassembler allocated so far (reuse shows as few). */
  get frameBuffersAllocated(): number { return this.#reassembler.buffersAllocated; }

  /** Frames taken in place in a scatter chunk (no copy), and chunks allocated for them. */
  get framesInPlace(): number { return this.#reassembler.framesInPlace; }
  get scatterChunksAllocated(): number { return this.#reassembler.chunksAllocated; }

  get epoch(): number { return this.#epoch; }
  get live(): boolean { return this.#live; }
  /** Highest seq delivered. */
  get lastSeq(): number { return this.#nextDeliverSeq - 1; }
  get lastKnownSeq(): number { return this.#lastKnownSeq; }
  get multicastReceiver(): MulticastReceiver | null { return this.#multicast; }
  /** The driver this member's river runs on: the multicast driver it uses or will use, or tcp. */
  get riverDriver(): RiverDriverName {
    if (this.options.river !== 'multicast' || this.welcome?.group === null) return 'tcp';
    return this.#multicast?.driver ?? multicastDriver().name;
  }

  start(): void {
    this.#timer = setInterval(() => this.#checkGap(), this.options.nakRetryMs ?? 10);
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#socket?.destroy();
    this.#multicast?.close();
  }

  /**
   * Forgets everything from `nextSeq` on (the consumer could not take it): it is fetched again
   * through NAKs or a peer repair.
   */
  rewind(nextSeq: number): void {
    if (nextSeq >= this.#nextDeliverSeq) return;
    this.#nextDeliverSeq = nextSeq;
    this.#tracker = new GapTracker(nextSeq);
    this.#reassembler.discardBelow(Number.MAX_SAFE_INTEGER);
  }

  /** Tells the sequencer how far this member's store is durable. */
  reportDurable(durableSeq: number): void {
    if (this.#live && this.#writer) sendSeq(this.#writer, MESSAGE.durable, durableSeq);
  }

  #connect(): void {
    if (this.#closed) return;
    const { host, port } = parseHostPort(this.options.sequencer);
    const socket = connect({ host, port, noDelay: true });
    this.#socket = socket;
    const writer = new LinkWriter(socket);
    const reader = new LinkReader((type, payload) => this.#onMessage(type, payload));
    socket.on('connect', () => {
      this.hooks.hello().then((hello) => {
        this.#writer = writer;
        sendPacked(writer, MESSAGE.hello, { ...hello, river: this.options.river });
      }, (error: unknown) => {
        this.options.log.error(`hello failed: ${String(error)}`);
        socket.destroy();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      const problem = reader.feed(chunk);
      if (problem) socket.destroy(new Error(problem));
    });
    socket.on('error', (error) => this.options.log.limited('warn', 'link', `sequencer link: ${error.message}`));
    socket.on('close', () => {
      this.#live = false;
      this.#writer = null;
      if (!this.#closed) setTimeout(() => this.#connect(), 200).unref();
    });
  }

  #onMessage(type: number, payload: Buffer): void {
    switch (type) {
      case MESSAGE.frame:
        this.#onFrames(payload);
        return;
      case MESSAGE.welcome:
        this.#onWelcome(unpackBody<Welcome>(payload)).catch((error: unknown) => {
          this.options.log.error(`welcome failed: ${String(error)}`);
          this.#socket?.destroy();
        });
        return;
      case MESSAGE.peers: {
        // The ready commits changed since the welcome: later repairs and history reads use them.
        const { peers } = unpackBody<Peers>(payload);
        if (this.welcome && Array.isArray(peers) && peers.every((peer) => typeof peer === 'string')) {
          this.welcome = { ...this.welcome, peers };
        }
        return;
      }
      case MESSAGE.repair: {
        const repair = unpackBody<Repair>(payload);
        this.#repair(repair.peers, repair.fromSeq, repair.toSeq).catch((error: unknown) => {
          this.options.log.limited('warn', 'repair', `repair failed: ${String(error)}`);
        });
        return;
      }
      default:
        this.options.log.limited('warn', `type-${type}`, `unexpected message ${type} from the sequencer`);
    }
  }

  async #onWelcome(welcome: Welcome): Promise<void> {
    this.#live = false;
    this.#naks.clear(); // a new link: resends queued on the old one are gone
    this.#epoch = welcome.epoch;
    this.welcome = welcome;
    this.committedSeq = Math.max(this.committedSeq, welcome.committedSeq);
    const lastSeq = await this.hooks.welcome(welcome);
    this.#nextDeliverSeq = lastSeq + 1;
    this.#tracker = new GapTracker(lastSeq + 1);
    this.#lastKnownSeq = Math.max(lastSeq, welcome.headSeq);
    if (this.options.river === 'multicast' && welcome.group !== null) await this.#joinMulticast(welcome);
    if (lastSeq < welcome.headSeq) await this.#repair(welcome.peers, lastSeq + 1, welcome.headSeq + 1);
    this.#live = true;
    if (this.#writer) sendPacked(this.#writer, MESSAGE.ready, { lastSeq: this.lastSeq });
  }

  async #joinMulticast(welcome: Welcome): Promise<void> {
    const interfaceAddress = this.options.interfaceAddress ?? welcome.interfaceAddress ?? '127.0.0.1';
    const key = `${welcome.group}:${welcome.port}@${interfaceAddress}`;
    if (this.#multicast && this.#multicastKey === key) return;
    this.#multicast?.close();
    // A member that takes frames in place (and recycles frame buffers) reads scattered; the others
    // copy each fragment out of the receive ring.
    const scatter = !this.options.inPlace || this.hooks.holdsFrame === undefined ? undefined : {
      headerBytes: FRAME_HEADER_BYTES,
      nextBodies: (previous: Buffer | null, stride: number) => this.#reassembler.nextBodies(previous, stride),
      onScattered: (header: Buffer, body: Buffer) => this.#onScattered(header, body),
    };
    this.#multicast = await MulticastReceiver.open(welcome.group!, welcome.port, interfaceAddress, this.options.loss,
      // Slots the size the sequencer sends: scattered fragment bodies then lie back to back.
      (datagram) => this.#onFrames(datagram, true), {
        datagramBytesMax: welcome.mtu - IP_UDP_HEADER_BYTES, scatter,
        onError: (error) => this.options.log.limited('warn', 'multicast',
          `multicast receive: ${error.code ?? error.message}`),
      });
    this.#multicastKey = key;
    this.options.log.info(`joined ${key} with the ${this.#multicast.driver} driver, receive buffer `
      + `${this.#multicast.receiveBufferBytes} bytes`);
  }

  /**
   * One or more frames back to back (a datagram holds one; a link message may hold several).
   * `transient`: the bytes are the multicast receive ring's, overwritten after this call.
   */
  #onFrames(bytes: Buffer, transient = false): void {
    let position = 0;
    while (position < bytes.length) {
      // The reassembler checks the body as it copies it.
      const header = decodeFrameHeader(bytes, position, bytes.length - position, false);
      if (typeof header === 'string') {
        this.#refuse(header);
        break;
      }
      const end = position + FRAME_HEADER_BYTES + header.bodyBytes;
      this.#onFrame(header, bytes.subarray(position + FRAME_HEADER_BYTES, end), transient);
      position = end;
    }
    this.#checkGap();
  }

  /** A datagram the multicast receiver scattered: its header, and its body in place in a chunk. */
  #onScattered(headerBytes: Buffer, body: Buffer): void {
    const header = decodeFrameHeader(headerBytes, 0, headerBytes.length + body.length, false);
    if (typeof header === 'string') {
      this.#refuse(header);
    } else {
      this.#onFrame(header, body.subarray(0, header.bodyBytes), 'in-place');
      // A datagram holds one frame: more bytes after it are not one.
      if (body.length > header.bodyBytes) this.#refuse('short');
    }
    this.#checkGap();
  }

  #refuse(reason: string): void {
    this.#framesRefused += 1;
    this.options.log.limited('warn', `frame-${reason}`, `refused a river frame: ${reason}`);
  }

  /** One decoded frame (its body unchecked): `transient` as in #onFrames, or in place in a scatter chunk. */
  #onFrame(header: FrameHeader, body: Buffer, transient: boolean | 'in-place'): void {
    this.framesReceived += 1;
    this.bytesReceived += FRAME_HEADER_BYTES + body.length;
    if (header.epoch !== this.#epoch || header.riverId !== this.welcome?.riverId) {
      this.#framesRefused += 1;
      return;
    }
    if (!this.#live && !this.#repairing) {
      // Joining, or between losing the link and the next welcome: repaired later, not refused.
      this.framesBeforeLive += 1;
      return;
    }
    this.committedSeq = Math.max(this.committedSeq, header.committedSeq);
    if (header.kind === FRAME_KIND.heartbeat) {
      this.#lastKnownSeq = Math.max(this.#lastKnownSeq, header.seq);
      return;
    }
    if (header.kind === FRAME_KIND.retransmit) this.retransmitsReceived += 1;
    const frame = transient === 'in-place'
      ? this.#reassembler.addInPlace(header, body)
      : this.#reassembler.add(header, body, transient);
    if (frame === BODY_CRC_FAILED) {
      this.options.log.limited('warn', 'frame-body-crc', 'refused a river frame: body-crc');
      return;
    }
    if (!frame) return;
    // Only a complete frame proves its seqs exist: the first fragment of a large frame arrives
    // before the rest, and must not look like a gap.
    this.#lastKnownSeq = Math.max(this.#lastKnownSeq, frame.seq + frame.entryCount - 1);
    const held = this.#tracker.offer(frame, this.#deliverFrame);
    if (!frame.own) return;
    if (held) {
      this.#reassembler.abandon(frame.own); // delivered later, by drain, with nobody to give it back
    } else if (this.hooks.holdsFrame?.(frame.own) === false) {
      this.#reassembler.recycle(frame.own);
    } else {
      this.#reassembler.claimed(frame.own);
    }
  }

  readonly #deliverFrame = (frame: CompleteFrame, skipEntries: number): void => {
    const entries = readEntries(frame.body, frame.entryCount);
    if (!entries) {
      this.#framesRefused += 1;
      return;
    }
    const fragments = this.options.batchCrcs && frame.fragments ? this.#fragmentCrcs(frame.fragments) : null;
    for (let i = skipEntries; i < entries.length; i++) {
      const entry = entries[i]!;
      const delivered: StoredRiverEntry = { seq: frame.seq + i, epoch: frame.epoch, streamId: entry.streamId,
        recordCount: entry.recordCount, baseOffset: entry.baseOffset, batch: entry.batch };
      if (fragments) {
        const start = entry.batch.byteOffset - frame.body.byteOffset;
        const batchCrc = spanCrc(frame.body, start, start + entry.batch.length, fragments);
        if (batchCrc !== undefined) delivered.batchCrc = batchCrc;
      }
      this.#deliverEntry(delivered);
    }
  };

  // Fragments have one size on a river (its MTU): the factor is made once.
  #zerosFactorBytes = 0;
  #zerosFactor = 0;

  #fragmentCrcs({ fragmentBytes, crcs }: { fragmentBytes: number; crcs: Uint32Array }): FragmentCrcs {
    if (this.#zerosFactorBytes !== fragmentBytes) {
      this.#zerosFactorBytes = fragmentBytes;
      this.#zerosFactor = crc32cZerosFactor(fragmentBytes);
    }
    return { fragmentBytes, crcs, zerosFactor: this.#zerosFactor };
  }

  #deliverEntry(entry: StoredRiverEntry): void {
    if (entry.seq !== this.#nextDeliverSeq) {
      // Already delivered by a repair (or a retransmit raced it): exactly once wins.
      this.duplicatesDropped += 1;
      return;
    }
    this.#nextDeliverSeq += 1;
    this.hooks.deliver(entry);
    if (this.options.reportDelivered && !this.#reportScheduled) {
      this.#reportScheduled = true;
      setImmediate(() => {
        this.#reportScheduled = false;
        this.reportDurable(this.lastSeq);
      });
    }
  }

  #reportScheduled = false;

  #checkGap(): void {
    if (!this.#live || this.#repairing || !this.#writer) return;
    const nextSeq = this.#tracker.nextSeq;
    if (this.#lastKnownSeq < nextSeq && this.#tracker.pendingFrames === 0) return;
    const nowMs = Date.now();
    const retryMs = this.#naks.retryMsMin;
    // Recompute the missing ranges only when something changed, or when a NAK may be due again.
    const unchanged = this.#tracker.version === this.#gapsVersion && this.#lastKnownSeq === this.#gapsLastKnownSeq;
    if (unchanged && nowMs - this.#gapsAtMs < retryMs) return;
    this.#gapsVersion = this.#tracker.version;
    this.#gapsLastKnownSeq = this.#lastKnownSeq;
    this.#gapsAtMs = nowMs;
    this.#naks.forgetBelow(nextSeq);
    for (const gap of this.#tracker.gaps(this.#lastKnownSeq, NAK_RANGES_MAX)) {
      // Frames held in part are asked for by their missing fragments; the rest of the range whole.
      let cursor = gap.fromSeq;
      for (const partial of this.#reassembler.partialsIn(gap.fromSeq, gap.toSeq)) {
        if (partial.seq > cursor) this.#nak(cursor, partial.seq, nowMs, null);
        this.#nak(partial.seq, partial.seq + partial.entryCount, nowMs, partial.missing);
        cursor = partial.seq + partial.entryCount;
      }
      if (cursor < gap.toSeq) this.#nak(cursor, gap.toSeq, nowMs, null);
    }
  }

  #nak(fromSeq: number, toSeq: number, nowMs: number, fragmentIndexes: number[] | null): void {
    if (!this.#naks.due(fromSeq, nowMs)) return;
    this.naksSent += 1;
    if (fragmentIndexes) sendNakFragments(this.#writer!, fromSeq, fragmentIndexes);
    else sendSeqPair(this.#writer!, MESSAGE.nak, fromSeq, toSeq);
  }

  #gapsVersion = -1;
  #gapsLastKnownSeq = -1;
  #gapsAtMs = 0;
  /** When each missing range may be NAKed again (backing off while its resend is on the way). */
  readonly #naks: NakSchedule;

  /** Reads [fromSeq, toSeq) from the first peer that has it and delivers it. */
  async #repair(peers: readonly string[], fromSeq: number, toSeq: number): Promise<void> {
    if (this.#repairing || fromSeq < this.#nextDeliverSeq && toSeq <= this.#nextDeliverSeq) return;
    this.#repairing = true;
    try {
      const sources = peers.filter((peer) => peer !== this.options.listen);
      for (const peer of sources) {
        const client = new PeerClient(peer);
        try {
          while (this.#nextDeliverSeq < toSeq) {
            const entries = this.options.repairHeadersOnly
              ? await client.readHeadersBySeq(this.#nextDeliverSeq, REPAIR_HEADER_READ_BYTES)
              : await client.readBySeq(this.#nextDeliverSeq, REPAIR_BYTES_MAX);
            if (entries.length === 0 || entries[0]!.seq !== this.#nextDeliverSeq) break;
            for (const entry of entries) {
              if (entry.seq >= toSeq) break;
              this.entriesRepaired += 1;
              this.#deliverEntry(entry);
            }
          }
        } catch (error) {
          this.options.log.limited('warn', `peer-${peer}`, `repair from ${peer}: ${String(error)}`);
        } finally {
          client.close();
        }
        if (this.#nextDeliverSeq >= toSeq) break;
      }
    } finally {
      this.#repairing = false;
      this.#tracker.reset(this.#nextDeliverSeq);
      this.#tracker.drain(this.#deliverFrame);
    }
    if (this.#nextDeliverSeq < toSeq) {
      this.options.log.limited('warn', 'repair-short',
        `repair reached seq ${this.lastSeq}, wanted ${toSeq - 1}; will retry`);
    }
  }
}

