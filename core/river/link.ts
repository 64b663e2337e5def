/**
 * The TCP link: every connection between x2 members (appender -> sequencer, member control link,
 * peer reads) carries length-prefixed messages: u32 length (of type + payload), u8 type, payload.
 * It sits under messages.ts and above net.Socket.
 *
 * Reading survives split reads: a message inside one received chunk is handed out as a view of that
 * chunk (Node gives a fresh Buffer per read, so views may be kept); a message spanning chunks is
 * assembled once into its own buffer. Writing batches small messages into one chunk per event-loop
 * turn (one socket write, not one per message). A chunk is filled turn after turn, each turn's part
 * handed to the socket as a view and never written again, and replaced only when full: a fresh
 * 256 KiB chunk per turn per link made the sequencer spend ~20 % of its CPU in GC.
 *
 * Bounds: a message is at most `messageBytesMax` (a bigger length closes the link: bad input);
 * the writer's backlog is visible as `backlogBytes` so callers can stop producing.
 */
import type { Socket } from 'node:net';

export const LINK_HEADER_BYTES = 5;
export const LINK_MESSAGE_BYTES_MAX = 32 * 1024 * 1024;
const WRITE_CHUNK_BYTES = 256 * 1024;
/** Below this much room left, a chunk is retired at the end of the turn. */
const WRITE_CHUNK_REST_BYTES_MIN = 4 * 1024;

export type OnMessage = (type: number, payload: Buffer) => void;

export class LinkReader {
  readonly messageBytesMax: number;
  readonly #onMessage: OnMessage;
  #partial: Buffer | null = null; // an incomplete message (header included), assembled across reads
  #partialFilled = 0;
  #head: Buffer | null = null; // fewer than LINK_HEADER_BYTES bytes left over from the last read

  constructor(onMessage: OnMessage, messageBytesMax = LINK_MESSAGE_BYTES_MAX) {
    this.#onMessage = onMessage;
    this.messageBytesMax = messageBytesMax;
  }

  /** Feeds one received chunk. Returns an error text when the peer sent garbage (close the link). */
  feed(input: Buffer): string | null {
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
        this.#partial = Buffer.allocUnsafe(total);
        chunk.copy(this.#partial, 0, position);
        this.#partialFilled = available;
        return null;
      }
      this.#onMessage(chunk[position + 4]!, chunk.subarray(position + LINK_HEADER_BYTES, position + total));
      position += total;
    }
    return null;
  }
}

export class LinkWriter {
  readonly #socket: Socket;
  #chunk: Buffer = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  /** Start of this turn's part of the chunk (earlier parts belong to the socket now). */
  #start = 0;
  #filled = 0;
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  #closed = false;
  bytesWritten = 0;

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
      const own = Buffer.allocUnsafe(total);
      own.writeUInt32LE(1 + payloadBytes, 0);
      own[4] = type;
      this.#queued.push(own);
      this.#queuedBytes += total;
      this.#scheduleFlush();
      return { buffer: own, position: LINK_HEADER_BYTES };
    }
    if (this.#filled + total > this.#chunk.length) this.#queueChunk(true);
    const position = this.#filled;
    this.#chunk.writeUInt32LE(1 + payloadBytes, position);
    this.#chunk[position + 4] = type;
    this.#filled += total;
    this.#scheduleFlush();
    return { buffer: this.#chunk, position: position + LINK_HEADER_BYTES };
  }

  send(type: number, payload: Uint8Array): void {
    const { buffer, position } = this.reserve(type, payload.length);
    buffer.set(payload, position);
  }

  /** Hands everything reserved so far to the socket (payloads must be written by now). */
  flush(): void {
    this.#queueChunk(false);
    if (this.#queued.length === 0) return;
    const queued = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    if (this.closed) return;
    for (const bytes of queued) {
      this.bytesWritten += bytes.length;
      this.#socket.write(bytes);
    }
  }

  /** Queues this turn's part; a new chunk when `retire` or when little room is left in this one. */
  #queueChunk(retire: boolean): void {
    if (this.#filled > this.#start) {
      this.#queued.push(this.#chunk.subarray(this.#start, this.#filled));
      this.#queuedBytes += this.#filled - this.#start;
      this.#start = this.#filled;
    }
    if (retire || this.#chunk.length - this.#filled < WRITE_CHUNK_REST_BYTES_MIN) {
      this.#chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
      this.#start = 0;
      this.#filled = 0;
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
