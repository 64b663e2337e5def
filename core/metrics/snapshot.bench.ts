/**
 * Micro-benchmark, run by hand: `node core/metrics/snapshot.bench.ts` (Node 24 strips the types).
 * What a node pays once a second to publish its snapshot, for a gateway holding the largest
 * snapshot (SNAPSHOT_TOPICS_MAX topics, 200 groups of 8 partitions): encode, decode (what
 * `x2 top` pays per node), and the RecordBatch write; and the decode of a sidecar's snapshot (no
 * topics or groups, its group figures). Baseline measured in the same run: JSON.stringify of the
 * gateway's snapshot.
 */
import { Bench } from 'tinybench';
import { RecordBatchWriter } from '../records/record-batch-writer.ts';
import {
  decodeSnapshot, emptySnapshot, encodeSnapshot, SNAPSHOT_GROUPS_MAX, SNAPSHOT_TOPICS_MAX,
} from './snapshot.ts';

const snapshot = {
  ...emptySnapshot('gateway', 'gateway-0'), host: 'bench', atMs: Date.now(), intervalMs: 1000,
  topics: Array.from({ length: SNAPSHOT_TOPICS_MAX }, (_, i) => ({ name: `quotes.venue-${i}`, partitions: 8,
    highWatermark: 1_000_000 + i, sizeBytes: 1e9 + i, msgsPerSec: 1234.5, bytesPerSec: 123_456.7 })),
  groups: Array.from({ length: SNAPSHOT_GROUPS_MAX }, (_, g) => ({ groupId: `group-${g}`, state: 'Stable',
    members: 3, lagRecords: 10, partitionsOmitted: 0,
    partitions: Array.from({ length: 8 }, (__, p) => ({ topic: `quotes.venue-${g}`, partition: p,
      committedOffset: 999_990, highWatermark: 1_000_000, lagRecords: 10, lagSeconds: 0.01 })) })),
};
const encoded = encodeSnapshot(snapshot);
const sidecarEncoded = encodeSnapshot({ ...emptySnapshot('sidecar', 'sidecar-aapl-filter-4242-a1b2c3'),
  host: 'bench', atMs: Date.now(), intervalMs: 1000, msgsInPerSec: 12_345.6, state: 'live',
  sidecar: { group: 'aapl-filter', members: 3, ownedStreams: 2, lagRecords: 17, claimsTotal: 4,
    fencedAppendsTotal: 0 } });
const writer = new RecordBatchWriter(8 * 1024 * 1024);

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: JSON.stringify', () => { JSON.stringify(snapshot); })
  .add('encodeSnapshot (msgpack)', () => { encodeSnapshot(snapshot); })
  .add('decodeSnapshot (msgpack + checks)', () => { decodeSnapshot(encoded); })
  .add('decodeSnapshot of a sidecar', () => { decodeSnapshot(sidecarEncoded); })
  .add('encode + RecordBatch write', () => {
    writer.reset();
    writer.add({ key: null, value: encodeSnapshot(snapshot), headers: [], timestampMs: 0 });
    writer.finish();
  });
await bench.run();
const meanMsOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'latency' in result ? result.latency.mean : NaN;
};
const baseline = meanMsOf(bench.tasks[0]);
console.log(`snapshot: ${encoded.length} bytes (${SNAPSHOT_TOPICS_MAX} topics, ${SNAPSHOT_GROUPS_MAX} groups x 8); `
  + `a sidecar's: ${sidecarEncoded.length} bytes`);
for (const task of bench.tasks) {
  const meanMs = meanMsOf(task);
  const ratio = (meanMs / baseline).toFixed(2);
  console.log(`${task.name.padEnd(36)} ${meanMs.toFixed(3).padStart(8)} ms  ratio to JSON.stringify ${ratio}`);
}
