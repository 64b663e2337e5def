/**
 * Messages on the TCP link (link.ts): the member control link (hello, welcome, NAK, durable seq,
 * unicast river frames, retransmits, repair hints), the appender protocol (append, appended,
 * committed) and peer reads from commits (by seq or by stream and offset, entries). Hot messages (frames, NAKs,
 * appends, entries) are fixed binary layouts, little-endian; rare control messages are msgpack.
 *
 * Binary layouts (after the link header):
 *   FRAME      one or more river datagrams, back to back (frame.ts)
 *   NAK        fromSeq u64, toSeq u64 (half-open)
 *   NAK_FRAGMENTS  seq u64, count u16, fragment index u16 x count (the missing parts of one frame)
 *   DURABLE    durableSeq u64
 *   APPEND     requestId u32, entryCount u16, entries (frame.ts entry layout; baseOffset ignored)
 *   APPEND_IF  requestId u32, conditionCount u16, (streamId u32, nextOffset u64) x conditionCount, then
 *              entryCount u16, entries: sequenced only if every stream's next offset is as given
 *   APPENDED   requestId u32, firstSeq u64, entryCount u16, baseOffset u64 x entryCount
 *   COMMITTED  committedSeq u64 (durable on the write quorum), durableOneSeq u64 (on at least one commit)
 *   READ_SEQ   requestId u32, fromSeq u64, bytesMax u32
 *   READ_STREAM  requestId u32, streamId u32, offset u64, bytesMax u32: one stream's batches from
 *              the one holding `offset`, through the commit's index (a gateway's history read)
 *   STREAM_ENTRIES  its answer: requestId u32, count u16, then per entry seq u64, epoch u32,
 *              streamId u32, baseOffset u64, recordCount u32, batch bytes u32, then the batches
 *              back to back (a Fetch answers several with one view)
 *   ENTRIES    requestId u32, entryCount u16, then per entry: seq u64, epoch u32, entry layout
 */
import { pack, Unpackr } from 'msgpackr';
import {
  ENTRY_HEADER_BYTES, readEntries, readU64, writeEntry, writeEntryHeader, writeU64, type RiverEntry,
} from './frame.ts';
import type { LinkWriter } from './link.ts';

export const MESSAGE = {
  hello: 1,
  welcome: 2,
  frame: 3,
  nak: 4,
  durable: 5,
  append: 6,
  appended: 7,
  committed: 8,
  appendError: 9,
  repair: 10,
  readSeq: 11,
  entries: 12,
  readError: 13,
  statusRequest: 14,
  status: 15,
  ready: 16,
  nakFragments: 17,
  appendIf: 18,
  readSeqHeaders: 19,
  entryHeaders: 20,
  readStream: 21,
  peers: 22,
  streamEntries: 23,
} as const;

export type MemberRole = 'commit' | 'subscriber' | 'appender';
export type RiverMode = 'multicast' | 'unicast';
/** (epoch, first seq of that epoch), ascending: which sequencer generation wrote which seqs. */
export type EpochHistory = Array<[epoch: number, startSeq: number]>;

export type Hello = {
  role: MemberRole;
  memberId: string;
  /**
   * Appenders: which COMMITTED notices they want. 'every' (the default): each advance, whoever
   * appended (gateways wake their readers on it); 'own': only while one of their own appends is
   * not known committed, so an appender that writes once a second is not woken for every frame.
   */
  committedNotices?: 'every' | 'own';
  /** Commits: a random id stored with the data, the same across restarts: one data folder, one member. */
  dataId?: string;
  river?: RiverMode;
  /** Commits: where peers read stored entries. */
  listen?: string;
  /** Commits: highest seq stored (after a sync) and the epoch of that entry (0 when empty). */
  lastSeq?: number;
  lastEpoch?: number;
  history?: EpochHistory;
  streams?: Array<[streamId: number, nextOffset: number]>;
};

export type Welcome = {
  epoch: number;
  riverId: number;
  history: EpochHistory;
  /** The recovered head: every member first brings its log to exactly this seq (truncate/repair). */
  headSeq: number;
  /** Where to deliver from when the member has no log (subscribers). */
  nextSeq: number;
  committedSeq: number;
  peers: string[];
  group: string | null;
  port: number;
  interfaceAddress: string | null;
  mtu: number;
  /** Commits that must hold an entry before it is committed (absent from an older sequencer). */
  writeQuorum?: number;
};

export type Ready = { lastSeq: number };
export type Repair = { fromSeq: number; toSeq: number; peers: string[] };
/** PEERS (sequencer -> welcomed members): the ready commits' read addresses, when they change. */
export type Peers = { peers: string[] };
export type ErrorBody = {
  code: string; message: string; retriable: boolean;
  /** X2_ERR_APPEND_CONDITION: the streams' actual next offsets, [streamId, nextOffset]. */
  actual?: Array<[streamId: number, nextOffset: number]>;
};

export function sendPacked(writer: LinkWriter, type: number, body: unknown): void {
  writer.send(type, pack(body));
}

// Binary fields come out copied, not as views: the sequencer reads into a reused buffer, and a
// member that sent bytes where a string belongs must not leave views of it in kept state.
const bodyUnpacker = new Unpackr({ useRecords: false, copyBuffers: true }); // as msgpackr's unpack(), but copying

export function unpackBody<T>(payload: Buffer): T {
  return bodyUnpacker.unpack(payload) as T;
}

export function sendSeqPair(writer: LinkWriter, type: number, first: number, second: number): void {
  const { buffer, position } = writer.reserve(type, 16);
  writeU64(buffer, position, first);
  writeU64(buffer, position + 8, second);
}

export function sendSeq(writer: LinkWriter, type: number, seq: number): void {
  const { buffer, position } = writer.reserve(type, 8);
  writeU64(buffer, position, seq);
}

export type AppendEntry = { streamId: number; recordCount: number; batch: Uint8Array };

/** Bytes of an entry set as APPEND and APPEND_IF carry it: entryCount u16, then the entries. */
function entrySetBytes(entries: readonly AppendEntry[]): number {
  let bytes = 2;
  for (const entry of entries) bytes += ENTRY_HEADER_BYTES + entry.batch.length;
  return bytes;
}

function writeEntrySet(buffer: Buffer, position: number, entries: readonly AppendEntry[]): void {
  buffer.writeUInt16LE(entries.length, position);
  let cursor = position + 2;
  for (const entry of entries) {
    cursor = writeEntry(buffer, cursor, { streamId: entry.streamId, recordCount: entry.recordCount, baseOffset: 0,
      batch: entry.batch });
  }
}

/** The entry set at `position` of a payload: null when malformed or empty. */
function readEntrySet(payload: Buffer, position: number): RiverEntry[] | null {
  if (payload.length < position + 2) return null;
  const entries = readEntries(payload.subarray(position + 2), payload.readUInt16LE(position));
  return entries && entries.length > 0 ? entries : null;
}

export function sendAppend(writer: LinkWriter, requestId: number, entries: readonly AppendEntry[]): void {
  const { buffer, position } = writer.reserve(MESSAGE.append, 4 + entrySetBytes(entries));
  buffer.writeUInt32LE(requestId >>> 0, position);
  writeEntrySet(buffer, position + 4, entries);
}

/**
 * The same APPEND, its large batches handed to the socket as views (LinkWriter.sendParts): the
 * caller leaves them unchanged until `written`.
 */
export function sendAppendViews(writer: LinkWriter, requestId: number, entries: readonly AppendEntry[],
  written: () => void): void {
  const headers = Buffer.allocUnsafe(6 + ENTRY_HEADER_BYTES * entries.length);
  headers.writeUInt32LE(requestId >>> 0, 0);
  headers.writeUInt16LE(entries.length, 4);
  const parts: Uint8Array[] = [];
  let position = 6;
  let partStart = 0;
  for (const entry of entries) {
    position = writeEntryHeader(headers, position, { streamId: entry.streamId, recordCount: entry.recordCount,
      baseOffset: 0, batch: entry.batch });
    parts.push(headers.subarray(partStart, position), entry.batch);
    partStart = position;
  }
  writer.sendParts(MESSAGE.append, parts, written);
}

/** Decodes an APPEND: null when malformed (the sequencer closes the link). */
export function readAppend(payload: Buffer): { requestId: number; entries: RiverEntry[] } | null {
  const entries = readEntrySet(payload, 4);
  return entries ? { requestId: payload.readUInt32LE(0), entries } : null;
}

/** A stream's expected next offset: the condition of an APPEND_IF. */
export type AppendCondition = { streamId: number; nextOffset: number };
const CONDITION_BYTES = 12;
export const APPEND_CONDITIONS_MAX = 1024;

export function sendAppendIf(writer: LinkWriter, requestId: number, conditions: readonly AppendCondition[],
  entries: readonly AppendEntry[]): void {
  const { buffer, position } = writer.reserve(MESSAGE.appendIf,
    6 + CONDITION_BYTES * conditions.length + entrySetBytes(entries));
  buffer.writeUInt32LE(requestId >>> 0, position);
  buffer.writeUInt16LE(conditions.length, position + 4);
  let cursor = position + 6;
  for (const condition of conditions) {
    buffer.writeUInt32LE(condition.streamId >>> 0, cursor);
    writeU64(buffer, cursor + 4, condition.nextOffset);
    cursor += CONDITION_BYTES;
  }
  writeEntrySet(buffer, cursor, entries);
}

/** Decodes an APPEND_IF: null when malformed (the sequencer closes the link). */
export function readAppendIf(payload: Buffer):
  { requestId: number; conditions: AppendCondition[]; entries: RiverEntry[] } | null {
  if (payload.length < 8) return null;
  const conditionCount = payload.readUInt16LE(4);
  const entriesAt = 6 + CONDITION_BYTES * conditionCount;
  if (conditionCount < 1 || conditionCount > APPEND_CONDITIONS_MAX || payload.length < entriesAt + 2) return null;
  const conditions: AppendCondition[] = [];
  for (let cursor = 6; cursor < entriesAt; cursor += CONDITION_BYTES) {
    const nextOffset = readU64(payload, cursor + 4);
    if (nextOffset < 0) return null;
    conditions.push({ streamId: payload.readUInt32LE(cursor), nextOffset });
  }
  const entries = readEntrySet(payload, entriesAt);
  return entries ? { requestId: payload.readUInt32LE(0), conditions, entries } : null;
}

export function sendAppended(writer: LinkWriter, requestId: number, firstSeq: number,
  baseOffsets: readonly number[]): void {
  const { buffer, position } = writer.reserve(MESSAGE.appended, 14 + 8 * baseOffsets.length);
  buffer.writeUInt32LE(requestId >>> 0, position);
  writeU64(buffer, position + 4, firstSeq);
  buffer.writeUInt16LE(baseOffsets.length, position + 12);
  for (let i = 0; i < baseOffsets.length; i++) writeU64(buffer, position + 14 + 8 * i, baseOffsets[i]!);
}

export type StoredRiverEntry = RiverEntry & {
  seq: number; epoch: number;
  /** Set by a header-only read (ENTRY_HEADERS): `batch` is the batch's first bytes, this its whole length. */
  batchBytes?: number;
  /** CRC-32C of `batch`, when the river member derived it from checked fragment CRCs (MemberOptions.batchCrcs). */
  batchCrc?: number;
};

/** What a header-only read keeps of a batch: the RecordBatch v2 header (offsets, timestamps, producer). */
export const BATCH_HEADER_BYTES = 61;

export function sendEntries(writer: LinkWriter, requestId: number, entries: readonly StoredRiverEntry[]): void {
  writeStoredEntries(writer, MESSAGE.entries, requestId, entries, null);
}

export function readEntriesMessage(payload: Buffer): { requestId: number; entries: StoredRiverEntry[] } | null {
  return readStoredEntries(payload, false);
}

/**
 * ENTRY_HEADERS, the answer to READ_SEQ_HEADERS: like ENTRIES, but each entry carries its whole
 * batch length and only the batch's first BATCH_HEADER_BYTES, unless `whole(streamId)`. A gateway
 * replaying the river needs every batch's header (its index and producer table) and only the
 * internal streams whole.
 */
export function sendEntryHeaders(writer: LinkWriter, requestId: number, entries: readonly StoredRiverEntry[],
  whole: (streamId: number) => boolean): void {
  writeStoredEntries(writer, MESSAGE.entryHeaders, requestId, entries, whole);
}

export function readEntryHeadersMessage(payload: Buffer): { requestId: number; entries: StoredRiverEntry[] } | null {
  return readStoredEntries(payload, true);
}

/**
 * ENTRIES and ENTRY_HEADERS: requestId u32, count u16, then per entry seq u64, epoch u32, (with
 * `whole` given: the whole batch length u32), the entry (header and the batch bytes kept).
 */
function writeStoredEntries(writer: LinkWriter, type: number, requestId: number,
  entries: readonly StoredRiverEntry[], whole: ((streamId: number) => boolean) | null): void {
  const prefixBytes = whole ? 16 : 12;
  const kept = (entry: StoredRiverEntry): Uint8Array => !whole || whole(entry.streamId) ? entry.batch
    : entry.batch.subarray(0, Math.min(BATCH_HEADER_BYTES, entry.batch.length));
  let bytes = 6;
  for (const entry of entries) bytes += prefixBytes + ENTRY_HEADER_BYTES + kept(entry).length;
  const { buffer, position } = writer.reserve(type, bytes);
  buffer.writeUInt32LE(requestId >>> 0, position);
  buffer.writeUInt16LE(entries.length, position + 4);
  let cursor = position + 6;
  for (const entry of entries) {
    writeU64(buffer, cursor, entry.seq);
    buffer.writeUInt32LE(entry.epoch >>> 0, cursor + 8);
    if (whole) buffer.writeUInt32LE(entry.batch.length, cursor + 12);
    cursor = writeEntry(buffer, cursor + prefixBytes, { ...entry, batch: kept(entry) });
  }
}

function readStoredEntries(payload: Buffer, withWholeBytes: boolean):
  { requestId: number; entries: StoredRiverEntry[] } | null {
  if (payload.length < 6) return null;
  const prefixBytes = withWholeBytes ? 16 : 12;
  const count = payload.readUInt16LE(4);
  const entries: StoredRiverEntry[] = [];
  let cursor = 6;
  for (let i = 0; i < count; i++) {
    if (cursor + prefixBytes + ENTRY_HEADER_BYTES > payload.length) return null;
    const seq = readU64(payload, cursor);
    const epoch = payload.readUInt32LE(cursor + 8);
    const keptBytes = payload.readUInt32LE(cursor + prefixBytes + 16);
    const wholeBytes = withWholeBytes ? payload.readUInt32LE(cursor + 12) : keptBytes;
    const end = cursor + prefixBytes + ENTRY_HEADER_BYTES + keptBytes;
    if (end > payload.length || seq < 0 || keptBytes > wholeBytes) return null;
    const [entry] = readEntries(payload.subarray(cursor + prefixBytes, end), 1) ?? [];
    if (!entry) return null;
    entries.push(keptBytes < wholeBytes ? { ...entry, seq, epoch, batchBytes: wholeBytes } : { ...entry, seq, epoch });
    cursor = end;
  }
  return cursor === payload.length ? { requestId: payload.readUInt32LE(0), entries } : null;
}

const STREAM_ENTRY_BYTES = 32;

/** STREAM_ENTRIES (the answer to READ_STREAM): the entries' fields first, then their batches back to back. */
export function sendStreamEntries(writer: LinkWriter, requestId: number, entries: readonly StoredRiverEntry[]): void {
  let bytes = 6 + STREAM_ENTRY_BYTES * entries.length;
  for (const entry of entries) bytes += entry.batch.length;
  const { buffer, position } = writer.reserve(MESSAGE.streamEntries, bytes);
  buffer.writeUInt32LE(requestId >>> 0, position);
  buffer.writeUInt16LE(entries.length, position + 4);
  let field = position + 6;
  let batchPosition = field + STREAM_ENTRY_BYTES * entries.length;
  for (const entry of entries) {
    writeU64(buffer, field, entry.seq);
    buffer.writeUInt32LE(entry.epoch >>> 0, field + 8);
    buffer.writeUInt32LE(entry.streamId >>> 0, field + 12);
    writeU64(buffer, field + 16, entry.baseOffset);
    buffer.writeUInt32LE(entry.recordCount >>> 0, field + 24);
    buffer.writeUInt32LE(entry.batch.length, field + 28);
    buffer.set(entry.batch, batchPosition);
    field += STREAM_ENTRY_BYTES;
    batchPosition += entry.batch.length;
  }
}

/** Decodes STREAM_ENTRIES: the batches are views of `payload`, back to back; null when malformed. */
export function readStreamEntriesMessage(payload: Buffer): { requestId: number; entries: StoredRiverEntry[] } | null {
  if (payload.length < 6) return null;
  const count = payload.readUInt16LE(4);
  let batchPosition = 6 + STREAM_ENTRY_BYTES * count;
  if (batchPosition > payload.length) return null;
  const entries: StoredRiverEntry[] = [];
  for (let field = 6; field < 6 + STREAM_ENTRY_BYTES * count; field += STREAM_ENTRY_BYTES) {
    const end = batchPosition + payload.readUInt32LE(field + 28);
    if (end > payload.length) return null;
    entries.push({ seq: readU64(payload, field), epoch: payload.readUInt32LE(field + 8),
      streamId: payload.readUInt32LE(field + 12), baseOffset: readU64(payload, field + 16),
      recordCount: payload.readUInt32LE(field + 24), batch: payload.subarray(batchPosition, end) });
    batchPosition = end;
  }
  return batchPosition === payload.length ? { requestId: payload.readUInt32LE(0), entries } : null;
}

export function sendNakFragments(writer: LinkWriter, seq: number, fragmentIndexes: readonly number[]): void {
  const { buffer, position } = writer.reserve(MESSAGE.nakFragments, 10 + 2 * fragmentIndexes.length);
  writeU64(buffer, position, seq);
  buffer.writeUInt16LE(fragmentIndexes.length, position + 8);
  for (let i = 0; i < fragmentIndexes.length; i++) buffer.writeUInt16LE(fragmentIndexes[i]!, position + 10 + 2 * i);
}

export function readNakFragments(payload: Buffer): { seq: number; fragmentIndexes: number[] } | null {
  if (payload.length < 10) return null;
  const count = payload.readUInt16LE(8);
  if (payload.length !== 10 + 2 * count) return null;
  const fragmentIndexes: number[] = [];
  for (let i = 0; i < count; i++) fragmentIndexes.push(payload.readUInt16LE(10 + 2 * i));
  const seq = readU64(payload, 0);
  return seq < 1 ? null : { seq, fragmentIndexes };
}
