/**
 * The TCP link: every connection between x2 members (appender -> sequencer, member control link,
 * peer reads) carries length-prefixed messages: u32 length (of type + payload), u8 type, payload.
 * It sits under messages.ts and above net.Socket.
 *
 * Reading survives split reads: a message inside one received chunk is handed out as a view of that
 * chunk (Node gives a fresh Buffer per read, so views may be kept); a message spanning chunks is
 * assembled once into its own buffer. A transient reader (the sequencer's, fed from one reused
 * read buffer) assembles into one reused buffer instead, and its payloads live only during the call,
 * unless the receiver takes that buffer (`adoptAssembly`, and `returnAssembly` once done with it):
 * the sequencer keeps a large append that must wait that way instead of copying it.
 * `readTarget` offers the rest of an incomplete large message's place, so that a socket reading
 * into it (reused-read-buffer.ts) saves the copy: `feed` recognises the chunk where it belongs.
 * Writing batches small messages into one chunk per event-loop turn (one socket write, not one
 * per message). `sendParts` hands a message's large parts to the socket as they are (views, no
 * copy) and tells the caller when the socket has written them (the gateway sends a Produce
 * request's batches to the sequencer so, straight from the request's buffer).
 * A chunk is filled turn after turn, each turn's part handed to the socket as a view
 * and never written again, and replaced only when full: a fresh 256 KiB chunk per turn per link
 * made the sequencer spend ~20 % of its CPU in GC. A replaced chunk, and the buffer of a message
 * larger than a chunk, is reused once the socket has written every part of it (write callbacks),
 * up to a few per link.
 *
 * Bounds: a message is at most `messageBytesMax` (a bigger length closes the link: bad input);
 * the writer's backlog is visible as `backlogBytes` so callers can stop producing.
 */
import type { Socket } from 'node:net';
import { READ_IN_PLACE_BYTES_MIN } from '../base/reused-read-buffer.ts';
import { SpareBuffers } from '../base/spare-buffers.ts';

export const LINK_HEADER_BYTES = 5;
export const LINK_MESSAGE_BYTES_MAX = 32 * 1024 * 1024;
const WRITE_CHUNK_BYTES = 256 * 1024;
/** Below this much room left, a chunk is retired at the end of the turn. */
const WRITE_CHUNK_REST_BYTES_MIN = 4 * 1024;

export type OnMessage = (type: number, payload: Buffer) => void;
/** Adopted assembly buffers given back and kept for reuse, per reader. */
const SPARE_ASSEMBLIES_BYTES_MAX = 16 * 1024 * 1024;

export class LinkReader {
  readonly messageBytesMax: number;
  readonly #onMessage: OnMessage;
  readonly #transient: boolean;
  #partial: Buffer | null = null; // an incomplete message (header included), assembled across reads
  #partialFilled = 0;
  #assembly: Buffer | null = null; // transient: the one buffer partial messages are assembled in
  readonly #spareAssemblies = new SpareBuffers(SPARE_ASSEMBLIES_BYTES_MAX); // given back after adoptions
  #head: Buffer | null = null; // fewer than LINK_HEADER_BYTES bytes left over from the last read

  /**
   * `transient`: payloads are valid only during `onMessage` (the chunks come from one reused read
   * buffer, and messages spanning reads are assembled in one reused buffer too); the receiver
   * copies what it keeps. Otherwise payloads may be kept (fresh chunks, own buffers).
   */
  constructor(onMessage: OnMessage, messageBytesMax = LINK_MESSAGE_BYTES_MAX, transient = false) {
    this.#onMessage = onMessage;
    this.messageBytesMax = messageBytesMax;
    this.#transient = transient;
  }

  /** Feeds one received chunk. Returns an error text when the peer sent garbage (close the link). */
  feed(input: Buffer): string | null {
    const partial = this.#partial;
    if (partial !== null && input.buffer === partial.buffer
      && input.byteOffset === partial.byteOffset + this.#partialFilled
      && this.#partialFilled + input.length <= partial.length) {
      this.#partialFilled += input.length; // read in place, into readTarget()
      if (this.#partialFilled < partial.length) return null;
      this.#partial = null;
      this.#onMessage(partial[4]!, partial.subarray(LINK_HEADER_BYTES));
      return null;
    }
    let chunk = input;
    if (this.#head) {
      chunk = Buffer.concat([this.#head, input]); // at most 4 bytes of carry-over, rare
      this.#head = null;
    }
    let position = 0;
    if (this.#partial) {
      const partial = this.#partial;
      const take = Math.min(partial.length - this.#partialFilled, chunk.length);
      chunk.copy(partial, this.#partialFilled, 0, take);
      this.#partialFilled += take;
      position = take;
      if (this.#partialFilled < partial.length) return null;
      this.#partial = null;
      this.#onMessage(partial[4]!, partial.subarray(LINK_HEADER_BYTES));
    }
    while (position < chunk.length) {
      const available = chunk.length - position;
      if (available < LINK_HEADER_BYTES) {
        this.#head = Buffer.from(chunk.subarray(position));
        return null;
      }
      const length = chunk.readUInt32LE(position);
      if (length < 1 || length > this.messageBytesMax) {
        return `link message length ${length} out of range [1, ${this.messageBytesMax}]`;
      }
      const total = 4 + length;
      if (available < total) {
        this.#partial = this.#partialBuffer(total);
        chunk.copy(this.#partial, 0, position);
        this.#partialFilled = available;
        return null;
      }
      this.#onMessage(chunk[position + 4]!, chunk.subarray(position + LINK_HEADER_BYTES, position + total));
      position += total;
    }
    return null;
  }

  /**
   * Where the next read may land: the rest of an incomplete message when at least
   * READ_IN_PLACE_BYTES_MIN of it is missing; otherwise null (read elsewhere, then `feed`).
   */
  readTarget(): Buffer | null {
    const partial = this.#partial;
    if (partial === null || partial.length - this.#partialFilled < READ_IN_PLACE_BYTES_MIN) return null;
    return partial.subarray(this.#partialFilled);
  }

  /**
   * Transient reader, inside `onMessage`: when `payload` lies in the assembly buffer, hands that
   * buffer to the caller, who may keep it (the reader assembles later messages elsewhere) and
   * gives it back with `returnAssembly`. Null when the payload is a view of the read buffer.
   */
  adoptAssembly(payload: Buffer): Buffer | null {
    const assembly = this.#assembly;
    if (!this.#transient || assembly === null || payload.buffer !== assembly.buffer
      || payload.byteOffset < assembly.byteOffset
      || payload.byteOffset + payload.length > assembly.byteOffset + assembly.length) return null;
    this.#assembly = null; // the next message spanning reads takes a spare
    return assembly;
  }

  /** An adopted assembly buffer nothing refers to any more: reused for later messages (within a bound). */
  returnAssembly(assembly: Buffer): void {
    this.#spareAssemblies.give(assembly);
  }

  #partialBuffer(total: number): Buffer {
    if (!this.#transient) return Buffer.allocUnsafe(total);
    if (this.#assembly === null) this.#assembly = this.#spareAssemblies.take(total);
    if (this.#assembly.length < total) {
      const doubled = Math.min(2 * this.#assembly.length, this.messageBytesMax + 4);
      this.#assembly = Buffer.allocUnsafe(Math.max(total, doubled));
    }
    return this.#assembly.subarray(0, total);
  }
}

/** A write buffer and how many parts of it are queued or being written. */
class WriteChunk {
  readonly bytes: Buffer;
  /** Parts handed out (queued here, or in the socket) and not yet written: counted when queued. */
  pendingWrites = 0;
  /** No more reservations in it: it goes back to its pool once its writes are done. */
  retired = false;

  constructor(bytes: number) {
    this.bytes = Buffer.allocUnsafe(bytes);
  }
}

/** The views of one `sendParts` message still queued or being written, and whom to tell after. */
type ViewSet = { pending: number; written: () => void };

/** `sendParts` copies parts below this into the chunk and hands larger ones to the socket as views. */
export const VIEW_BYTES_MIN = 64 * 1024;

/** Free chunks and large-message buffers are kept up to these bounds, per link. */
const FREE_CHUNKS_MAX = 4;
const FREE_LARGE_BYTES_MAX = 16 * 1024 * 1024;
/** Large-message buffers are sized in steps of this, so one fits the next message of about the same size. */
const LARGE_STEP_BYTES = 1024 * 1024;

export class LinkWriter {
  readonly #socket: Socket;
  #chunk = new WriteChunk(WRITE_CHUNK_BYTES);
  /** Start of this turn's part of the chunk (earlier parts belong to the socket now). */
  #start = 0;
  #filled = 0;
  #queued: Array<{ bytes: Uint8Array; chunk: WriteChunk | ViewSet }> = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #closed = false;
  // Buffers whose writes are done, reused instead of allocated: a fresh buffer per turn (or per
  // large append) made GC the biggest cost of the gateway and sequencer.
  readonly #freeChunks: WriteChunk[] = [];
  readonly #freeLarge: WriteChunk[] = [];
  #freeLargeBytes = 0;
  bytesWritten = 0;
  /** Buffers allocated (chunks and large-message buffers), for tests and metrics. */
  buffersAllocated = 1;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.once('close', () => { this.#closed = true; });
  }

  get closed(): boolean { return this.#closed || this.#socket.destroyed; }

  /** Bytes queued in the socket and not yet handed to the kernel, plus our unflushed chunk. */
  get backlogBytes(): number {
    return this.#socket.writableLength + this.#queuedBytes + this.#filled - this.#start;
  }

  /**
   * Room for one message of `payloadBytes`: returns the buffer and the position where the payload
   * goes (the header is already written). Write the payload before the next turn of the loop.
   */
  reserve(type: number, payloadBytes: number): { buffer: Buffer; position: number } {
    const total = LINK_HEADER_BYTES + payloadBytes;
    if (total > WRITE_CHUNK_BYTES) {
      this.#queueChunk(false);
      // Queued, not written: the caller fills the payload after this returns.
      const large = this.#takeLarge(total);
      large.retired = true;
      const own = large.bytes.subarray(0, total);
      own.writeUInt32LE(1 + payloadBytes, 0);
      own[4] = type;
      large.pendingWrites += 1;
      this.#queued.push({ bytes: own, chunk: large });
      this.#queuedBytes += total;
      this.#scheduleFlush();
      return { buffer: own, position: LINK_HEADER_BYTES };
    }
    if (this.#filled + total > this.#chunk.bytes.length) this.#queueChunk(true);
    const position = this.#filled;
    const bytes = this.#chunk.bytes;
    bytes.writeUInt32LE(1 + payloadBytes, position);
    bytes[position + 4] = type;
    this.#filled += total;
    this.#scheduleFlush();
    return { buffer: bytes, position: position + LINK_HEADER_BYTES };
  }

  send(type: number, payload: Uint8Array): void {
    const { buffer, position } = this.reserve(type, payload.length);
    buffer.set(payload, position);
  }

  /**
   * Sends one message whose payload is `parts`, back to back. Parts of VIEW_BYTES_MIN or more go
   * to the socket as they are: the caller leaves their bytes unchanged until `written` is called,
   * once the socket has written (or dropped) the last of them; at once when every part was copied.
   */
  sendParts(type: number, parts: readonly Uint8Array[], written: () => void): void {
    let payloadBytes = 0;
    for (const part of parts) payloadBytes += part.length;
    const header = this.reserve(type, 0);
    header.buffer.writeUInt32LE(1 + payloadBytes, header.position - LINK_HEADER_BYTES);
    const views: ViewSet = { pending: 1, written };
    for (const part of parts) {
      if (part.length < VIEW_BYTES_MIN) {
        this.#copyIn(part);
        continue;
      }
      this.#queueChunk(false);
      views.pending += 1;
      this.#queued.push({ bytes: part, chunk: views });
      this.#queuedBytes += part.length;
    }
    this.#scheduleFlush();
    this.#released(views);
  }

  /** Copies `bytes` at the end of this turn's part, moving on to fresh chunks as they fill. */
  #copyIn(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      if (this.#filled === this.#chunk.bytes.length) this.#queueChunk(true);
      const take = Math.min(bytes.length - done, this.#chunk.bytes.length - this.#filled);
      this.#chunk.bytes.set(bytes.subarray(done, done + take), this.#filled);
      this.#filled += take;
      done += take;
    }
  }

  #released(views: ViewSet): void {
    views.pending -= 1;
    if (views.pending === 0) views.written();
  }

  /** Hands everything reserved so far to the socket (payloads must be written by now). */
  flush(): void {
    this.#queueChunk(false);
    if (this.#queued.length === 0) return;
    const queued = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    if (this.closed) {
      for (const { chunk } of queued) this.#written(chunk); // dropped: nothing refers to them now
      return;
    }
    // Corked: the parts of a turn (chunk parts and views) leave in one writev, not one write each.
    if (queued.length > 1) this.#socket.cork();
    for (const { bytes, chunk } of queued) {
      this.bytesWritten += bytes.length;
      this.#socket.write(bytes, () => this.#written(chunk));
    }
    if (queued.length > 1) this.#socket.uncork();
  }

  /** A part of `chunk` (or a view) was written by the socket (or failed, or was dropped). */
  #written(chunk: WriteChunk | ViewSet): void {
    if (!(chunk instanceof WriteChunk)) return this.#released(chunk);
    chunk.pendingWrites -= 1;
    this.#releaseIfIdle(chunk);
  }

  /** A retired chunk with no part queued or in flight goes back to its free list (if there is room). */
  #releaseIfIdle(chunk: WriteChunk): void {
    if (chunk.pendingWrites > 0 || !chunk.retired) return;
    if (chunk.bytes.length === WRITE_CHUNK_BYTES) {
      if (this.#freeChunks.length < FREE_CHUNKS_MAX) this.#freeChunks.push(chunk);
    } else if (this.#freeLargeBytes + chunk.bytes.length <= FREE_LARGE_BYTES_MAX) {
      this.#freeLarge.push(chunk);
      this.#freeLargeBytes += chunk.bytes.length;
    }
  }

  /** A free large-message buffer of at least `bytes`, or a new one. */
  #takeLarge(bytes: number): WriteChunk {
    const index = this.#freeLarge.findIndex((chunk) => chunk.bytes.length >= bytes);
    if (index >= 0) {
      const [chunk] = this.#freeLarge.splice(index, 1);
      this.#freeLargeBytes -= chunk!.bytes.length;
      chunk!.retired = false;
      return chunk!;
    }
    this.buffersAllocated += 1;
    return new WriteChunk(Math.ceil(bytes / LARGE_STEP_BYTES) * LARGE_STEP_BYTES);
  }

  /** Queues this turn's part; a new chunk when `retire` or when little room is left in this one. */
  #queueChunk(retire: boolean): void {
    if (this.#filled > this.#start) {
      this.#chunk.pendingWrites += 1;
      this.#queued.push({ bytes: this.#chunk.bytes.subarray(this.#start, this.#filled), chunk: this.#chunk });
      this.#queuedBytes += this.#filled - this.#start;
      this.#start = this.#filled;
    }
    if (retire || this.#chunk.bytes.length - this.#filled < WRITE_CHUNK_REST_BYTES_MIN) {
      const old = this.#chunk;
      old.retired = true;
      let next = this.#freeChunks.pop();
      if (next === undefined) {
        next = new WriteChunk(WRITE_CHUNK_BYTES);
        this.buffersAllocated += 1;
      }
      next.retired = false;
      this.#chunk = next;
      this.#start = 0;
      this.#filled = 0;
      // Every part already written: free at once; else the last part's write frees it.
      this.#releaseIfIdle(old);
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }
}
