/**
 * By-hand comparison tool (not a test): kafkajs 2.2.4 producing to a Kafka-compatible broker
 * as fast as it acknowledges, to compare with `x2 bench produce` against the same cluster.
 * Method: one kafkajs producer (acks all by default, no compression, idempotence off), keeping
 * `--in-flight` send() calls of `--batch` records each outstanding for `--duration` seconds,
 * records spread round-robin over the topic's partitions; prints one JSON object with
 * acknowledged records, seconds and records/s.
 * Run: tsx test/bench/kafkajs-producer.ts --bootstrap 127.0.0.1:9092 --topic t-0 --partitions 8
 *   [--message-bytes 100] [--duration 10] [--batch 1000] [--in-flight 5] [--acks -1]
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Message } from 'kafkajs';

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    topic: { type: 'string', default: 'x2-bench-0' },
    partitions: { type: 'string', default: '1' },
    'message-bytes': { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    batch: { type: 'string', default: '1000' },
    'in-flight': { type: 'string', default: '5' },
    acks: { type: 'string', default: '-1' },
  },
});

const partitions = Number(values.partitions);
const messageBytes = Number(values['message-bytes']);
const durationMs = Number(values.duration) * 1000;
const batchRecords = Number(values.batch);
const inFlight = Number(values['in-flight']);
const acks = Number(values.acks);

const kafka = new Kafka({ clientId: 'kafkajs-bench', brokers: [values.bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: inFlight });
await producer.connect();
const payload = Buffer.alloc(messageBytes, 7);
let next = 0;
function batch(): Message[] {
  return Array.from({ length: batchRecords }, () => ({ value: payload, partition: next++ % partitions }));
}
let acked = 0;
let failed = 0;
const started = performance.now();
const deadline = started + durationMs;
async function lane(): Promise<void> {
  while (performance.now() < deadline) {
    try {
      await producer.send({ topic: values.topic, acks, messages: batch() });
      acked += batchRecords;
    } catch {
      failed += batchRecords;
    }
  }
}
await Promise.all(Array.from({ length: inFlight }, lane));
const seconds = (performance.now() - started) / 1000;
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ client: 'kafkajs 2.2.4', acked, failed, seconds,
  recordsPerSecond: acked / seconds, megabytesPerSecond: (acked * messageBytes) / 1e6 / seconds })}\n`);
