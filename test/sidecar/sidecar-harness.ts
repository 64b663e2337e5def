/**
 * Helpers for the sidecar system tests: a trades workload produced with kafkajs, a whole-topic
 * reader, sidecar processes started from the built executable with their output captured, and
 * the checks every scenario shares (exactly the expected records, each once, in order per key).
 */
import type { ChildProcess } from 'node:child_process';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { expect } from 'vitest';
import { startX2 } from '../harness/x2.ts';

export const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA', 'META', 'IBM', 'ORCL', 'INTC'];

export type Trade = { symbol: string; px: number; qty: number; n: number };

/** Trade n: symbol by a fixed pseudo-random pattern, so about 1/10 are AAPL. */
export function tradeOf(n: number): Trade {
  const mixed = Math.imul(n + 1, 2654435761) >>> 0;
  return { symbol: SYMBOLS[mixed % SYMBOLS.length]!, px: 100 + (mixed % 1000) / 10, qty: 1 + (mixed % 500), n };
}

export function kafkaFor(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'sidecar-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

/** Produces trades first..first+count-1 in batches of `batch`. */
export async function produceTrades(kafka: Kafka, topic: string, count: number, first = 0,
  batch = 2000): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let start = first; start < first + count; start += batch) {
      const messages = [];
      for (let n = start; n < Math.min(first + count, start + batch); n++) {
        const trade = tradeOf(n);
        messages.push({ key: trade.symbol, value: JSON.stringify(trade), headers: { source: 'test' } });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

export type ReadRecord = { partition: number; offset: number; key: string | null; value: string | null;
  headers: Record<string, string>; timestampMs: number };

/** Sum of the high watermarks of `topic` (0 when it does not exist yet). */
export async function topicCount(admin: Admin, topic: string): Promise<number> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return 0;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
}

/** Reads every record of `topic` up to its current high watermarks. */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const expected = await topicCount(admin, topic);
  await admin.disconnect();
  const records: ReadRecord[] = [];
  if (expected === 0) return records;
  const consumer = kafka.consumer({ groupId: `read-${topic}-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${records.length} of ${expected} records of ${topic}`)),
      120_000);
    consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          records.push({
            partition: batch.partition, offset: Number(message.offset), key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null, headers, timestampMs: Number(message.timestamp),
          });
        }
        if (records.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return records;
}

/** The records are exactly `expected` (by trade number), each once, in trade order per key. */
export function expectExactly(records: ReadRecord[], expected: Trade[]): void {
  const seen = new Set<number>();
  const lastByKey = new Map<string, number>();
  for (const record of records) {
    const trade = JSON.parse(record.value!) as Trade;
    expect(seen.has(trade.n), `trade ${trade.n} appears twice`).toBe(false);
    seen.add(trade.n);
    expect(record.key).toBe(trade.symbol);
    const last = lastByKey.get(trade.symbol) ?? -1;
    expect(trade.n > last, `trade ${trade.n} after ${last} for key ${trade.symbol}`).toBe(true);
    lastByKey.set(trade.symbol, trade.n);
  }
  const missing = expected.filter((trade) => !seen.has(trade.n));
  expect(missing.length, `missing trades, first ${JSON.stringify(missing.slice(0, 3))}`).toBe(0);
  expect(records.length).toBe(expected.length);
}

export type SidecarProcess = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

export function startSidecar(args: string[], cwd?: string, env?: NodeJS.ProcessEnv): SidecarProcess {
  const child = startX2(['sidecar', '--river', 'unicast', ...args],
    { ...(cwd ? { cwd } : {}), ...(env ? { env: { ...process.env, ...env } } : {}) });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export async function stopSidecar(sidecar: SidecarProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (sidecar.child.exitCode === null && sidecar.child.signalCode === null) sidecar.child.kill(signal);
  return sidecar.exited;
}

/** The sidecar's own metrics (its /metrics, the port from its start line): name -> summed value. */
export async function sidecarMetrics(sidecar: SidecarProcess): Promise<Map<string, number>> {
  const port = /metrics on :(\d+)\/metrics/.exec(sidecar.output())?.[1];
  const values = new Map<string, number>();
  if (port === undefined) return values;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^(x2_sidecar_[a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}
