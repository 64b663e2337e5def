/**
 * By-hand tool (not a test): turns the JSON files of one test/bench/compare-peers.sh run into
 * the Markdown table rows of BENCHMARKS.md (records/s, MB/s, ratios to x2, latency
 * percentiles). Run: tsx test/bench/compare-table.ts <results-dir>
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Latency = { p50Ms: number; p99Ms: number };
type Result = {
  produced: { acked: number; failed: number; recordsPerSecond: number; megabytesPerSecond: number } | null;
  consumed: { records: number; lost: number } | null;
  ackLatency: Latency | null; e2eLatency: Latency | null; workload: { ratePerSecond: number | null };
};

const dir = process.argv[2] ?? '.';
const systems = ['x2', 'nats', 'redis-always', 'redis-everysec'];
function load(system: string, name: string): Result | null {
  const file = join(dir, `${system}.${name}.json`);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8').trim();
  return text === '' ? null : JSON.parse(text) as Result;
}
const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(2));

const lines: string[] = [`| measure | ${systems.join(' | ')} |`, `| --- |${systems.map(() => ' --- |').join('')}`];
for (const [name, label] of [['max-100b', 'max produce, 100 B, rec/s'], ['max-1k', 'max produce, 1 KiB, rec/s'],
  ['topics-1', '1 topic, 100 B, rec/s'], ['topics-10k', '10,000 topics, 100 B, rec/s']] as const) {
  const x2 = load('x2', name)?.produced?.recordsPerSecond ?? 0;
  const cells = systems.map((system) => {
    const produced = load(system, name)?.produced;
    if (!produced) return 'failed';
    const ratio = x2 > 0 ? ` (${(produced.recordsPerSecond / x2).toFixed(2)})` : '';
    return `${fmt(produced.recordsPerSecond)}${system === 'x2' ? '' : ratio}${produced.failed > 0 ? ' !' : ''}`;
  });
  lines.push(`| ${label} | ${cells.join(' | ')} |`);
}
const halfRates = systems.map((s) => fmt(load(s, 'e2e-half')?.workload.ratePerSecond ?? 0));
lines.push(`| e2e rate (half of own 1 KiB max), rec/s | ${halfRates.join(' | ')} |`);
lines.push(`| e2e p50 / p99 ms, 1 producer to 8 consumers | ${systems.map((s) => {
  const r = load(s, 'e2e-half');
  return r ? `${ms(r.e2eLatency?.p50Ms)} / ${ms(r.e2eLatency?.p99Ms)}` : 'failed';
}).join(' | ')} |`);
lines.push(`| produce-ack p50 / p99 ms at that rate | ${systems.map((s) => {
  const r = load(s, 'e2e-half');
  return r ? `${ms(r.ackLatency?.p50Ms)} / ${ms(r.ackLatency?.p99Ms)}` : 'failed';
}).join(' | ')} |`);
lines.push(`| e2e lost records | ${systems.map((s) => fmt(load(s, 'e2e-half')?.consumed?.lost ?? NaN)).join(' | ')} |`);
process.stdout.write(`${lines.join('\n')}\n`);
const x2Topics = [load('x2', 'topics-1'), load('x2', 'topics-10k')];
if (x2Topics[0]?.produced && x2Topics[1]?.produced) {
  process.stdout.write(`\nx2 10,000 topics / 1 topic: ${(x2Topics[1].produced.recordsPerSecond /
    x2Topics[0].produced.recordsPerSecond).toFixed(3)}\n`);
}
const kafkajsFile = join(dir, 'x2.kafkajs-100b.json');
const own = load('x2', 'client-100b');
if (existsSync(kafkajsFile) && own?.produced) {
  const kafkajs = JSON.parse(readFileSync(kafkajsFile, 'utf8')) as { recordsPerSecond: number };
  const ratio = (own.produced.recordsPerSecond / kafkajs.recordsPerSecond).toFixed(2);
  process.stdout.write(`client: x2 bench ${fmt(own.produced.recordsPerSecond)} rec/s, kafkajs ` +
    `${fmt(kafkajs.recordsPerSecond)} rec/s, ratio ${ratio}\n`);
}
