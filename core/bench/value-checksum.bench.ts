/**
 * Micro-benchmark, run by hand: `node core/bench/value-checksum.bench.ts` (Node 24 strips the types).
 * The per-record checksum of `x2 bench produce` for a 1 KiB value whose 16-byte stamp changes per
 * record: ValueChecksum (a constant XOR one table entry per stamp byte), the way it was before
 * (JS CRC of the stamp, then a shift over the body), and the native CRC of the whole value, with a
 * stamp write alone as the baseline measured in the same run.
 */
import { Bench } from 'tinybench';
import { crc32c } from '../../native/index.ts';
import { crc32cJs, crc32cShift, crc32cZerosOperator } from '../base/crc32c.ts';
import { ValueChecksum } from './value-checksum.ts';
import { makeValueTemplate, stampValue, VALUE_HEADER_BYTES } from './workload.ts';

const value = makeValueTemplate(1024, 1);
const checksum = new ValueChecksum(value);
const operator = crc32cZerosOperator(value.length - VALUE_HEADER_BYTES);
const bodyCrc = crc32c(value, 0, VALUE_HEADER_BYTES, value.length);
let sequence = 0;
let sink = 0;

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: stamp only', () => { stampValue(value, 1e15 + sequence, 1, sequence++); })
  .add('stamp + ValueChecksum.of (tables)', () => {
    stampValue(value, 1e15 + sequence, 1, sequence++);
    sink ^= checksum.of(value);
  })
  .add('stamp + JS CRC of the stamp, shifted', () => {
    stampValue(value, 1e15 + sequence, 1, sequence++);
    sink ^= crc32cShift(operator, crc32cJs(value, 0, 0, VALUE_HEADER_BYTES)) ^ bodyCrc;
  })
  .add('stamp + native CRC of the whole value', () => {
    stampValue(value, 1e15 + sequence, 1, sequence++);
    sink ^= crc32c(value);
  });
await bench.run();
const nsOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'latency' in result ? result.latency.mean * 1e6 : NaN;
};
const baseline = nsOf(bench.tasks[0]);
for (const task of bench.tasks) {
  const ns = nsOf(task);
  const ratio = (ns / baseline).toFixed(2);
  console.log(`${task.name.padEnd(40)} ${ns.toFixed(0).padStart(6)} ns per record  (${ratio}x the stamp)`);
}
if (sink === 0.5) console.log(sink);
