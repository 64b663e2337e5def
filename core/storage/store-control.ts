/**
 * The store's control operations: per-stream log start (DeleteRecords, per-topic retention),
 * store-wide retention (whole old segments), and truncation of a never-acknowledged divergent
 * tail after a sequencer change. Each runs with no index batch in flight (StoreIndex.exclusive),
 * after the writer has synced and the index has caught up.
 *
 * Crash safety: the index change is written first (one atomic LevelDB batch), then files are
 * deleted or cut. A crash in between leaves either a segment below the first retained seq
 * (removed at the next open) or, for truncation, a tail the next open re-indexes: the store is
 * then as before the call, and the caller repeats it.
 * Cost: a log start move walks the stream's batches from the directory key at or below the new
 * log start (at most one span, SPAN_ENTRIES batches or SPAN_WRITES index writes); deleting a
 * segment deletes its index writes' parts by key range; truncation rewrites the parts of the one
 * index write holding the cut and walks the last kept span of each stream it shortens.
 *
 * Retention truth table for the oldest sealed segment (the active one is never deleted):
 *   fully indexed? | older than retentionMs | store - it >= retentionBytes | no stream needs it | delete
 *   no             | any                    | any                          | any                | no
 *   yes            | yes                    | any                          | any                | yes
 *   yes            | any                    | yes                          | any                | yes
 *   yes            | any                    | any                          | yes                | yes
 *   yes            | no                     | no                           | no                 | no (stop)
 * Deleting a segment moves each stream it holds (its membership keys) to a log start past its
 * batches there (its first batch with a later segment's seq, found from its directory: one span).
 */
import * as fs from 'node:fs';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './format.ts';
import { syncDirectory } from './file-io.ts';
import {
  decodeSpanStart, directoryKey, encodeCheckpoint, encodeSpanStart, encodeStreamMeta, filterPart, forEachMember,
  membershipRange, partCount, partEndOffset, partKey, partSeq, partStreamId, partWriteKey, readU64Value, segmentKey,
  seqKey, streamKey, streamRange, streamStartKey, summaryKey, TAG, tagOnlyKey, tagRange, u64Value,
  type StreamStats,
} from './index-keys.ts';
import { scanFrames } from './segment-scan.ts';
import type { SegmentInfo } from './segment-writer.ts';
import { pushSpanStart, type BatchOp, type StoreIndex, type StreamState } from './store-index.ts';
import type { StoreParts } from './store.ts';

/** The stream's indexed state just before `offset` (at most its indexed next offset): walks one span. */
async function statsBefore(index: StoreIndex, stream: StreamState, offset: number): Promise<StreamStats | null> {
  const target = Math.min(offset, stream.indexed.nextOffset);
  const span = await index.spanAtMost(stream.streamId, target);
  if (span === null) return null;
  const stats = { nextOffset: span.offset, appendedBytes: span.appendedBytes, maxTimestampMs: span.maxTimestampMs };
  if (span.offset < target) {
    await index.walk(stream.streamId, span.offset, (location) => {
      if (location.baseOffset + location.recordCount > target) return false;
      stats.appendedBytes += location.frameBytes - FRAME_HEADER_BYTES;
      if (location.maxTimestampMs > stats.maxTimestampMs) stats.maxTimestampMs = location.maxTimestampMs;
      stats.nextOffset = location.baseOffset + location.recordCount;
      return true;
    });
  }
  return stats;
}

async function moveLogStart(index: StoreIndex, streamId: number, offset: number, ops: BatchOp[]): Promise<void> {
  const stream = index.streams.get(streamId);
  if (stream === undefined || offset <= stream.logStartOffset) return;
  const target = Math.min(offset, stream.indexed.nextOffset);
  const floor = await index.spanAtMost(streamId, target);
  const below = await statsBefore(index, stream, target);
  const bytesBelow = Math.max(below?.appendedBytes ?? 0, stream.indexed.bytesBelowLogStart);
  stream.sizeBytes -= bytesBelow - stream.indexed.bytesBelowLogStart;
  stream.logStartOffset = offset;
  stream.indexed = { ...stream.indexed, logStartOffset: offset, bytesBelowLogStart: bytesBelow };
  if (floor !== null && below !== null) {
    // Reads and walks start at or above the log start from now on, and the parts below it may be
    // deleted with their segment: a directory key at the log start keeps every walk on kept parts.
    if (target > floor.offset) {
      const start = { offset: target, writeSeq: floor.writeSeq, appendedBytes: below.appendedBytes,
        maxTimestampMs: below.maxTimestampMs };
      if (stream.span !== null && target > stream.span.offset) {
        stream.span = pushSpanStart(ops, stream, target, floor.writeSeq, below);
      } else ops.push({ type: 'put', key: directoryKey(streamId, target), value: encodeSpanStart(start) });
      stream.noteSpan(start);
    }
    await pushDeletes(index, { gte: streamStartKey(TAG.directory, streamId), lt: directoryKey(streamId, target) },
      ops);
  }
  ops.push({ type: 'put', key: streamKey(streamId), value: encodeStreamMeta(stream.indexed) });
}

export async function setLogStart(parts: StoreParts, streamId: number, offset: number): Promise<void> {
  const ops: BatchOp[] = [];
  await moveLogStart(parts.index, streamId, offset, ops);
  if (ops.length > 0) await parts.index.db.batch(ops);
}

export async function applyRetentionTo(parts: StoreParts, nowMs: number): Promise<{ segmentsDeleted: number }> {
  const { segments, index, options, writer } = parts;
  let totalBytes = segments.reduce((sum, s) => sum + s.writtenEnd, 0);
  let segmentsDeleted = 0;
  for (;;) {
    const segment = segments[0];
    const next = segments[1];
    if (segment === undefined || next === undefined || segment === writer.activeSegment) break;
    if (next.firstSeq - 1 > index.indexedSeq) break;
    const holdings = await segmentHoldings(index, segment.firstSeq, next.firstSeq);
    const isOld = options.retentionMs !== undefined && segment.maxTimestampMs > Number.MIN_SAFE_INTEGER &&
      segment.maxTimestampMs < nowMs - options.retentionMs;
    const isOverSize = options.retentionBytes !== undefined &&
      totalBytes - segment.writtenEnd >= options.retentionBytes;
    const isUnneeded = holdings.every(([streamId, endOffset]) =>
      (index.streams.get(streamId)?.logStartOffset ?? Infinity) >= endOffset);
    if (!isOld && !isOverSize && !isUnneeded) break;
    const reason = isOld ? `older than ${options.retentionMs} ms` : isOverSize
      ? `store above ${options.retentionBytes} bytes` : 'no stream needs it';
    await deleteSegment(parts, segment, next.firstSeq, holdings, reason);
    totalBytes -= segment.writtenEnd;
    segmentsDeleted += 1;
  }
  return { segmentsDeleted };
}

/** Streams holding batches in `segment`, each with the offset where its batches there end. */
async function segmentHoldings(index: StoreIndex, segment: number,
  nextFirstSeq: number): Promise<Array<[number, number]>> {
  const members = new Set<number>();
  for await (const value of index.db.values(membershipRange(segment))) forEachMember(value, (id) => members.add(id));
  const holdings: Array<[number, number]> = [];
  for (const streamId of members) {
    const stream = index.streams.get(streamId);
    if (stream !== undefined) holdings.push([streamId, await endOffsetIn(index, stream, nextFirstSeq)]);
  }
  return holdings;
}

/**
 * Where a stream's batches in the oldest segment end: its first batch with a seq of a later
 * segment (from `nextFirstSeq`), else its indexed next offset. The walk starts at the last span
 * that began in an index write of the oldest segment, so it covers at most one span.
 */
async function endOffsetIn(index: StoreIndex, stream: StreamState, nextFirstSeq: number): Promise<number> {
  const floor = await index.spanAtMost(stream.streamId, stream.logStartOffset);
  let from = stream.logStartOffset;
  for await (const [key, value] of index.db.iterator({ gte: directoryKey(stream.streamId, floor?.offset ?? 0),
    lt: streamRange(TAG.directory, stream.streamId).lt })) {
    const span = decodeSpanStart(key, value);
    if (span.writeSeq >= nextFirstSeq) break;
    if (span.offset > from) from = span.offset;
  }
  let end = stream.indexed.nextOffset;
  await index.walk(stream.streamId, from, (location) => {
    if (location.seq < nextFirstSeq) return true;
    end = Math.max(location.baseOffset, stream.logStartOffset);
    return false;
  });
  return end;
}

type KeyRange = { gt?: Buffer; gte?: Buffer; lt: Buffer };

async function pushDeletes(index: StoreIndex, range: KeyRange, ops: BatchOp[]): Promise<void> {
  for await (const key of index.db.keys(range)) ops.push({ type: 'del', key });
}

async function deleteSegment(parts: StoreParts, segment: SegmentInfo, nextFirstSeq: number,
  holdings: Array<[number, number]>, reason: string): Promise<void> {
  const { index, segments, readFiles, dir, log } = parts;
  const ops: BatchOp[] = [];
  for (const [streamId, endOffset] of holdings) await moveLogStart(index, streamId, endOffset, ops);
  await pushDeletes(index, membershipRange(segment.firstSeq), ops);
  ops.push({ type: 'del', key: segmentKey(segment.firstSeq) });
  await pushDeletes(index, { gte: seqKey(segment.firstSeq), lt: seqKey(nextFirstSeq) }, ops);
  // Index writes never span segments: the segment's writes are those with a first seq in its range.
  await pushDeletes(index, { gte: partWriteKey(segment.firstSeq), lt: partWriteKey(nextFirstSeq) }, ops);
  await pushDeletes(index, { gte: summaryKey(segment.firstSeq), lt: summaryKey(nextFirstSeq) }, ops);
  ops.push({ type: 'put', key: tagOnlyKey(TAG.retained), value: u64Value(nextFirstSeq) });
  await index.db.batch(ops, { sync: true });
  assert(segments[0] === segment);
  segments.shift();
  await readFiles.drop(segment.file);
  await fs.promises.unlink(segment.file);
  await syncDirectory(dir);
  log.info(`retention: deleted ${segment.file} (${segment.writtenEnd} bytes, ${reason})`);
}

type Dropped = { newNextOffset: number; removedBytes: number };

/** Drops every entry with seq > `seq` from the index, then from the files. */
export async function truncateStore(parts: StoreParts, seq: number): Promise<void> {
  const { segments, index, writer, readFiles, dir, log } = parts;
  assert(writer.isIdle, 'truncateAfter while appends are in flight');
  const cutIndex = segments.findLastIndex((s) => s.firstSeq <= seq);
  const cutSegment = segments[cutIndex] ?? null;
  let cutPosition = cutSegment?.writtenEnd ?? 0;
  const dropped = new Map<number, Dropped>();
  const ops: BatchOp[] = [];
  let droppedCount = 0;
  for (let i = Math.max(cutIndex, 0); i < segments.length; i++) {
    const segment = segments[i];
    assert(segment !== undefined);
    const sparse = i === cutIndex ? await index.seqPositionAtMost(seq + 1) : null;
    const from = sparse !== null && sparse.segment === segment.firstSeq ? sparse.position : SEGMENT_HEADER_BYTES;
    const result = await readFiles.use(segment.file, (fd) => scanFrames(fd, from, segment.writtenEnd,
      (fields, _bytes, _framePosition, filePosition, frameBytes) => {
        if (fields.seq <= seq) return true;
        if (i === cutIndex && cutPosition === segment.writtenEnd) cutPosition = filePosition;
        droppedCount += 1;
        const entry = dropped.get(fields.streamId);
        if (entry === undefined) {
          dropped.set(fields.streamId, { newNextOffset: fields.baseOffset,
            removedBytes: frameBytes - FRAME_HEADER_BYTES });
        } else entry.removedBytes += frameBytes - FRAME_HEADER_BYTES;
        return true;
      }));
    if (result.stop !== 'end') {
      throw new X2Error('X2_ERR_SEGMENT_CRC',
        `${segment.file}: bad entry at position ${result.position} while truncating`);
    }
    // Memberships of dropped writes go; a kept write may still list a stream whose batches there
    // were all dropped, which is harmless (its end offset there is then its log start).
    await pushDeletes(index, membershipRange(segment.firstSeq, i > cutIndex ? 0 : seq + 1), ops);
    if (i > cutIndex) ops.push({ type: 'del', key: segmentKey(segment.firstSeq) });
  }
  await truncateParts(index, seq, ops);
  for (const [streamId, entry] of dropped) await truncateStream(index, streamId, entry.newNextOffset, seq, ops);
  const applySpans = index.closeAllSpans(ops, seq + 1);
  await pushDeletes(index, { gt: seqKey(seq), lt: Buffer.from([TAG.seq + 1]) }, ops);
  ops.push({ type: 'put', key: tagOnlyKey(TAG.checkpoint), value: encodeCheckpoint({
    segment: cutSegment?.firstSeq ?? 0, position: cutSegment === null ? 0 : cutPosition, seq }) });
  await index.db.batch(ops, { sync: true });
  for (const apply of applySpans) apply();
  for (const segment of segments.splice(cutIndex + 1)) {
    await readFiles.drop(segment.file);
    await fs.promises.unlink(segment.file);
  }
  if (cutSegment !== null) await readFiles.drop(cutSegment.file);
  await writer.truncate(cutSegment, cutPosition, seq);
  await syncDirectory(dir);
  index.indexedSeq = seq;
  log.warn(`truncated after seq ${seq}: dropped ${droppedCount} never-acknowledged entries`);
}

/** Deletes the parts of index writes after `seq` and rewrites those of the write holding it. */
async function truncateParts(index: StoreIndex, seq: number, ops: BatchOp[]): Promise<void> {
  await pushDeletes(index, { gte: partWriteKey(seq + 1), lt: tagRange(TAG.part).lt }, ops);
  let holdingWriteSeq: number | null = null;
  for await (const key of index.db.keys({ gte: tagRange(TAG.part).gte, lt: partWriteKey(seq + 1), reverse: true,
    limit: 1 })) holdingWriteSeq = readU64Value(key);
  if (holdingWriteSeq === null) return;
  for await (const [key, value] of index.db.iterator({ gte: partWriteKey(holdingWriteSeq),
    lt: partWriteKey(holdingWriteSeq + 1) })) {
    const kept = filterPart(value, (i) => partSeq(value, i) <= seq);
    if (kept !== null && partCount(kept) === partCount(value)) continue;
    ops.push({ type: 'del', key });
    if (kept === null) continue;
    const lastIndex = partCount(kept) - 1;
    ops.push({ type: 'put', key: partKey(holdingWriteSeq, partStreamId(kept, lastIndex),
      partEndOffset(kept, lastIndex) - 1), value: kept });
  }
}

/** Cuts a stream's index state at `next` (its first dropped offset); a stream left empty is forgotten. */
async function truncateStream(index: StoreIndex, streamId: number, next: number, seq: number,
  ops: BatchOp[]): Promise<void> {
  const stream = index.streams.get(streamId);
  assert(stream !== undefined);
  await pushDeletes(index, { gte: directoryKey(streamId, next), lt: streamRange(TAG.directory, streamId).lt }, ops);
  for await (const [key, value] of index.db.iterator({ ...streamRange(TAG.time, streamId), reverse: true })) {
    if (readU64Value(value) < next) break;
    ops.push({ type: 'del', key });
  }
  const floor = next > 0 ? await index.spanAtMost(streamId, next - 1) : null;
  const kept = floor === null ? null : await statsBefore(index, stream, next);
  if (floor === null || kept === null) {
    // No batch before `next` is indexed: every batch of the stream was in the dropped tail.
    index.streams.delete(streamId);
    ops.push({ type: 'del', key: streamKey(streamId) });
    await pushDeletes(index, streamRange(TAG.directory, streamId), ops);
    await pushDeletes(index, streamRange(TAG.time, streamId), ops);
    return;
  }
  stream.span = floor;
  stream.span = pushSpanStart(ops, stream, next, seq + 1, kept);
  stream.forgetSpansFrom(next);
  stream.noteSpan(stream.span);
  stream.isSpanOpen = false;
  stream.spanEntries = 0;
  stream.nextOffset = next;
  stream.logStartOffset = Math.min(stream.logStartOffset, next);
  stream.indexed = { ...stream.indexed, ...kept, logStartOffset: stream.logStartOffset,
    bytesBelowLogStart: Math.min(stream.indexed.bytesBelowLogStart, kept.appendedBytes) };
  stream.sizeBytes = kept.appendedBytes - stream.indexed.bytesBelowLogStart;
  stream.maxTimestampMs = kept.maxTimestampMs;
  ops.push({ type: 'put', key: streamKey(streamId), value: encodeStreamMeta(stream.indexed) });
  // Listed again in the membership of the segment its next batch goes to (a duplicate is harmless).
  stream.memberOfSegment = -1;
}
