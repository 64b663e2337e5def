/**
 * Sidecar system benchmark, run by hand (`tsx test/sidecar/measure.ts`): the numbers behind the
 * sidecar section of BENCHMARKS.md. Method: one cluster from dist/x2 (sequencer, 2 commits, one
 * gateway, unicast river). Baseline: `x2 bench produce` with 1 KiB records for 10 s (the
 * cluster's produce throughput, acks=all). Then a pass-through module sidecar drains that
 * backlog into another topic: its rate is records out per second from its claim to the last
 * output. Then a filter keeping 1% (every 100th offset) of the same topic; the bytes a consumer
 * of the output receives (kafkajs, key+value) are compared with the input's. Ratios are against
 * the baseline measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, X2_BINARY } from '../harness/x2.ts';
import { kafkaFor, readTopic, startSidecar, stopSidecar, topicCount } from './sidecar-harness.ts';

function bench(args: string[]): Record<string, unknown> {
  const result = spawnSync(X2_BINARY, ['bench', ...args, '--json'], { encoding: 'utf8', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`x2 bench ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const cluster = await Cluster.start({ river: 'unicast', readyTimeoutMs: 180_000 });
try {
  const target = `kafka://${cluster.brokers[0]!}`;
  const produceSeconds = process.env['SECONDS_PRODUCE'] ?? '10';
  const produced = bench(['produce', '--target', target, '--message-bytes', '1KiB', '--duration', produceSeconds,
    '--producers', '2', '--topic-prefix', 'fat']);
  process.stdout.write(`produce: ${JSON.stringify(produced)}\n`);
  const kafka = kafkaFor(cluster.brokers);
  const admin = kafka.admin();
  await admin.connect();
  const total = await topicCount(admin, 'fat-0');
  const folder = makeTempDir('x2-sidecar-measure-');
  writeFileSync(join(folder, 'pass.mjs'), 'export default (r) => ({ key: r.key, value: r.value });\n');
  writeFileSync(join(folder, 'one-percent.mjs'),
    'export default (r) => (r.offset % 100 === 0 ? { key: r.key, value: r.value } : undefined);\n');
  const runs = [['pass', 'pass.mjs', total], ['one', 'one-percent.mjs', Math.ceil(total / 100)]] as const;
  for (const [name, module, expected] of runs) {
    const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', 'fat-0', '--to', `${name}-0`,
      '--module', module], folder);
    await waitFor(() => /claimed/.test(sidecar.output()), { timeoutMs: 120_000, what: 'claim' });
    const startMs = performance.now();
    try {
      await waitFor(async () => await topicCount(admin, `${name}-0`) >= expected, { timeoutMs: 300_000, intervalMs: 50,
        what: `${expected} in ${name}-0` });
    } catch (error) {
      process.stdout.write(`sidecar output:\n${sidecar.output()}\nhas ${await topicCount(admin, `${name}-0`)}\n`);
      throw error;
    }
    const seconds = (performance.now() - startMs) / 1000;
    process.stdout.write(`sidecar ${name}: ${expected} records out of ${total} in ${seconds.toFixed(2)} s = ` +
      `${(total / seconds).toFixed(0)} input records/s\n`);
    await stopSidecar(sidecar);
  }
  await admin.disconnect();
  // What a consumer of each topic receives: x2 bench consume for the input (its own records),
  // kafkajs for the filtered output (bench consume expects its own unbroken sequence).
  const consumed = bench(['consume', '--target', target, '--topic-prefix', 'fat']);
  process.stdout.write(`consume fat: ${JSON.stringify(consumed)}\n`);
  const kept = await readTopic(kafka, 'one-0');
  const keptBytes = kept.reduce((sum, record) => sum + (record.value?.length ?? 0) + (record.key?.length ?? 0), 0);
  process.stdout.write(`consume one: ${kept.length} records, ${keptBytes} key+value bytes; input ${total} records, ` +
    `${total * 1024} value bytes: ${(100 * keptBytes / (total * 1024)).toFixed(2)}%\n`);
} finally {
  await cluster.stop();
}
