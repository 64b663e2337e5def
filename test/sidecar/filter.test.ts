/**
 * Goal: `x2 sidecar` filters 100,000 JSON trades with mixed symbols into a per-symbol topic with
 * each kind of user logic (--where, --module per record and per batch, --exec), producing
 * exactly the matching records, each once, in order per key, readable by kafkajs.
 * Method: a real cluster (sequencer, commits, gateway from dist/x2); kafkajs produces the trades
 * to a 3-partition topic; each sidecar runs as its own process; the output topic is read whole
 * with kafkajs and compared with the trades computed locally. The module is loaded from an empty
 * folder, as a user's file would be. Last, a sidecar started before its input topic exists waits
 * for it and then copies it whole.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir } from '../harness/x2.ts';
import {
  expectExactly, kafkaFor, produceTrades, readTopic, startSidecar, stopSidecar, topicCount, tradeOf, type Trade,
} from './sidecar-harness.ts';

const TRADES = 100_000;
const expectedAapl: Trade[] = Array.from({ length: TRADES }, (_, n) => tradeOf(n)).filter((t) => t.symbol === 'AAPL');

let cluster: Cluster;
let kafka: Kafka;
let folder: string;

beforeAll(async () => {
  cluster = await Cluster.start({ river: 'unicast', readyTimeoutMs: 180_000 });
  kafka = kafkaFor(cluster.brokers);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'trades', numPartitions: 3 }] });
  await admin.disconnect();
  await produceTrades(kafka, 'trades', TRADES);
  folder = makeTempDir('x2-sidecar-user-');
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function runUntilComplete(args: string[], to: string, count: number, cwd?: string): Promise<void> {
  const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', 'trades', '--to', to, ...args], cwd);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const exit = sidecar.exited.then((code) => { throw new Error(`sidecar exited ${code}: ${sidecar.output()}`); });
    await Promise.race([exit, waitFor(async () => await topicCount(admin, to) >= count,
      { timeoutMs: 240_000, intervalMs: 250, what: `${count} records in ${to}` })]);
  } finally {
    await admin.disconnect();
  }
  expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
}

describe('x2 sidecar filters trades', () => {
  it('--where keeps exactly the AAPL trades', async () => {
    expect(expectedAapl.length).toBeGreaterThan(5000);
    await runUntilComplete(['--where', 'value.symbol == "AAPL"', '--partitions', '2'], 'aapl-where',
      expectedAapl.length);
    expectExactly(await readTopic(kafka, 'aapl-where'), expectedAapl);
  }, 300_000);

  it('--module keeps exactly the AAPL trades (loaded from an empty folder, with an import)', async () => {
    writeFileSync(join(folder, 'symbols.mjs'), 'export const WANTED = new Set(["AAPL"]);\n');
    writeFileSync(join(folder, 'filter.mjs'), [
      'import { WANTED } from "./symbols.mjs";',
      'let seen = 0;',
      'export function init(ctx) { ctx.log(`filtering for ${ctx.to} with ${ctx.toPartitions} partitions`); }',
      'export default function (record) {',
      '  seen += 1;',
      '  const trade = JSON.parse(record.value.toString());',
      '  if (!WANTED.has(trade.symbol)) return;',
      '  return { key: record.key, value: record.value, headers: { from: `${record.topic}/${record.partition}` } };',
      '}',
    ].join('\n'));
    await runUntilComplete(['--module', 'filter.mjs', '--partitions', '3'], 'aapl-module', expectedAapl.length, folder);
    const records = await readTopic(kafka, 'aapl-module');
    expectExactly(records, expectedAapl);
    expect(records.every((record) => /^trades\/[0-2]$/.test(record.headers['from'] ?? ''))).toBe(true);
  }, 300_000);

  it('--module with a batch export keeps exactly the AAPL trades', async () => {
    writeFileSync(join(folder, 'batch.mjs'), [
      'export function batch(records) {',
      '  return records.filter((r) => JSON.parse(r.value.toString()).symbol === "AAPL")',
      '    .map((r) => ({ key: r.key, value: r.value }));',
      '}',
    ].join('\n'));
    await runUntilComplete(['--module', 'batch.mjs'], 'aapl-batch', expectedAapl.length, folder);
    expectExactly(await readTopic(kafka, 'aapl-batch'), expectedAapl);
  }, 300_000);

  it('an output topic with message.timestamp.type=LogAppendTime gets the append time on every record', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'aapl-append-time', numPartitions: 1,
      configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
    await admin.disconnect();
    const startedMs = Date.now();
    await runUntilComplete(['--where', 'value.symbol == "AAPL"'], 'aapl-append-time', expectedAapl.length);
    const records = await readTopic(kafka, 'aapl-append-time');
    expectExactly(records, expectedAapl);
    // The input trades were produced before this test began: their own timestamps are older.
    const outside = records.filter((record) => record.timestampMs < startedMs || record.timestampMs > Date.now());
    expect(outside).toEqual([]);
  }, 300_000);

  it('--exec runs a Python program over msgpack frames and keeps exactly the AAPL trades', async () => {
    writeFileSync(join(folder, 'filter.py'), [
      'import json, struct, sys, msgpack',
      'stdin, stdout = sys.stdin.buffer, sys.stdout.buffer',
      'while True:',
      '    size = stdin.read(4)',
      '    if len(size) < 4:',
      '        break',
      '    record = msgpack.unpackb(stdin.read(struct.unpack(">I", size)[0]))',
      '    trade = json.loads(record["value"])',
      '    out = [{"key": record["key"], "value": record["value"]}] if trade["symbol"] == "AAPL" else []',
      '    body = msgpack.packb(out)',
      '    stdout.write(struct.pack(">I", len(body)) + body)',
      '    stdout.flush()',
    ].join('\n'));
    await runUntilComplete(['--exec', '/usr/bin/python3 filter.py'], 'aapl-exec', expectedAapl.length, folder);
    expectExactly(await readTopic(kafka, 'aapl-exec'), expectedAapl);
  }, 300_000);

  it('waits for an input topic created after it started', async () => {
    const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', 'late', '--to', 'late-copy',
      '--where', 'true']);
    await waitFor(() => sidecar.output().includes('waiting for --from topic(s) late to be created'),
      { timeoutMs: 120_000, what: 'the wait message' });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'late', numPartitions: 1 }] });
    await produceTrades(kafka, 'late', 2000);
    await waitFor(async () => await topicCount(admin, 'late-copy') >= 2000, { timeoutMs: 120_000, what: 'the copy' });
    await admin.disconnect();
    expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    expectExactly(await readTopic(kafka, 'late-copy'), Array.from({ length: 2000 }, (_, n) => tradeOf(n)));
  }, 300_000);
});
