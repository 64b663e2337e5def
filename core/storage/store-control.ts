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
 *
 * Retention truth table for the oldest sealed segment (the active one is never deleted):
 *   fully indexed? | older than retentionMs | store - it >= retentionBytes | no stream needs it | delete
 *   no             | any                    | any                          | any                | no
 *   yes            | yes                    | any                          | any                | yes
 *   yes            | any                    | yes                          | any                | yes
 *   yes            | any                    | any                          | yes                | yes
 *   yes            | no                     | no                           | no                 | no (stop)
 * Deleting a segment moves each stream it holds to a log start past its batches there.
 */
import * as fs from 'node:fs';
import { assert } from '../base/assert.ts';
import { X2Error } from '../base/errors.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './format.ts';
import { syncDirectory } from './file-io.ts';
import {
  encodeCheckpoint, encodeStreamMeta, offsetKey, readU64Value, runBaseOffset, runBatchBytes, runCount, runEndOffset,
  runSegment, segmentKey, segmentStreamKey, segmentStreamRange, seqKey, sliceRun, streamKey, streamRange,
  streamStartKey, TAG, tagOnlyKey, timeKeyTimestampMs, u64Value,
} from './index-keys.ts';
import { scanFrames } from './segment-scan.ts';
import type { SegmentInfo } from './segment-writer.ts';
import type { BatchOp, StoreIndex } from './store-index.ts';
import type { StoreParts } from './store.ts';

/** Deletes index entries of batches of `streamId` wholly below `offset`; returns their batch bytes. */
async function dropBatchesBelow(index: StoreIndex, streamId: number, offset: number, ops: BatchOp[]): Promise<number> {
  let removedBytes = 0;
  const below = { gte: streamStartKey(TAG.offset, streamId), lt: offsetKey(streamId, offset) };
  for await (const [key, value] of index.db.iterator(below)) {
    const count = runCount(value);
    let kept = 0;
    while (kept < count && runEndOffset(value, kept) <= offset) {
      removedBytes += runBatchBytes(value, kept);
      kept += 1;
    }
    if (kept === 0) continue;
    ops.push({ type: 'del', key });
    if (kept < count) {
      const rest = sliceRun(value, kept, count);
      ops.push({ type: 'put', key: offsetKey(streamId, runBaseOffset(value, kept)), value: rest });
    }
  }
  return removedBytes;
}

async function moveLogStart(index: StoreIndex, streamId: number, offset: number, ops: BatchOp[]): Promise<void> {
  const stream = index.streams.get(streamId);
  if (stream === undefined || offset <= stream.logStartOffset) return;
  const removedBytes = await dropBatchesBelow(index, streamId, offset, ops);
  stream.logStartOffset = offset;
  stream.sizeBytes -= removedBytes;
  stream.indexed = { ...stream.indexed, logStartOffset: offset, sizeBytes: stream.indexed.sizeBytes - removedBytes };
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
    const holdings = await segmentHoldings(index, segment.firstSeq);
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
async function segmentHoldings(index: StoreIndex, segment: number): Promise<Array<[number, number]>> {
  const holdings: Array<[number, number]> = [];
  for await (const key of index.db.keys(segmentStreamRange(segment))) {
    const streamId = key.readUInt32BE(9);
    const stream = index.streams.get(streamId);
    if (stream === undefined) continue;
    holdings.push([streamId, await endOffsetIn(index, streamId, segment, stream.indexed.nextOffset)]);
  }
  return holdings;
}

/**
 * Where a stream's batches in `segment` end: the first indexed batch in a later segment, else
 * its indexed next offset. `segment` is the oldest, so the runs walked are those it holds.
 */
async function endOffsetIn(index: StoreIndex, streamId: number, segment: number,
  indexedNextOffset: number): Promise<number> {
  for await (const value of index.db.values(streamRange(TAG.offset, streamId))) {
    const count = runCount(value);
    for (let i = 0; i < count; i++) if (runSegment(value, i) > segment) return runBaseOffset(value, i);
  }
  return indexedNextOffset;
}

async function deleteSegment(parts: StoreParts, segment: SegmentInfo, nextFirstSeq: number,
  holdings: Array<[number, number]>, reason: string): Promise<void> {
  const { index, segments, readFiles, dir, log } = parts;
  const ops: BatchOp[] = [];
  for (const [streamId, endOffset] of holdings) {
    await moveLogStart(index, streamId, endOffset, ops);
    ops.push({ type: 'del', key: segmentStreamKey(segment.firstSeq, streamId) });
  }
  ops.push({ type: 'del', key: segmentKey(segment.firstSeq) });
  for await (const key of index.db.keys({ gte: seqKey(segment.firstSeq), lt: seqKey(nextFirstSeq) })) {
    ops.push({ type: 'del', key });
  }
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
    if (i > cutIndex) {
      for await (const key of index.db.keys(segmentStreamRange(segment.firstSeq))) ops.push({ type: 'del', key });
      ops.push({ type: 'del', key: segmentKey(segment.firstSeq) });
    }
  }
  for (const [streamId, entry] of dropped) await truncateStream(index, streamId, entry, ops);
  for await (const key of index.db.keys({ gt: seqKey(seq), lt: Buffer.from([TAG.seq + 1]) })) {
    ops.push({ type: 'del', key });
  }
  ops.push({ type: 'put', key: tagOnlyKey(TAG.checkpoint), value: encodeCheckpoint({
    segment: cutSegment?.firstSeq ?? 0, position: cutSegment === null ? 0 : cutPosition, seq }) });
  await index.db.batch(ops, { sync: true });
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

async function truncateStream(index: StoreIndex, streamId: number, entry: Dropped, ops: BatchOp[]): Promise<void> {
  const stream = index.streams.get(streamId);
  assert(stream !== undefined);
  const next = entry.newNextOffset;
  let maxTimestampMs = Number.MIN_SAFE_INTEGER;
  for await (const [key, value] of index.db.iterator({ ...streamRange(TAG.time, streamId), reverse: true })) {
    if (readU64Value(value) < next) {
      maxTimestampMs = timeKeyTimestampMs(key);
      break;
    }
    ops.push({ type: 'del', key });
  }
  let hasBatches = false;
  for await (const [key, value] of index.db.iterator({ ...streamRange(TAG.offset, streamId), reverse: true })) {
    const count = runCount(value);
    let kept = count;
    while (kept > 0 && runEndOffset(value, kept - 1) > next) kept -= 1;
    if (kept === count) {
      hasBatches = true;
      break;
    }
    if (kept === 0) ops.push({ type: 'del', key });
    else {
      ops.push({ type: 'put', key, value: sliceRun(value, 0, kept) });
      hasBatches = true;
      break;
    }
  }
  if (!hasBatches) {
    index.streams.delete(streamId);
    ops.push({ type: 'del', key: streamKey(streamId) });
  } else {
    stream.nextOffset = next;
    stream.logStartOffset = Math.min(stream.logStartOffset, next);
    stream.sizeBytes -= entry.removedBytes;
    stream.maxTimestampMs = maxTimestampMs;
    stream.indexed = { logStartOffset: stream.logStartOffset, nextOffset: next, sizeBytes: stream.sizeBytes,
      maxTimestampMs };
    ops.push({ type: 'put', key: streamKey(streamId), value: encodeStreamMeta(stream.indexed) });
  }
}
