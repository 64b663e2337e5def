/**
 * Reassembles fragmented river frames: fragments of one frame share (epoch, seq) and arrive as
 * separate datagrams, possibly out of order or not at all. It sits between frame decoding and the
 * gap tracker. Every fragment but the last carries the same number of body bytes (writeFragments),
 * so the first one to arrive sizes the frame's buffer and each is copied to its place on arrival:
 * one copy per byte, and the fragment may come from a reused receive ring. A single-fragment frame
 * passes through as it is, or copied when its bytes are `transient` (the ring).
 *
 * It checks each fragment's body against the CRC its (already checked) header states, in the
 * same pass as the copy (crc32cCopy): a fragment that fails is dropped as if lost, and NAKed.
 *
 * In place (addInPlace): fragments the multicast receiver scattered into a chunk (scatter-chunks.ts)
 * whose frame's fragments all land in consecutive slots of one chunk, as they do when they arrive
 * in order, are the frame's body where they are: no copy, only the CRC check. A fragment out of
 * place (reordered, retransmitted, across two chunks) turns its frame to the copying path.
 *
 * Bounds: at most `framesMax` partial frames and `bytesMax` bytes held by them; past either, the
 * oldest (lowest seq) is dropped and the gap tracker NAKs it later. Invariant: a completed body
 * has exactly the fragments' bytes, in fragment order.
 */
import { crc32c, crc32cCopy } from '../../native/index.ts';
import type { FrameHeader } from './frame.ts';
import { CHUNK_BYTES, ScatterChunks, type Chunk } from './scatter-chunks.ts';

type Partial = {
  epoch: number; entryCount: number; fragmentCount: number; received: number;
  /** Which fragments arrived. */
  have: Uint8Array;
  /** Each arrived fragment's body CRC (checked). */
  crcs: Uint32Array;
  /** Body bytes of every fragment but the last; 0 until one of them arrived. */
  fragmentBytes: number;
  /** fragmentCount x fragmentBytes once fragmentBytes is known. */
  whole: Buffer | null;
  /** The last fragment, kept (copied) until the frame's size is known. */
  last: Buffer | null;
  lastBytes: number;
  /** Bytes this partial holds (its buffer, or the kept last fragment, or its fragments in place). */
  heldBytes: number;
  /** Fragments in place in a chunk, fragment i in slot slot0 + i; null once (or if never) in place. */
  inPlace: { chunk: Chunk; slot0: number } | null;
  /** Fragments were copied: never in place again. */
  copying: boolean;
};

/** add()'s answer for a fragment whose body does not match its header's CRC: dropped as if lost. */
export const BODY_CRC_FAILED = 'body-crc';

/**
 * `own`: the buffer the reassembler allocated for the body (null when `body` is the caller's), for
 * `recycle`. `fragments`: a frame of several fragments, their size and checked body CRCs.
 */
export type CompleteFrame = {
  seq: number; epoch: number; entryCount: number; body: Buffer; own?: Buffer | null;
  fragments?: { fragmentBytes: number; crcs: Uint32Array };
};

/** Frame buffers kept for reuse at most (count and bytes), and the size step new ones are rounded to. */
const POOL_BUFFERS_MAX = 64;
const POOL_BYTES_MAX = 64 * 1024 * 1024;
const POOL_STEP_BYTES = 64 * 1024;

/** Bytes of partial frames held at most, by default: a few large frames with lost fragments. */
export const REASSEMBLY_BYTES_MAX = 64 * 1024 * 1024;
/** A single-fragment frame shorter than this is copied out of its chunk, so that it pins no chunk. */
const IN_PLACE_BYTES_MIN = 32 * 1024;

export class Reassembler {
  readonly framesMax: number;
  readonly bytesMax: number;
  readonly #partials = new Map<number, Partial>();
  readonly #pooled: boolean;
  readonly #chunks: ScatterChunks;
  readonly #pool: Buffer[] = [];
  #poolBytes = 0;
  #buffersAllocated = 0;
  #heldBytes = 0;
  dropped = 0;
  /** Fragments that contradicted their frame's other fragments (sizes); the frame is dropped. */
  malformed = 0;
  /** Fragments whose body failed its CRC; dropped as if lost. */
  corruptFragments = 0;
  /** Frames handed on in place (no copy), and frames that left the in-place path for copying. */
  framesInPlace = 0;
  framesLeftPlace = 0;

  /**
   * `pooled`: frame buffers come from the pool that `recycle` fills, sized in 64 KiB steps so they
   * fit the next frames; for a receiver that recycles (a commit). Otherwise each is exactly sized.
   * Only a pooled reassembler takes frames in place. `chunkBytes`: of each scatter chunk (tests).
   */
  constructor(framesMax = 256, bytesMax = REASSEMBLY_BYTES_MAX, pooled = false, chunkBytes = CHUNK_BYTES) {
    this.framesMax = framesMax;
    this.bytesMax = bytesMax;
    this.#pooled = pooled;
    this.#chunks = new ScatterChunks(chunkBytes);
  }

  /**
   * Feeds one fragment; returns the complete frame when this was its last missing fragment, or
   * BODY_CRC_FAILED when `body` does not match `header.bodyCrc` (required: decode with the body
   * unchecked). `transient`: `body` is overwritten after this call (a receive ring), so nothing keeps it.
   */
  add(header: FrameHeader, body: Buffer, transient = false): CompleteFrame | null | typeof BODY_CRC_FAILED {
    const bodyCrc = header.bodyCrc;
    if (bodyCrc === undefined) throw new Error('reassembler: a fragment header without its body CRC');
    if (header.fragmentCount === 1) {
      if (!transient) {
        if ((crc32c(body, 0, 0, body.length) >>> 0) !== bodyCrc) return this.#corrupt();
        return { seq: header.seq, epoch: header.epoch, entryCount: header.entryCount, body };
      }
      const own = this.#take(body.length);
      if ((crc32cCopy(body, 0, body.length, own, 0, 0) >>> 0) !== bodyCrc) {
        this.recycle(own);
        return this.#corrupt();
      }
      return { seq: header.seq, epoch: header.epoch, entryCount: header.entryCount, body: own.subarray(0, body.length),
        own };
    }
    const partial = this.#partialFor(header);
    const index = header.fragmentIndex;
    if (index >= partial.fragmentCount || partial.have[index] === 1) return null;
    if (partial.inPlace !== null && !this.#leavePlace(header.seq, partial)) return null;
    return this.#addCopy(header.seq, partial, index, body, bodyCrc);
  }

  /**
   * add() for a body the multicast receiver scattered into a chunk from `nextBodies` (the body is
   * not transient: it stays until its chunk is reused, which this class decides). A complete
   * frame in place has its chunk as `own`: the member must tell `claimed(own)` or `recycle(own)`.
   */
  addInPlace(header: FrameHeader, body: Buffer): CompleteFrame | null | typeof BODY_CRC_FAILED {
    const bodyCrc = header.bodyCrc;
    const chunk = this.#chunks.of(body);
    if (bodyCrc === undefined || chunk === null || !this.#pooled) return this.add(header, body, true);
    const slot = this.#chunks.slotOf(chunk, body);
    if (header.fragmentCount === 1) {
      if (body.length < IN_PLACE_BYTES_MIN) return this.add(header, body, true);
      if ((crc32c(body, 0, 0, body.length) >>> 0) !== bodyCrc) return this.#corrupt();
      this.framesInPlace += 1;
      return { seq: header.seq, epoch: header.epoch, entryCount: header.entryCount, body, own: chunk.buffer };
    }
    const partial = this.#partialFor(header);
    const index = header.fragmentIndex;
    const count = partial.fragmentCount;
    if (index >= count || partial.have[index] === 1) return null;
    if (partial.inPlace === null && !partial.copying && partial.received === 0) {
      const slot0 = slot - index;
      if (slot0 >= 0 && slot0 + count <= chunk.slots) {
        partial.inPlace = { chunk, slot0 };
        this.#chunks.holdPartial(chunk);
      }
    }
    const inPlace = partial.inPlace;
    if (inPlace !== null) {
      const fits = inPlace.chunk === chunk && slot === inPlace.slot0 + index
        && (index === count - 1 ? body.length <= chunk.stride : body.length === chunk.stride);
      if (fits) {
        if ((crc32c(body, 0, 0, body.length) >>> 0) !== bodyCrc) return this.#corrupt();
        partial.have[index] = 1;
        partial.crcs[index] = bodyCrc;
        partial.received += 1;
        if (index === count - 1) partial.lastBytes = body.length;
        this.#hold(partial, body.length);
        if (partial.received < count) {
          while (this.#heldBytes > this.bytesMax && this.#partials.size > 1) this.#dropOldest();
          return null;
        }
        this.#forget(header.seq, partial);
        this.framesInPlace += 1;
        const start = inPlace.slot0 * chunk.stride;
        return { seq: header.seq, epoch: partial.epoch, entryCount: partial.entryCount,
          body: chunk.buffer.subarray(start, start + (count - 1) * chunk.stride + partial.lastBytes), own: chunk.buffer,
          fragments: { fragmentBytes: chunk.stride, crcs: partial.crcs } };
      }
      if (!this.#leavePlace(header.seq, partial)) return null;
    }
    return this.#addCopy(header.seq, partial, index, body, bodyCrc);
  }

  /** The chunks' side of recycle: the member's receiver keeps views of `own` (holdsFrame said so). */
  claimed(own: Buffer): void {
    this.#chunks.claimed(own);
  }

  /** A frame in `own` went where nothing gives it back (the gap tracker): its chunk is never reused. */
  abandon(own: Buffer): void {
    this.#chunks.abandon(own);
  }

  /** The multicast receiver's next chunk for scattered bodies (MulticastReceiver's `scatter`). */
  nextBodies(previous: Buffer | null, stride: number): Buffer {
    return this.#chunks.next(previous, stride);
  }

  /** Chunks allocated for scattered bodies (tests: reuse shows as few). */
  get chunksAllocated(): number { return this.#chunks.allocated; }

  #partialFor(header: FrameHeader): Partial {
    let partial = this.#partials.get(header.seq);
    if (partial && (partial.epoch !== header.epoch || partial.fragmentCount !== header.fragmentCount)) {
      this.#forget(header.seq, partial);
      partial = undefined;
    }
    if (!partial) {
      if (this.#partials.size >= this.framesMax) this.#dropOldest();
      partial = { epoch: header.epoch, entryCount: header.entryCount, fragmentCount: header.fragmentCount,
        received: 0, have: new Uint8Array(header.fragmentCount), crcs: new Uint32Array(header.fragmentCount),
        fragmentBytes: 0, whole: null, last: null, lastBytes: 0, heldBytes: 0, inPlace: null, copying: false };
      this.#partials.set(header.seq, partial);
    }
    return partial;
  }

  /**
   * Turns an in-place partial frame to the copying path: its fragments so far are copied out of
   * the chunk (checked again as they go) and the chunk is let go. False when the frame was dropped.
   */
  #leavePlace(seq: number, partial: Partial): boolean {
    const { chunk, slot0 } = partial.inPlace!;
    partial.inPlace = null;
    partial.copying = true;
    this.framesLeftPlace += 1;
    const arrived: number[] = [];
    for (let i = 0; i < partial.fragmentCount; i++) if (partial.have[i] === 1) arrived.push(i);
    partial.have.fill(0);
    partial.received = 0;
    this.#hold(partial, -partial.heldBytes);
    const lastBytes = partial.lastBytes;
    for (const i of arrived) {
      if (this.#partials.get(seq) !== partial) break; // dropped meanwhile (bytes bound)
      const start = (slot0 + i) * chunk.stride;
      const end = start + (i === partial.fragmentCount - 1 ? lastBytes : chunk.stride);
      if (this.#addCopy(seq, partial, i, chunk.buffer.subarray(start, end), partial.crcs[i]!) !== null) break;
    }
    this.#chunks.releasePartial(chunk);
    return this.#partials.get(seq) === partial;
  }

  /** The copying path of a fragment of a frame of several (see add). */
  #addCopy(seq: number, partial: Partial, index: number, body: Buffer,
    bodyCrc: number): CompleteFrame | null | typeof BODY_CRC_FAILED {
    partial.copying = true;
    const isLast = index === partial.fragmentCount - 1;
    if (!isLast && partial.fragmentBytes === 0) {
      if (body.length === 0) return this.#reject(seq, partial);
      partial.fragmentBytes = body.length;
      this.#hold(partial, partial.fragmentCount * body.length);
      partial.whole = this.#take(partial.fragmentCount * body.length);
      if (partial.last) {
        if (partial.last.length > partial.fragmentBytes) return this.#reject(seq, partial);
        partial.last.copy(partial.whole, (partial.fragmentCount - 1) * partial.fragmentBytes);
        this.#hold(partial, -partial.last.length);
        partial.last = null;
      }
    }
    // Sizes come from the checked header, so a corrupt body cannot mis-size the frame: it is only
    // not marked as arrived (its bytes are overwritten when it comes again).
    if (isLast) {
      if (partial.whole) {
        if (body.length > partial.fragmentBytes) return this.#reject(seq, partial);
        if (!this.#copyChecked(body, partial.whole, index * partial.fragmentBytes, bodyCrc)) return this.#corrupt();
      } else {
        const last = Buffer.allocUnsafe(body.length);
        if (!this.#copyChecked(body, last, 0, bodyCrc)) return this.#corrupt();
        partial.last = last;
        this.#hold(partial, body.length);
      }
      partial.lastBytes = body.length;
    } else {
      if (body.length !== partial.fragmentBytes) return this.#reject(seq, partial);
      if (!this.#copyChecked(body, partial.whole!, index * partial.fragmentBytes, bodyCrc)) return this.#corrupt();
    }
    partial.have[index] = 1;
    partial.crcs[index] = bodyCrc;
    partial.received += 1;
    if (partial.received < partial.fragmentCount) {
      while (this.#heldBytes > this.bytesMax && this.#partials.size > 1) this.#dropOldest();
      return null;
    }
    this.#forget(seq, partial);
    const bytes = (partial.fragmentCount - 1) * partial.fragmentBytes + partial.lastBytes;
    return { seq, epoch: partial.epoch, entryCount: partial.entryCount,
      body: partial.whole!.subarray(0, bytes), own: partial.whole,
      fragments: { fragmentBytes: partial.fragmentBytes, crcs: partial.crcs } };
  }

  /**
   * Gives back a completed frame's buffer once nothing refers to its body any more (the member
   * delivered it and its receiver copied the entries): the next frame reuses it instead of a new
   * allocation. Bounded: at most POOL_BUFFERS_MAX buffers, POOL_BYTES_MAX bytes; a full pool drops
   * its oldest buffers, so it follows the sizes of recent frames (a buffer that fits no frame any
   * more must not hold a slot for good).
   */
  recycle(own: Buffer): void {
    if (this.#chunks.giveBack(own)) return;
    if (!this.#pooled || own.length > POOL_BYTES_MAX) return;
    while (this.#pool.length >= POOL_BUFFERS_MAX || this.#poolBytes + own.length > POOL_BYTES_MAX) {
      this.#poolBytes -= this.#pool.shift()!.length;
    }
    this.#pool.push(own);
    this.#poolBytes += own.length;
  }

  /** Buffers allocated for frame bodies (tests: reuse shows as few). */
  get buffersAllocated(): number { return this.#buffersAllocated; }

  #take(bytes: number): Buffer {
    if (!this.#pooled) {
      this.#buffersAllocated += 1;
      return Buffer.allocUnsafe(bytes);
    }
    // The smallest pooled buffer that fits and is not much larger (a small frame must not pin a big one).
    let index = -1;
    for (let i = 0; i < this.#pool.length; i++) {
      const length = this.#pool[i]!.length;
      if (length >= bytes && length <= 2 * bytes + POOL_STEP_BYTES
        && (index < 0 || length < this.#pool[index]!.length)) index = i;
    }
    if (index >= 0) {
      const own = this.#pool[index]!;
      this.#pool.splice(index, 1);
      this.#poolBytes -= own.length;
      return own;
    }
    // A quarter more than this frame: sizes vary from frame to frame, and a buffer that fits only
    // frames as big as its first is seldom reused (measured: 40 % of a gateway's frames).
    this.#buffersAllocated += 1;
    return Buffer.allocUnsafe(Math.ceil(bytes * 1.25 / POOL_STEP_BYTES) * POOL_STEP_BYTES);
  }

  /**
   * Partial frames with seq in [fromSeq, toSeq), in seq order, with the fragments still missing:
   * a member NAKs just those fragments instead of the whole frame.
   */
  partialsIn(fromSeq: number, toSeq: number): Array<{ seq: number; entryCount: number; missing: number[] }> {
    const found: Array<{ seq: number; entryCount: number; missing: number[] }> = [];
    for (const [seq, partial] of this.#partials) {
      if (seq < fromSeq || seq >= toSeq) continue;
      const missing: number[] = [];
      for (let i = 0; i < partial.fragmentCount; i++) if (partial.have[i] === 0) missing.push(i);
      found.push({ seq, entryCount: partial.entryCount, missing });
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets partial frames below `seq` (already delivered by another path). */
  discardBelow(seq: number): void {
    for (const [key, partial] of this.#partials) if (key < seq) this.#forget(key, partial);
  }

  get pending(): number { return this.#partials.size; }

  /** Bytes held by partial frames. */
  get heldBytes(): number { return this.#heldBytes; }

  #hold(partial: Partial, bytes: number): void {
    partial.heldBytes += bytes;
    this.#heldBytes += bytes;
  }

  #forget(seq: number, partial: Partial): void {
    this.#partials.delete(seq);
    this.#heldBytes -= partial.heldBytes;
    partial.heldBytes = 0;
    if (partial.inPlace !== null) {
      this.#chunks.releasePartial(partial.inPlace.chunk);
      partial.inPlace = null;
    }
  }

  #copyChecked(body: Buffer, target: Buffer, at: number, bodyCrc: number): boolean {
    return (crc32cCopy(body, 0, body.length, target, at, 0) >>> 0) === bodyCrc;
  }

  #corrupt(): typeof BODY_CRC_FAILED {
    this.corruptFragments += 1;
    return BODY_CRC_FAILED;
  }

  /** A fragment whose size contradicts its frame's: drop the frame (NAKed whole later). */
  #reject(seq: number, partial: Partial): null {
    this.malformed += 1;
    this.#forget(seq, partial);
    return null;
  }

  #dropOldest(): void {
    let oldest = Infinity;
    for (const key of this.#partials.keys()) if (key < oldest) oldest = key;
    const partial = this.#partials.get(oldest);
    if (partial) this.#forget(oldest, partial);
    this.dropped += 1;
  }
}
