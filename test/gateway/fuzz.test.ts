/**
 * Fuzz of a running gateway over TCP: more than 100,000 frames: random bytes, valid requests of
 * every API and version with random field values, and mutations of them (flipped bytes, cuts,
 * insertions, forged sizes and counts). Method: 8 lanes, one connection per burst of BURST
 * frames ended by a half-close; the gateway must close a connection at its first malformed frame
 * and at the end of input. The count that matters is the gateway's own: its
 * x2_gateway_frames_total metric must pass 100,000. Afterwards the gateway must be the same
 * process, its log must show no handler failure, and kafkajs must produce and consume through it
 * correctly. Seeded (seed printed).
 */
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { encodeRequestFrame, REGISTRY } from '../../core/kafka/registry.ts';
import { Cluster } from '../harness/cluster.ts';
import { prng, testSeed } from '../harness/seed.ts';
import { waitFor } from '../harness/wait-for.ts';
import { arbitraryMessage } from '../kafka/schema-arbitrary.ts';
import { RawKafka } from './raw-client.ts';

const FRAMES = 100_000;
const LANES = 8;
const BASE_FRAMES_PER_VERSION = 40;
const CLOSE_WAIT_MS = 2_000;
const BURST = 32;
const seed = testSeed('gateway fuzz');

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gatewayArgs: ['--request-bytes-max', '1MiB'] });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Valid requests of every API and version (waits and partition counts kept small). */
function baseFrames(): Buffer[] {
  const writer = new KafkaWriter(1 << 22);
  const frames: Buffer[] = [];
  for (const { api } of REGISTRY) {
    for (let version = api.versionMin; version <= api.versionMax; version++) {
      const bodies = fc.sample(arbitraryMessage(api.request.schema, version), { seed: seed + api.apiKey * 100 + version,
        numRuns: BASE_FRAMES_PER_VERSION });
      for (const body of bodies) {
        const fields = body as Record<string, unknown>;
        if ('maxWaitMs' in fields) fields['maxWaitMs'] = 0;
        if ('sessionTimeoutMs' in fields) fields['sessionTimeoutMs'] = 2000;
        if ('rebalanceTimeoutMs' in fields) fields['rebalanceTimeoutMs'] = 2000;
        if (Array.isArray(fields['topics'])) {
          for (const topic of fields['topics'] as Array<Record<string, unknown>>) {
            if ('numPartitions' in topic) topic['numPartitions'] = 1 + (Number(topic['numPartitions']) & 3);
            if ('count' in topic) topic['count'] = 1 + (Number(topic['count']) & 3);
          }
        }
        try {
          frames.push(Buffer.from(encodeRequestFrame(writer, api, version, 1, 'fuzz', body)));
        } catch {
          // A sanitized body that no longer encodes is simply left out.
        }
      }
    }
  }
  return frames;
}

function mutate(frame: Buffer, random: () => number): Buffer {
  let bytes = Buffer.from(frame);
  const changes = 1 + Math.floor(random() * 4);
  for (let i = 0; i < changes; i++) {
    const at = bytes.length === 0 ? 0 : Math.floor(random() * bytes.length);
    const kind = Math.floor(random() * 4);
    if (kind === 0 && bytes.length > 0) bytes.writeUInt8(bytes.readUInt8(at) ^ (1 + Math.floor(random() * 255)), at);
    else if (kind === 1) bytes = bytes.subarray(0, Math.max(4, at));
    else if (kind === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(random() * 256)]),
      bytes.subarray(at)]);
    else if (at + 4 <= bytes.length) bytes.writeInt32BE([-1, 0, 1, 0x7fff, 0x7fffffff,
      -0x80000000][Math.floor(random() * 6)]!, at);
  }
  // Keep the size prefix honest half of the time, so the body decoders are reached.
  if (random() < 0.5 && bytes.length >= 4) bytes.writeInt32BE(bytes.length - 4, 0);
  return bytes;
}

function randomFrame(random: () => number): Buffer {
  const length = Math.floor(random() * 200);
  const bytes = Buffer.alloc(4 + length);
  for (let i = 4; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  bytes.writeInt32BE(random() < 0.8 ? length : Math.floor(random() * 2 ** 31) - 2 ** 30, 0);
  if (length >= 4) bytes.writeInt16BE(Math.floor(random() * 40), 4);
  return bytes;
}

describe('gateway fuzz', () => {
  it(`survives ${FRAMES} random and mutated frames, then serves kafkajs`, async () => {
    const port = cluster.gatewayPorts[0]!;
    const pid = cluster.pidOf('gateway-0');
    const bases = baseFrames();
    expect(bases.length).toBeGreaterThan(1000);
    const metricsPort = Number(/metrics on :(\d+)\/metrics/.exec(cluster.log('gateway-0'))?.[1]);
    const framesReceived = async (): Promise<number> => {
      const text = await (await globalThis.fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^x2_gateway_frames_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await framesReceived();
    let received = 0;
    let sent = 0;
    let closes = 0;
    let rounds = 0;
    const lane = async (laneIndex: number): Promise<void> => {
      const random = prng(seed + laneIndex);
      while (received < FRAMES) {
        // One connection per burst: write, then half-close; the gateway reads every whole frame
        // (or closes at the first bad one) and closes on the end of input.
        const connection = await RawKafka.open(port);
        for (let i = 0; i < BURST && !connection.closed; i++) {
          // A third valid requests with random field values, half mutated ones, the rest random bytes.
          const pick = random();
          const base = bases[Math.floor(random() * bases.length)]!;
          connection.write(pick < 0.35 ? base : pick < 0.85 ? mutate(base, random) : randomFrame(random));
          sent += 1;
        }
        connection.socket.end();
        if (!await connection.whenClosed(CLOSE_WAIT_MS)) connection.close();
        closes += 1;
        rounds += 1;
        if (laneIndex === 0 && rounds % 8 === 0) received = await framesReceived() - before;
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
    received = await framesReceived() - before;
    process.stderr.write(`[fuzz] ${received} frames received by the gateway over ${closes} connections\n`);
    expect(received).toBeGreaterThanOrEqual(FRAMES);
    expect(cluster.pidOf('gateway-0')).toBe(pid);
    expect(cluster.log('gateway-0')).not.toMatch(/handler failed/);

    const kafka = new Kafka({ clientId: 'after-fuzz', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'after-fuzz', acks: -1, messages: Array.from({ length: 50 }, (_,
      i) => ({ value: `v${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'after-fuzz', maxWaitTimeInMs: 200 });
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'after-fuzz', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
    await waitFor(() => values.length >= 50, { timeoutMs: 30_000, what: '50 records after the fuzz' });
    await consumer.disconnect();
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
  }, 600_000);
});
