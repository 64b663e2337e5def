/**
 * Store recovery, run by Store.open() after any stop (clean, kill -9, power cut):
 * 1. open the index; read its checkpoint (segment, position, seq indexed up to), the stream
 *    metadata and the first retained seq (segments below it are leftovers of an interrupted
 *    retention and are removed);
 * 2. scan the segments from the checkpoint only, CRC-checking every frame, and register each
 *    valid frame as if appended (the indexer re-indexes them in the background);
 * 3. at the first invalid or torn frame of the last segment, cut the file there (a torn tail:
 *    never acknowledged, since acknowledged entries were synced whole); the same in a sealed
 *    segment is corruption and stops the open with X2_ERR_SEGMENT_CRC;
 * 4. fdatasync the last segment, so everything recovered is durable before it is reported.
 * Cost: proportional to the unindexed tail (plus one entry per stream and per segment), never
 * to the store size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X2Error } from '../base/errors.ts';
import {
  batchMaxTimestampMs, checkFrame, checkSegmentHeader, FRAME_HEADER_BYTES, parseSegmentFileName, SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
} from './format.ts';
import { closeFile, fdatasync, ftruncate, openFile, readAt, syncDirectory } from './file-io.ts';
import { readI64Value, TAG } from './index-keys.ts';
import { FRAME_BYTES_MAX, scanFrames } from './segment-scan.ts';
import { SegmentInfo } from './segment-writer.ts';
import { registerEntry, type StoreParts } from './store.ts';

export async function recoverStore(parts: StoreParts): Promise<{ lastEpoch: number }> {
  const { dir, index, writer, segments, log } = parts;
  const startMs = performance.now();
  const { checkpoint, retainedSeq } = await index.open();
  const indexOpenMs = performance.now() - startMs;
  await listSegments(parts, retainedSeq);
  for await (const [key, value] of index.db.iterator({ gte: Buffer.from([TAG.segment]),
    lt: Buffer.from([TAG.segment + 1]) })) {
    const segment = segments.find((s) => s.firstSeq === key.readUInt32BE(1) * 2 ** 32 + key.readUInt32BE(5));
    if (segment !== undefined) segment.maxTimestampMs = readI64Value(value);
  }
  let startIndex = 0;
  let startPosition = SEGMENT_HEADER_BYTES;
  if (checkpoint !== null) {
    startIndex = segments.findIndex((s) => s.firstSeq >= checkpoint.segment);
    if (startIndex < 0) startIndex = segments.length;
    else if (segments[startIndex]?.firstSeq === checkpoint.segment) startPosition = checkpoint.position;
  }
  const state = { lastSeq: Math.max(checkpoint?.seq ?? 0, retainedSeq - 1), lastEpoch: 0, recovered: 0 };
  for (let i = startIndex; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === undefined) break;
    const isKept = await scanSegment(parts, segment, i === startIndex ? startPosition : SEGMENT_HEADER_BYTES,
      i === segments.length - 1, state);
    if (!isKept) segments.splice(i, 1);
  }
  const last = segments[segments.length - 1] ?? null;
  if (state.lastEpoch === 0 && last !== null) state.lastEpoch = last.epoch;
  writer.resume(last, last?.writtenEnd ?? 0, state.lastSeq);
  const scanMs = performance.now() - startMs - indexOpenMs;
  if (state.recovered > 0) {
    log.info(`recovered ${state.recovered} unindexed entries up to seq ${state.lastSeq} ` +
      `(index opened in ${indexOpenMs.toFixed(0)} ms, segments scanned in ${scanMs.toFixed(0)} ms)`);
  }
  await syncDirectory(dir);
  return { lastEpoch: state.lastEpoch };
}

async function listSegments(parts: StoreParts, retainedSeq: number): Promise<void> {
  const { dir, segments, log } = parts;
  const found: SegmentInfo[] = [];
  for (const name of await fs.promises.readdir(dir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) continue;
    if (parsed.version !== SEGMENT_FORMAT_VERSION) {
      throw new X2Error('X2_ERR_FORMAT', `${path.join(dir, name)}: unknown segment format version ` +
        `(got ${parsed.version}), supported: ${SEGMENT_FORMAT_VERSION}`);
    }
    if (parsed.firstSeq < retainedSeq) {
      log.info(`removing ${name}: below the first retained seq ${retainedSeq} (retention was interrupted)`);
      await fs.promises.unlink(path.join(dir, name));
      continue;
    }
    const segment = new SegmentInfo(dir, parsed.firstSeq, parsed.epoch);
    segment.writtenEnd = (await fs.promises.stat(segment.file)).size;
    found.push(segment);
  }
  found.sort((a, b) => a.firstSeq - b.firstSeq);
  segments.push(...found);
}

type ScanState = { lastSeq: number; lastEpoch: number; recovered: number };

/** Scans one segment from `fromPosition`; returns false when the file was a torn creation and was removed. */
async function scanSegment(parts: StoreParts, segment: SegmentInfo, fromPosition: number, isLast: boolean,
  state: ScanState): Promise<boolean> {
  const { index, log } = parts;
  const fd = await openFile(segment.file, 'r+');
  let isOpen = true;
  try {
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const headerBytes = await readAt(fd, header, 0, SEGMENT_HEADER_BYTES, 0);
    if (isLast && segment.writtenEnd < SEGMENT_HEADER_BYTES + FRAME_HEADER_BYTES &&
      (headerBytes < SEGMENT_HEADER_BYTES || !isHeaderValid(header, segment.file))) {
      log.warn(`removing ${segment.file}: its creation was interrupted (${segment.writtenEnd} bytes, no entry)`);
      isOpen = false;
      await closeFile(fd);
      await fs.promises.unlink(segment.file);
      return false;
    }
    checkSegmentHeader(header, segment.file);
    if (fromPosition > segment.writtenEnd) {
      throw new X2Error('X2_ERR_FORMAT', `${segment.file}: the index checkpoint (position ${fromPosition}) is past ` +
        `the end of the file (${segment.writtenEnd} bytes); the segment was truncated outside x2`);
    }
    let problem: string | null = null;
    const result = await scanFrames(fd, fromPosition, segment.writtenEnd, (fields, bytes, framePosition,
      filePosition, frameBytes) => {
      if (fields.seq <= state.lastSeq) {
        problem = `seq ${fields.seq} does not follow ${state.lastSeq}`;
        return false;
      }
      const stream = index.streams.get(fields.streamId);
      if (stream !== undefined && stream.nextOffset !== fields.baseOffset) {
        problem = `stream ${fields.streamId} offset ${fields.baseOffset} does not follow ${stream.nextOffset}`;
        return false;
      }
      const maxTimestampMs = batchMaxTimestampMs(bytes, framePosition + FRAME_HEADER_BYTES);
      if (maxTimestampMs > segment.maxTimestampMs) segment.maxTimestampMs = maxTimestampMs;
      registerEntry(index, stream, fields, segment.firstSeq, filePosition, frameBytes, maxTimestampMs);
      state.lastSeq = fields.seq;
      state.lastEpoch = fields.epoch;
      state.recovered += 1;
      return true;
    });
    if (result.stop !== 'end') {
      const what = problem ?? `${result.stop} entry`;
      if (!isLast || (result.stop === 'invalid' && await isFollowedByValidFrame(fd, result.position,
        segment.writtenEnd))) {
        throw new X2Error('X2_ERR_SEGMENT_CRC', `${segment.file}: ${what} at position ${result.position} ` +
          'followed by valid entries; refusing to open (this is corruption, not a torn tail)');
      }
      log.warn(`cutting a torn tail of ${segment.writtenEnd - result.position} bytes from ${segment.file} ` +
        `at position ${result.position} (${what}; never acknowledged)`);
      await ftruncate(fd, result.position);
    }
    segment.writtenEnd = result.position;
    if (isLast) await fdatasync(fd);
    return true;
  } finally {
    if (isOpen) await closeFile(fd);
  }
}

/**
 * A write cut short by a crash leaves a prefix: the tail ends in a short frame or garbage, never
 * in valid frames. A complete bad frame followed by a valid one is a flipped bit instead.
 */
async function isFollowedByValidFrame(fd: number, position: number, end: number): Promise<boolean> {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  if (await readAt(fd, head, 0, FRAME_HEADER_BYTES, position) < FRAME_HEADER_BYTES) return false;
  const frameBytes = head.readUInt32BE(0);
  const nextPosition = position + frameBytes;
  if (frameBytes < FRAME_HEADER_BYTES || frameBytes > FRAME_BYTES_MAX ||
    nextPosition + FRAME_HEADER_BYTES > end) return false;
  const nextHead = Buffer.alloc(FRAME_HEADER_BYTES);
  await readAt(fd, nextHead, 0, FRAME_HEADER_BYTES, nextPosition);
  const nextBytes = nextHead.readUInt32BE(0);
  if (nextBytes < FRAME_HEADER_BYTES || nextBytes > FRAME_BYTES_MAX || nextPosition + nextBytes > end) return false;
  const next = Buffer.alloc(nextBytes);
  await readAt(fd, next, 0, nextBytes, nextPosition);
  return checkFrame(next, 0, nextBytes, FRAME_BYTES_MAX) === 'valid';
}

function isHeaderValid(header: Buffer, file: string): boolean {
  try {
    checkSegmentHeader(header, file);
    return true;
  } catch {
    // Any header problem in a file this short means its creation was torn.
    return false;
  }
}
