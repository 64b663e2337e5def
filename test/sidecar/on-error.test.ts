/**
 * Goal: errors in user code are never a silent loss: each --on-error mode does what it says and
 * logs the record, the error and the position. Method: a real cluster from dist/x2, 20,000
 * trades; a module throws on every trade whose number ends in 007 and keeps the AAPL trades.
 * skip: exactly the AAPL trades without the failing ones, and one log line per failure.
 * dead-letter: the same output, and the dead-letter topic holds exactly the failing trades with
 * the error and source position in headers. stop: exit status 65 naming the first failing
 * record; a restart with the same name stops at the same record, and nothing is written twice.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../core/records/murmur2.ts';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir } from '../harness/x2.ts';
import {
  expectExactly, kafkaFor, produceTrades, readTopic, startSidecar, stopSidecar, topicCount, tradeOf, type Trade,
} from './sidecar-harness.ts';

const TRADES = 20_000;
const allTrades: Trade[] = Array.from({ length: TRADES }, (_, n) => tradeOf(n));
const failing = allTrades.filter((trade) => trade.n % 1000 === 7);
const kept = allTrades.filter((trade) => trade.symbol === 'AAPL' && trade.n % 1000 !== 7);

let cluster: Cluster;
let kafka: Kafka;
let folder: string;

beforeAll(async () => {
  cluster = await Cluster.start({ river: 'unicast', readyTimeoutMs: 180_000 });
  kafka = kafkaFor(cluster.brokers);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'trades', numPartitions: 2 }] });
  await admin.disconnect();
  await produceTrades(kafka, 'trades', TRADES);
  folder = makeTempDir('x2-sidecar-errors-');
  writeFileSync(join(folder, 'picky.mjs'), [
    'export default function (record) {',
    '  const trade = JSON.parse(record.value.toString());',
    '  if (trade.n % 1000 === 7) throw new RangeError(`bad trade ${trade.n}`);',
    '  return trade.symbol === "AAPL" ? { key: record.key, value: record.value } : [];',
    '}',
  ].join('\n'));
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function runUntil(to: string, extra: string[], topics: Array<[string, number]>): Promise<string> {
  const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', 'trades', '--to', to,
    '--module', 'picky.mjs', ...extra], folder);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await Promise.race([
      sidecar.exited.then((code) => { throw new Error(`sidecar exited ${code}: ${sidecar.output()}`); }),
      waitFor(async () => {
        for (const [topic, count] of topics) if (await topicCount(admin, topic) < count) return false;
        return true;
      }, { timeoutMs: 240_000, intervalMs: 250, what: topics.map(([t, c]) => `${c} in ${t}`).join(', ') }),
    ]);
  } finally {
    await admin.disconnect();
  }
  expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
  return sidecar.output();
}

describe('x2 sidecar --on-error', () => {
  it('skip: no output for failing records, each failure logged with its position', async () => {
    const output = await runUntil('picky-skip', ['--on-error', 'skip'], [['picky-skip', kept.length]]);
    expectExactly(await readTopic(kafka, 'picky-skip'), kept);
    const logged = output.split('\n').filter((line) => line.includes('user logic failed on trades['));
    expect(logged.length).toBe(failing.length);
    expect(logged[0]).toMatch(
      /failed on trades\[[01]\]@\d+ \(key "[A-Z]+", value "\{.*\): RangeError: bad trade \d+7; --on-error skip/);
  }, 300_000);

  it('dead-letter: failing records go to the dead-letter topic with the error and position', async () => {
    await runUntil('picky-dl', ['--on-error', 'dead-letter:picky-dead'],
      [['picky-dl', kept.length], ['picky-dead', failing.length]]);
    expectExactly(await readTopic(kafka, 'picky-dl'), kept);
    const dead = await readTopic(kafka, 'picky-dead');
    expectExactly(dead, failing);
    for (const record of dead) {
      const trade = JSON.parse(record.value!) as Trade;
      expect(record.headers['x2-error']).toBe(`RangeError: bad trade ${trade.n}`);
      expect(record.headers['x2-topic']).toBe('trades');
      expect(record.headers['x2-partition']).toMatch(/^[01]$/);
      expect(Number(record.headers['x2-offset'])).toBeGreaterThanOrEqual(0);
      expect(record.headers['source']).toBe('test');
    }
  }, 300_000);

  it('stop: exits 65 at the first failing record; a restart stops at the same record', async () => {
    const args = ['--sequencer', cluster.sequencerAddress, '--from', 'trades', '--to', 'picky-stop',
      '--module', 'picky.mjs'];
    const first = startSidecar(args, folder);
    expect(await first.exited, first.output()).toBe(65);
    const position = /user logic failed on (trades\[([01])\]@\d+): RangeError: bad trade (\d+)/.exec(first.output());
    expect(position, first.output()).not.toBeNull();
    expect(first.output()).toMatch(/X2_ERR_SIDECAR/);
    const admin = kafka.admin();
    await admin.connect();
    const written = await topicCount(admin, 'picky-stop');
    const second = startSidecar(args, folder);
    expect(await second.exited, second.output()).toBe(65);
    expect(second.output()).toContain(`user logic failed on ${position![1]}: RangeError: bad trade ${position![3]}`);
    expect(await topicCount(admin, 'picky-stop')).toBe(written);
    await admin.disconnect();
    const records = await readTopic(kafka, 'picky-stop');
    const firstFailure = Number(position![3]);
    const failedPartition = Number(position![2]);
    // Everything written is a kept trade, once; every kept trade before the failure in its
    // partition (kafkajs put keys where murmur2 says) is there, and none after it.
    const numbers = new Set(records.map((record) => (JSON.parse(record.value!) as Trade).n));
    expect(numbers.size).toBe(records.length);
    expect([...numbers].every((n) => kept.some((trade) => trade.n === n))).toBe(true);
    const samePartition = kept.filter((trade) => partitionForKey(Buffer.from(trade.symbol), 2) === failedPartition);
    for (const trade of samePartition) expect(numbers.has(trade.n), `trade ${trade.n}`).toBe(trade.n < firstFailure);
  }, 300_000);
});
