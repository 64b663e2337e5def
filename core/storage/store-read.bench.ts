/**
 * Micro-benchmark of the commit store's lookup path, run by hand:
 * `node core/storage/store-read.bench.ts`. A store of 100,000 entries of 1 KiB over 1,000
 * streams, reopened so everything is in the LevelDB index: `read(stream, offset, 1)` of a
 * random offset (index lookup, positioned read, CRC check), against a baseline of a raw
 * positioned read of the same size at a random position of the same segment file, same run.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { Store } from './store.ts';
import { syntheticBatch } from './synthetic-batch.ts';

const STREAMS = 1_000;
const ENTRIES = 100_000;
const ENTRY_BYTES = 1024;
const dir = mkdtempSync(join(tmpdir(), 'x2-store-read-bench-'));
let store = await Store.open({ dir, sync: { kind: 'entry-set' } });
const nextOffsets = new Array<number>(STREAMS).fill(0);
for (let seq = 1; seq <= ENTRIES; seq++) {
  const streamId = seq % STREAMS;
  const baseOffset = nextOffsets[streamId]!;
  const batch = syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: seq, maxTimestampMs: seq,
    bytes: ENTRY_BYTES });
  for (;;) {
    try {
      store.append({ seq, epoch: 1, streamId, baseOffset, recordCount: 1, batch });
      break;
    } catch {
      await store.sync(); // X2_ERR_STORE_BACKPRESSURE: the write buffer is full
    }
  }
  nextOffsets[streamId] = baseOffset + 1;
}
await store.sync();
await store.close();
store = await Store.open({ dir, sync: { kind: 'entry-set' } });
const segment = store.segmentFiles()[0]!;
const fd = openSync(segment.file, 'r');
const scratch = Buffer.alloc(ENTRY_BYTES);
let random = 12345;
const next = (bound: number): number => {
  random = (random * 1103515245 + 12345) & 0x7fffffff;
  return random % bound;
};

const bench = new Bench({ time: 1500 });
bench
  .add('baseline: raw pread of 1 KiB at a random position', () => {
    readSync(fd, scratch, 0, ENTRY_BYTES, next(segment.bytes - ENTRY_BYTES));
  })
  .add('store.read(stream, random offset, 1): index lookup + pread + CRC', async () => {
    const streamId = next(STREAMS);
    await store.read(streamId, next(nextOffsets[streamId]!), 1);
  });
await bench.run();
const meanMsOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'latency' in result ? result.latency.mean : NaN;
};
const baselineMs = meanMsOf(bench.tasks[0]);
for (const task of bench.tasks) {
  const meanMs = meanMsOf(task);
  console.log(`${task.name.padEnd(66)} ${(meanMs * 1000).toFixed(1).padStart(8)} µs  ratio ${(meanMs / baselineMs)
    .toFixed(1)}`);
}
closeSync(fd);
await store.close();
rmSync(dir, { recursive: true, force: true });
