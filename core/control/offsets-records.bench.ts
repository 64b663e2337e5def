/**
 * Micro-benchmark, run by hand: `node core/control/offsets-records.bench.ts`.
 * What a gateway does per committed offset when it replays `__consumer_offsets` (decode +
 * apply) and when a consumer commits (encode), against JSON.stringify + JSON.parse of the same
 * record as the baseline measured in the same run. Also a topic-created control record.
 */
import { Bench } from 'tinybench';
import { decodeControlRecord, encodeControlRecord, type ControlRecord } from './control-records.ts';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsRecord } from './offsets-records.ts';
import { OffsetsState } from './offsets-state.ts';

const record: OffsetsRecord = {
  kind: 'offset-committed', group: 'md-feed-consumers', topic: 'quotes.nasdaq', partition: 17,
  offset: 123_456_789, leaderEpoch: 0, metadata: '', commitTimeMs: 1_790_000_000_000,
};
const encoded = encodeOffsetsRecord(record);
const json = JSON.stringify(record);
const state = new OffsetsState();
const topicCreated: ControlRecord = {
  kind: 'topic-created', topic: 'quotes.nasdaq', streamIds: Array.from({ length: 32 }, (_, i) => 1024 + i),
  configs: { 'retention.ms': '86400000' },
};
const topicBytes = encodeControlRecord(topicCreated);

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: JSON.stringify + JSON.parse', () => { JSON.parse(JSON.stringify(record)); })
  .add('offset-committed encode', () => { encodeOffsetsRecord(record); })
  .add('offset-committed decode + apply', () => { state.apply(decodeOffsetsRecord(encoded)); })
  .add('offset-committed encode + decode', () => { decodeOffsetsRecord(encodeOffsetsRecord(record)); })
  .add('topic-created (32 partitions) decode', () => { decodeControlRecord(topicBytes); });
await bench.run();
const opsPerSecondOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'throughput' in result ? result.throughput.mean : NaN;
};
const baseline = opsPerSecondOf(bench.tasks[0]);
console.log(`record sizes: offsets ${encoded.length} bytes (JSON ${json.length}), topic-created ${topicBytes.length}`);
for (const task of bench.tasks) {
  const opsPerSecond = opsPerSecondOf(task);
  console.log(`${task.name.padEnd(40)} ${(opsPerSecond / 1000).toFixed(0).padStart(7)} k ops/s`
    + `  ratio to baseline ${(opsPerSecond / baseline).toFixed(2)}`);
}
