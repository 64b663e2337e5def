/**
 * Micro-benchmark, run by hand: `node core/base/crc32c.bench.ts` (Node 24 strips the types).
 * CRC-32C of a 16 KiB buffer, native SSE4.2 and the JS twin, and crc32cCopy (copy and CRC in one
 * pass) against a copy followed by a CRC, with a memcpy of the same bytes as the baseline measured
 * in the same run.
 */
import { Bench } from 'tinybench';
import { crc32cCopy, nativeAddon } from '../../native/index.ts';
import { crc32cJs } from './crc32c.ts';

const source = Buffer.alloc(16 * 1024, 7);
const target = Buffer.alloc(source.length);
const addon = nativeAddon();

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: memcpy 16 KiB (Buffer.copy)', () => { source.copy(target); })
  .add('crc32c 16 KiB native (SSE4.2)', () => { addon?.crc32c(source, 0, 0, source.length); })
  .add('crc32c 16 KiB JS (slicing-by-8)', () => { crc32cJs(source); })
  .add('memcpy then crc32c 16 KiB native', () => { source.copy(target); addon?.crc32c(target, 0, 0, target.length); })
  .add('crc32cCopy 16 KiB native (one pass)', () => { crc32cCopy(source, 0, source.length, target, 0, 0); });
await bench.run();
const opsPerSecondOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'throughput' in result ? result.throughput.mean : NaN;
};
const baseline = opsPerSecondOf(bench.tasks[0]);
for (const task of bench.tasks) {
  const opsPerSecond = opsPerSecondOf(task);
  console.log(`${task.name.padEnd(40)} ${(opsPerSecond * 16 / 1024).toFixed(0).padStart(7)} MiB/s` +
    `  ratio to memcpy ${(opsPerSecond / baseline).toFixed(3)}`);
}
