/**
 * Micro-benchmarks of the Kafka codec hot paths (run by hand: `tsx core/kafka/kafka-codec.bench.ts`):
 * Produce v7 request decode and Fetch v11 response encode (copied into one buffer, and
 * gathered: record data referenced for a writev), each against a baseline of a
 * plain Buffer.copy of the same number of bytes measured in the same run. The ratio
 * (codec time / copy time) is what BENCHMARKS.md records; absolute numbers depend on the
 * machine. Record data is opaque here, as on the real path (a view for Produce, copied once
 * into the response for Fetch).
 */
import { Bench } from 'tinybench';
import { produce, type ProduceRequest } from './api/00-produce.ts';
import { fetch, type FetchResponse } from './api/01-fetch.ts';
import { KafkaReader } from './codec/reader.ts';
import { KafkaWriter } from './codec/writer.ts';
import { encodeResponseFrame, encodeResponseFrameGather } from './registry.ts';

type Shape = { name: string; partitions: number; recordsBytes: number };
const SHAPES: Shape[] = [
  { name: '1 partition x 16 KiB', partitions: 1, recordsBytes: 16 * 1024 },
  { name: '1 partition x 200 B', partitions: 1, recordsBytes: 200 },
  { name: '8 partitions x 1 KiB', partitions: 8, recordsBytes: 1024 },
  { name: '1 partition x 1 MiB', partitions: 1, recordsBytes: 1024 * 1024 },
];

const writer = new KafkaWriter(1 << 24);
const reader = new KafkaReader(Buffer.alloc(0));
const copyTarget = Buffer.alloc(4 << 20);
let sink = 0;

function produceRequest(shape: Shape): ProduceRequest {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topics: [
      {
        name: 'market-data.prices',
        partitions: Array.from({ length: shape.partitions }, (_, index) => ({
          index,
          records: Buffer.alloc(shape.recordsBytes, index),
        })),
      },
    ],
  };
}

function fetchResponse(shape: Shape): FetchResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'market-data.prices',
        partitions: Array.from({ length: shape.partitions }, (_, index) => ({
          partitionIndex: index,
          errorCode: 0,
          highWatermark: 123_456_789,
          lastStableOffset: 123_456_789,
          logStartOffset: 0,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: Buffer.alloc(shape.recordsBytes, index),
        })),
      },
    ],
  };
}

const bench = new Bench({ time: 1000, warmupTime: 200 });
for (const shape of SHAPES) {
  const body = Buffer.from(produce.request.encode(writer, produceRequest(shape), 7));
  bench.add(`Buffer.copy ${body.length} B (produce ${shape.name})`, () => {
    sink += body.copy(copyTarget, 0, 0, body.length);
  });
  bench.add(`Produce v7 request decode (${shape.name})`, () => {
    reader.reset(body);
    sink += produce.request.decode(reader, 7).topics.length;
  });
  const response = fetchResponse(shape);
  const frameBytes = encodeResponseFrame(writer, fetch, 11, 1, response).length;
  bench.add(`Buffer.copy ${frameBytes} B (fetch ${shape.name})`, () => {
    sink += copyTarget.copy(copyTarget, 2 << 20, 0, frameBytes);
  });
  bench.add(`Fetch v11 response encode (${shape.name})`, () => {
    sink += encodeResponseFrame(writer, fetch, 11, 1, response).length;
  });
  bench.add(`Fetch v11 response encode, gathered (${shape.name})`, () => {
    sink += encodeResponseFrameGather(writer, fetch, 11, 1, response, 1024).length;
  });
}

await bench.run();
console.table(bench.table());
type Measured = { latency?: { mean: number } };
const mean = (name: string): number =>
  (bench.tasks.find((task) => task.name === name)?.result as Measured | undefined)?.latency?.mean ??
  Number.NaN;
for (const task of bench.tasks) {
  if (!task.name.startsWith('Buffer.copy')) {
    const baseline = [...bench.tasks.slice(0, bench.tasks.indexOf(task))]
      .reverse()
      .find((t) => t.name.startsWith('Buffer.copy'));
    if (baseline) {
      console.log(
        `${task.name}: ${(mean(task.name) / mean(baseline.name)).toFixed(2)}x the time of ${baseline.name}`,
      );
    }
  }
}
if (sink === -1) console.log(sink);
