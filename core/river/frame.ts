/**
 * River frames: the unit the sequencer sends on the river (UDP multicast datagrams, or the same
 * bytes inside TCP link messages). A frame is a fixed 48-byte little-endian header and a body.
 *
 * Header layout (positions in bytes):
 *   0 magic u32 ("X2RV")   4 version u8   5 kind u8   6 fragmentIndex u16   8 fragmentCount u16
 *  10 entryCount u16      12 riverId u32 16 epoch u32 20 bodyBytes u32
 *  24 seq u64             32 committedSeq u64         40 bodyCrc u32        44 headerCrc u32
 * Two CRC32Cs: headerCrc over bytes [0, 44) so the header is trusted before the body is looked at
 * (a corrupt length can never make us read past the datagram), bodyCrc over this fragment's body.
 *
 * Kinds: DATA (entries with seqs seq .. seq+entryCount-1), HEARTBEAT (no body; seq = last seq
 * sequenced, sent when idle so a lost tail is noticed), RETRANSMIT (a DATA fragment resent after a
 * NAK; same body). Every frame carries the committed seq, so commits and subscribers learn it
 * without a separate message.
 *
 * A DATA body is a list of entries, each: streamId u32, recordCount u32, baseOffset u64,
 * batchBytes u32, then the Kafka RecordBatch v2 bytes (20-byte entry header). A body longer than
 * the datagram allows is cut into fragments (fragmentCount <= FRAGMENT_COUNT_MAX); each fragment
 * repeats the header with its own fragmentIndex, bodyBytes and bodyCrc.
 *
 * Bounds: entryCount <= 65535; bodyBytes <= FRAME_BODY_BYTES_MAX; seq, offsets < 2^53.
 */
import { assert } from '../base/assert.ts';
import { crc32c, crc32cCopy } from '../../native/index.ts';

export const FRAME_MAGIC = 0x56523258; // "X2RV" read as little-endian u32
export const FRAME_VERSION = 1;
export const FRAME_KIND = { data: 1, heartbeat: 2, retransmit: 3 } as const;
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

export const MAGIC_POSITION = 0;
export const VERSION_POSITION = 4;
export const KIND_POSITION = 5;
export const FRAGMENT_INDEX_POSITION = 6;
export const FRAGMENT_COUNT_POSITION = 8;
export const ENTRY_COUNT_POSITION = 10;
export const RIVER_ID_POSITION = 12;
export const EPOCH_POSITION = 16;
export const BODY_BYTES_POSITION = 20;
export const SEQ_POSITION = 24;
export const COMMITTED_SEQ_POSITION = 32;
export const BODY_CRC_POSITION = 40;
export const HEADER_CRC_POSITION = 44;
export const FRAME_HEADER_BYTES = 48;
assert(HEADER_CRC_POSITION + 4 === FRAME_HEADER_BYTES, 'frame header layout does not add up');

export const ENTRY_HEADER_BYTES = 20;
export const FRAGMENT_COUNT_MAX = 4096;
export const ENTRY_COUNT_MAX = 0xffff;
/** One logical frame body (all fragments) is at most 16 MiB. */
export const FRAME_BODY_BYTES_MAX = 16 * 1024 * 1024;

export type FrameHeader = {
  kind: FrameKind;
  fragmentIndex: number;
  fragmentCount: number;
  entryCount: number;
  riverId: number;
  epoch: number;
  bodyBytes: number;
  seq: number;
  committedSeq: number;
  /** The body's CRC-32C as the header states it: set by decodeFrameHeader, ignored by writers. */
  bodyCrc?: number;
};

export type RiverEntry = {
  streamId: number;
  recordCount: number;
  baseOffset: number;
  batch: Uint8Array;
};

const TWO_32 = 2 ** 32;

export function writeU64(target: Buffer, position: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `u64 out of range: ${value}`);
  target.writeUInt32LE(value % TWO_32, position);
  target.writeUInt32LE(Math.floor(value / TWO_32), position + 4);
}

/** Reads a u64 that must fit a safe integer; returns -1 when it does not (bad input, not a bug). */
export function readU64(source: Buffer, position: number): number {
  const high = source.readUInt32LE(position + 4);
  if (high >= 0x200000) return -1;
  return high * TWO_32 + source.readUInt32LE(position);
}

/**
 * Writes a header at `position`, including both CRCs (the body must already be in place).
 * `bodyCrc`: the body's CRC-32C when the caller has it already (computed as it copied the body).
 */
export function writeFrameHeader(target: Buffer, position: number, header: FrameHeader, bodyCrc?: number): void {
  assert(header.bodyBytes <= FRAME_BODY_BYTES_MAX, 'frame body too large');
  assert(header.fragmentIndex < header.fragmentCount, 'fragment index out of range');
  target.writeUInt32LE(FRAME_MAGIC, position + MAGIC_POSITION);
  target.writeUInt8(FRAME_VERSION, position + VERSION_POSITION);
  target.writeUInt8(header.kind, position + KIND_POSITION);
  target.writeUInt16LE(header.fragmentIndex, position + FRAGMENT_INDEX_POSITION);
  target.writeUInt16LE(header.fragmentCount, position + FRAGMENT_COUNT_POSITION);
  target.writeUInt16LE(header.entryCount, position + ENTRY_COUNT_POSITION);
  target.writeUInt32LE(header.riverId >>> 0, position + RIVER_ID_POSITION);
  target.writeUInt32LE(header.epoch >>> 0, position + EPOCH_POSITION);
  target.writeUInt32LE(header.bodyBytes, position + BODY_BYTES_POSITION);
  writeU64(target, position + SEQ_POSITION, header.seq);
  writeU64(target, position + COMMITTED_SEQ_POSITION, header.committedSeq);
  const bodyStart = position + FRAME_HEADER_BYTES;
  const crc = bodyCrc ?? crc32c(target, 0, bodyStart, bodyStart + header.bodyBytes);
  target.writeUInt32LE(crc >>> 0, position + BODY_CRC_POSITION);
  rewriteHeaderCrc(target, position);
}

/** Recomputes the header CRC after a field was patched in place (kind, committedSeq). */
export function rewriteHeaderCrc(target: Buffer, position: number): void {
  const headerCrc = crc32c(target, 0, position, position + HEADER_CRC_POSITION);
  target.writeUInt32LE(headerCrc >>> 0, position + HEADER_CRC_POSITION);
}

export type FrameDecodeError =
  | 'short' | 'magic' | 'version' | 'header-crc' | 'kind' | 'length' | 'body-crc' | 'fragment' | 'range';

/**
 * Checks one frame at `source[position, position+available)`: header CRC first, then the body.
 * Returns the header, or the reason it was refused (counted and dropped by the caller).
 * `checkBody` false leaves the body to the caller, who checks it against `bodyCrc` (the
 * reassembler does, while it copies the body: one pass instead of two).
 */
export function decodeFrameHeader(source: Buffer, position: number, available: number,
  checkBody = true): FrameHeader | FrameDecodeError {
  if (available < FRAME_HEADER_BYTES) return 'short';
  if (source.readUInt32LE(position + MAGIC_POSITION) !== FRAME_MAGIC) return 'magic';
  if (source.readUInt8(position + VERSION_POSITION) !== FRAME_VERSION) return 'version';
  const headerCrc = crc32c(source, 0, position, position + HEADER_CRC_POSITION) >>> 0;
  if (headerCrc !== source.readUInt32LE(position + HEADER_CRC_POSITION)) return 'header-crc';
  const kind = source.readUInt8(position + KIND_POSITION);
  if (kind !== FRAME_KIND.data && kind !== FRAME_KIND.heartbeat && kind !== FRAME_KIND.retransmit) return 'kind';
  const bodyBytes = source.readUInt32LE(position + BODY_BYTES_POSITION);
  if (bodyBytes > available - FRAME_HEADER_BYTES || bodyBytes > FRAME_BODY_BYTES_MAX) return 'length';
  const fragmentIndex = source.readUInt16LE(position + FRAGMENT_INDEX_POSITION);
  const fragmentCount = source.readUInt16LE(position + FRAGMENT_COUNT_POSITION);
  if (fragmentCount === 0 || fragmentCount > FRAGMENT_COUNT_MAX || fragmentIndex >= fragmentCount) return 'fragment';
  const seq = readU64(source, position + SEQ_POSITION);
  const committedSeq = readU64(source, position + COMMITTED_SEQ_POSITION);
  if (seq < 0 || committedSeq < 0) return 'range';
  const bodyCrc = source.readUInt32LE(position + BODY_CRC_POSITION);
  if (checkBody) {
    const bodyStart = position + FRAME_HEADER_BYTES;
    if ((crc32c(source, 0, bodyStart, bodyStart + bodyBytes) >>> 0) !== bodyCrc) return 'body-crc';
  }
  return {
    kind: kind as FrameKind,
    fragmentIndex,
    fragmentCount,
    entryCount: source.readUInt16LE(position + ENTRY_COUNT_POSITION),
    riverId: source.readUInt32LE(position + RIVER_ID_POSITION),
    epoch: source.readUInt32LE(position + EPOCH_POSITION),
    bodyBytes,
    seq,
    committedSeq,
    bodyCrc,
  };
}

/** Bytes an entry takes in a DATA body. */
export function entryBytes(batchBytes: number): number {
  return ENTRY_HEADER_BYTES + batchBytes;
}

/** Writes one entry's header at `position` (its batch follows it); returns the position after the header. */
export function writeEntryHeader(target: Buffer, position: number, entry: RiverEntry): number {
  target.writeUInt32LE(entry.streamId >>> 0, position);
  target.writeUInt32LE(entry.recordCount >>> 0, position + 4);
  writeU64(target, position + 8, entry.baseOffset);
  target.writeUInt32LE(entry.batch.length, position + 16);
  return position + ENTRY_HEADER_BYTES;
}

/** Writes one entry at `position`; returns the position after it. */
export function writeEntry(target: Buffer, position: number, entry: RiverEntry): number {
  const batchStart = writeEntryHeader(target, position, entry);
  target.set(entry.batch, batchStart);
  return batchStart + entry.batch.length;
}

/**
 * Decodes `entryCount` entries from a reassembled body. The batches are views into `body`
 * (no copy). Returns null when the body does not hold exactly that many well-formed entries.
 */
export function readEntries(body: Buffer, entryCount: number): RiverEntry[] | null {
  const entries: RiverEntry[] = [];
  let position = 0;
  for (let i = 0; i < entryCount; i++) {
    if (position + ENTRY_HEADER_BYTES > body.length) return null;
    const batchBytes = body.readUInt32LE(position + 16);
    const end = position + ENTRY_HEADER_BYTES + batchBytes;
    if (end > body.length) return null;
    const baseOffset = readU64(body, position + 8);
    if (baseOffset < 0) return null;
    entries.push({
      streamId: body.readUInt32LE(position),
      recordCount: body.readUInt32LE(position + 4),
      baseOffset,
      batch: body.subarray(position + ENTRY_HEADER_BYTES, end),
    });
    position = end;
  }
  return position === body.length ? entries : null;
}

/**
 * Cuts a logical DATA body into fragments of at most `fragmentBodyBytesMax` and writes them, each
 * with its header, contiguously into `target` at `position`. Returns the position after the last
 * fragment. The caller sized `target` with `fragmentedBytes`.
 */
export function writeFragments(
  target: Buffer, position: number, body: Buffer, header: FragmentsHeader, fragmentBodyBytesMax: number,
): number {
  const writer = new FragmentWriter();
  writer.begin(target, position, body.length, fragmentBodyBytesMax);
  writer.put(body, 0, body.length);
  return writer.finish(header);
}

export type FragmentsHeader = Omit<FrameHeader, 'fragmentIndex' | 'fragmentCount' | 'bodyBytes'>;

/** RecordBatch v2 bytes the sequencer patches: baseOffset i64 at 0, partitionLeaderEpoch i32 at 12. */
const PATCHED_BATCH_BYTES = 16;

/** Pieces at least this long are copied and CRC'd in one pass; shorter ones are copied and CRC'd later in runs. */
const CRC_COPY_BYTES_MIN = 4096;

/**
 * Writes a DATA body straight into its fragments at `target[position..]`, leaving room for each
 * fragment's header: the sequencer encodes entries directly into its retransmit ring, so a body is
 * never assembled apart and copied again. `begin`, then `put`/`putEntry` exactly `bodyBytes`, then
 * `finish` writes the headers. One writer is reused.
 *
 * Each fragment's body CRC is built as the body is written: a large piece with crc32cCopy (one pass
 * for copy and CRC), a run of small ones by one crc32c over the run when a large piece or `finish`
 * comes next (a native call per small piece would cost more than it saves).
 */
export class FragmentWriter {
  #target: Buffer = Buffer.alloc(0);
  #position = 0;
  #bodyBytes = 0;
  #fragmentBodyBytesMax = 1;
  #written = 0;
  readonly #scratch = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + PATCHED_BATCH_BYTES);
  /** Per fragment: the CRC of its body bytes [0, #crcEnds[i]). */
  readonly #crcs = new Uint32Array(FRAGMENT_COUNT_MAX);
  readonly #crcEnds = new Uint32Array(FRAGMENT_COUNT_MAX);

  begin(target: Buffer, position: number, bodyBytes: number, fragmentBodyBytesMax: number): void {
    assert(fragmentBodyBytesMax > 0, 'fragment body size must be positive');
    assert(position + fragmentedBytes(bodyBytes, fragmentBodyBytesMax) <= target.length, 'fragments do not fit');
    const fragmentCount = Math.max(1, Math.ceil(bodyBytes / fragmentBodyBytesMax));
    assert(fragmentCount <= FRAGMENT_COUNT_MAX, 'too many fragments');
    this.#target = target;
    this.#position = position;
    this.#bodyBytes = bodyBytes;
    this.#fragmentBodyBytesMax = fragmentBodyBytesMax;
    this.#written = 0;
    this.#crcs.fill(0, 0, fragmentCount);
    this.#crcEnds.fill(0, 0, fragmentCount);
  }

  /** Appends `source[start, end)` to the body, across fragment boundaries. */
  put(source: Uint8Array, start: number, end: number): void {
    assert(this.#written + end - start <= this.#bodyBytes, 'more body than begun with');
    const fragmentMax = this.#fragmentBodyBytesMax;
    let from = start;
    while (from < end) {
      const fragmentIndex = Math.floor(this.#written / fragmentMax);
      const inFragment = this.#written - fragmentIndex * fragmentMax;
      const bytes = Math.min(end - from, fragmentMax - inFragment);
      const at = this.#fragmentBodyStart(fragmentIndex) + inFragment;
      if (bytes >= CRC_COPY_BYTES_MIN) {
        this.#catchUpCrc(fragmentIndex, inFragment);
        const crc = this.#crcs[fragmentIndex]!;
        this.#crcs[fragmentIndex] = crc32cCopy(source, from, from + bytes, this.#target, at, crc);
        this.#crcEnds[fragmentIndex] = inFragment + bytes;
      } else {
        this.#target.set(source.subarray(from, from + bytes), at);
      }
      from += bytes;
      this.#written += bytes;
    }
  }

  #fragmentBodyStart(fragmentIndex: number): number {
    return this.#position + fragmentIndex * (FRAME_HEADER_BYTES + this.#fragmentBodyBytesMax) + FRAME_HEADER_BYTES;
  }

  /** Extends fragment `fragmentIndex`'s CRC over its body bytes already in place, up to `bodyEnd`. */
  #catchUpCrc(fragmentIndex: number, bodyEnd: number): void {
    const crcEnd = this.#crcEnds[fragmentIndex]!;
    if (crcEnd >= bodyEnd) return;
    const bodyStart = this.#fragmentBodyStart(fragmentIndex);
    const crc = this.#crcs[fragmentIndex]!;
    this.#crcs[fragmentIndex] = crc32c(this.#target, crc, bodyStart + crcEnd, bodyStart + bodyEnd);
    this.#crcEnds[fragmentIndex] = bodyEnd;
  }

  /**
   * Appends one entry whose RecordBatch (at least 16 bytes) gets `entry.baseOffset` and
   * `leaderEpoch` patched in: the batch CRC does not cover those two fields.
   */
  putEntry(entry: RiverEntry, leaderEpoch: number): void {
    const scratch = this.#scratch;
    assert(entry.batch.length >= PATCHED_BATCH_BYTES, 'batch too short to patch');
    scratch.writeUInt32LE(entry.streamId >>> 0, 0);
    scratch.writeUInt32LE(entry.recordCount >>> 0, 4);
    writeU64(scratch, 8, entry.baseOffset);
    scratch.writeUInt32LE(entry.batch.length, 16);
    scratch.set(entry.batch.subarray(0, PATCHED_BATCH_BYTES), ENTRY_HEADER_BYTES);
    scratch.writeUInt32BE(Math.floor(entry.baseOffset / TWO_32), ENTRY_HEADER_BYTES);
    scratch.writeUInt32BE(entry.baseOffset >>> 0, ENTRY_HEADER_BYTES + 4);
    scratch.writeInt32BE(leaderEpoch | 0, ENTRY_HEADER_BYTES + 12);
    this.put(scratch, 0, scratch.length);
    this.put(entry.batch, PATCHED_BATCH_BYTES, entry.batch.length);
  }

  /** Writes every fragment's header; returns the position after the last fragment. */
  finish(header: FragmentsHeader): number {
    assert(this.#written === this.#bodyBytes, 'body shorter than begun with');
    const fragmentMax = this.#fragmentBodyBytesMax;
    const fragmentCount = Math.max(1, Math.ceil(this.#bodyBytes / fragmentMax));
    assert(fragmentCount <= FRAGMENT_COUNT_MAX, 'too many fragments');
    const fragment: FrameHeader = { ...header, fragmentIndex: 0, fragmentCount, bodyBytes: 0 };
    let cursor = this.#position;
    for (let fragmentIndex = 0; fragmentIndex < fragmentCount; fragmentIndex++) {
      fragment.fragmentIndex = fragmentIndex;
      fragment.bodyBytes = Math.min(fragmentMax, this.#bodyBytes - fragmentIndex * fragmentMax);
      this.#catchUpCrc(fragmentIndex, fragment.bodyBytes);
      writeFrameHeader(this.#target, cursor, fragment, this.#crcs[fragmentIndex]!);
      cursor += FRAME_HEADER_BYTES + fragment.bodyBytes;
    }
    return cursor;
  }
}

export function fragmentedBytes(bodyBytes: number, fragmentBodyBytesMax: number): number {
  const fragmentCount = Math.max(1, Math.ceil(bodyBytes / fragmentBodyBytesMax));
  return bodyBytes + fragmentCount * FRAME_HEADER_BYTES;
}
