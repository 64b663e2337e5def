/**
 * Micro-benchmark of the river's hot paths, run by hand: `node core/river/frame.bench.ts`.
 * One 64 KiB DATA frame of 64 entries of 1 KiB batches, as the sequencer coalesces them:
 * patch each batch (baseOffset, partitionLeaderEpoch), write the entries, cut the body into
 * 1372-byte fragments with headers and CRCs; and on the receiving side decode every fragment
 * header and read the entries back. Baseline: a Buffer.copy of the same 64 KiB in the same run.
 */
import { Bench } from 'tinybench';
import { patchRecordBatch } from '../kafka/record-batch.ts';
import {
  decodeFrameHeader, entryBytes, FRAME_HEADER_BYTES, FRAME_KIND, fragmentedBytes, readEntries, writeEntry,
  writeFragments, type RiverEntry,
} from './frame.ts';

const ENTRIES = 64;
const BATCH_BYTES = 1024;
const FRAGMENT_BODY_BYTES_MAX = 1372 - FRAME_HEADER_BYTES;

const batches = Array.from({ length: ENTRIES }, (_, i) => Buffer.alloc(BATCH_BYTES, i));
const entries: RiverEntry[] = batches.map((batch, i) =>
  ({ streamId: 1024 + i, recordCount: 10, baseOffset: 0, batch }));
const body = Buffer.alloc(ENTRIES * entryBytes(BATCH_BYTES));
const frames = Buffer.alloc(fragmentedBytes(body.length, FRAGMENT_BODY_BYTES_MAX));
const copyTarget = Buffer.alloc(body.length);
const header = { kind: FRAME_KIND.data, entryCount: ENTRIES, riverId: 7, epoch: 3, seq: 1, committedSeq: 0 };
let nextOffset = 0;
let sink = 0;

function encode(): number {
  let position = 0;
  for (const entry of entries) {
    patchRecordBatch(entry.batch as Buffer, nextOffset, 3);
    entry.baseOffset = nextOffset;
    nextOffset += 10;
    position = writeEntry(body, position, entry);
  }
  return writeFragments(frames, 0, body, header, FRAGMENT_BODY_BYTES_MAX);
}

const framesBytes = encode();

function decode(): void {
  let position = 0;
  let bodyPosition = 0;
  while (position < framesBytes) {
    const decoded = decodeFrameHeader(frames, position, framesBytes - position);
    if (typeof decoded === 'string') throw new Error(`bad frame in the benchmark: ${decoded}`);
    const start = position + FRAME_HEADER_BYTES;
    frames.copy(copyTarget, bodyPosition, start, start + decoded.bodyBytes);
    bodyPosition += decoded.bodyBytes;
    position += FRAME_HEADER_BYTES + decoded.bodyBytes;
  }
  sink += readEntries(copyTarget, ENTRIES)?.length ?? 0;
}

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: memcpy 64 KiB (Buffer.copy)', () => { body.copy(copyTarget); })
  .add('sequencer: patch 64 batches + write entries + fragment (64 KiB)', () => { sink += encode(); })
  .add('receiver: decode fragment headers + reassemble + read entries', decode);
await bench.run();
const opsPerSecondOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'throughput' in result ? result.throughput.mean : NaN;
};
const baseline = opsPerSecondOf(bench.tasks[0]);
for (const task of bench.tasks) {
  const opsPerSecond = opsPerSecondOf(task);
  console.log(`${task.name.padEnd(66)} ${(opsPerSecond * 64 / 1024).toFixed(0).padStart(6)} MiB/s` +
    `  time ratio to memcpy ${(baseline / opsPerSecond).toFixed(1)}`);
}
if (sink < 0) console.log(sink);
