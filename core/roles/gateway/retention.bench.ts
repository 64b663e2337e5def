/**
 * Micro-benchmark, run by hand: `node core/roles/gateway/retention.bench.ts`.
 * What one retention check costs the controller gateway: planRetention over 10 000 partitions of
 * 1 000 batches each (retention.ms 7 days, nothing expired, the steady state; and retention.bytes
 * binary search), against the baseline of merely visiting every partition's StreamLog (the
 * least any check must do) measured in the same run.
 */
import { Bench } from 'tinybench';
import { ControlState } from '../../control/control-state.ts';
import { planRetention } from './retention.ts';
import { StreamLog } from './stream-log.ts';

const PARTITIONS = 10_000;
const BATCHES = 1_000;
const nowMs = 1_790_000_000_000;

function stateWith(configs: Record<string, string>): ControlState {
  const control = new ControlState();
  const planned = control.planCreateTopic({ topic: 'quotes', partitionCount: PARTITIONS, replicationFactor: -1,
    configs }, { commitCount: 1 });
  if (!planned.ok) throw new Error(planned.errorMessage);
  control.apply(planned.record);
  return control;
}

const logs = new Map<number, StreamLog>();
const byTime = stateWith({ 'retention.ms': '604800000' });
const bySize = stateWith({ 'retention.ms': '-1', 'retention.bytes': String(1024 ** 3) });
for (const streamId of byTime.topic('quotes')!.streamIds) {
  const log = new StreamLog(streamId);
  for (let i = 0; i < BATCHES; i++) log.add(i * 10, 10, i + 1, nowMs - 1000 + i, 1000);
  logs.set(streamId, log);
}
const streamOf = (streamId: number): StreamLog | undefined => logs.get(streamId);
let sink = 0;

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: visit every partition log', () => {
    for (const streamId of byTime.topic('quotes')!.streamIds) sink += streamOf(streamId)?.nextOffset ?? 0;
  })
  .add('planRetention retention.ms (none expired)', () => { sink += planRetention(byTime, streamOf, nowMs).length; })
  .add('planRetention retention.bytes (none over)', () => { sink += planRetention(bySize, streamOf, nowMs).length; });
await bench.run();
const meanMsOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'latency' in result ? result.latency.mean : NaN;
};
const baseline = meanMsOf(bench.tasks[0]);
console.log(`${PARTITIONS} partitions x ${BATCHES} batches (sink ${sink > 0 ? 'used' : 'unused'})`);
for (const task of bench.tasks) {
  const meanMs = meanMsOf(task);
  console.log(`${task.name.padEnd(44)} ${meanMs.toFixed(3).padStart(8)} ms per check  ratio to baseline `
    + `${(meanMs / baseline).toFixed(2)}`);
}
