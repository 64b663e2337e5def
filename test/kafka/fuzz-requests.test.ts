/**
 * Fuzz of the request decoding path for every API and version: random bytes and mutated valid
 * requests (flipped bytes, cuts, insertions, forged lengths and counts) go through the frame
 * splitter, the header reader and the API's compiled decoder. The only error allowed out is
 * KafkaDecodeError (never a RangeError or TypeError), and every case must finish: array counts
 * are bounded by the bytes left, so decoding is linear in the input. Method: fast-check,
 * seeded (seed printed), more than 100,000 cases in total, each property time-boxed. Record
 * batches get the same treatment: splitRecordBatches never throws, decodeRecords throws only
 * KafkaDecodeError, also for mutations whose CRC was re-sealed.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiDefinition } from '../../core/kafka/codec/define-api.ts';
import { KafkaDecodeError } from '../../core/kafka/codec/decode-error.ts';
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { FrameSplitter } from '../../core/kafka/framing.ts';
import {
  encodeRequestFrame,
  lookupApi,
  readRequestHeader,
  REGISTRY,
  RequestHeader,
  requestDisposition,
} from '../../core/kafka/registry.ts';
import { crc32c } from '../../native/index.ts';
import { testSeed } from '../harness/seed.ts';
import { arbitraryMessage } from './schema-arbitrary.ts';

const seed = testSeed('kafka request fuzz');
const CASES_PER_VERSION = 1200;
const TIME_LIMIT_MS_PER_VERSION = 20_000;
const writer = new KafkaWriter(1 << 22);
const reader = new KafkaReader(Buffer.alloc(0));
const header = new RequestHeader();
let casesRun = 0;

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'forge'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('forge' as const),
    at: fc.nat(),
    value: fc.constantFrom(-1, -2, 0, 1, 0x7fff, 0x7fffffff, -0x80000000, 0xffff),
  }),
);

function mutate(frame: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(frame);
  for (const change of mutations) {
    const at = bytes.length === 0 ? 0 : change.at % bytes.length;
    if (change.kind === 'flip' && bytes.length > 0) bytes[at] = (bytes[at] as number) ^ change.xor;
    else if (change.kind === 'cut') bytes = bytes.subarray(0, at);
    else if (change.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)]);
    else if (change.kind === 'forge' && at + 4 <= bytes.length) bytes.writeInt32BE(change.value | 0, at);
  }
  return bytes;
}

/** The gateway's request path up to the typed body; returns how far it got. */
function decodeStream(stream: Buffer): string {
  const splitter = new FrameSplitter(1 << 20);
  splitter.push(stream);
  const frame = splitter.next();
  if (!Buffer.isBuffer(frame)) return frame;
  reader.reset(frame);
  readRequestHeader(reader, header);
  const disposition = requestDisposition(header.apiKey, header.apiVersion);
  const registered = lookupApi(header.apiKey);
  if (
    registered === undefined ||
    header.apiVersion < registered.api.versionMin ||
    header.apiVersion > registered.api.versionMax
  ) {
    return disposition;
  }
  registered.api.request.decode(reader, header.apiVersion);
  return 'decoded';
}

function expectOnlyDecodeErrors(stream: Buffer): void {
  casesRun += 1;
  try {
    decodeStream(stream);
  } catch (error) {
    if (!(error instanceof KafkaDecodeError)) {
      throw new Error(`non-decode error ${String(error)} for input ${stream.toString('hex')}`, {
        cause: error,
      });
    }
  }
}

function fuzzVersion(api: ApiDefinition<unknown, unknown>, version: number): void {
  const valid = arbitraryMessage(api.request.schema, version).map((body) =>
    Buffer.from(encodeRequestFrame(writer, api, version, 1, 'fuzz', body)),
  );
  const input = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }))
        .map(([frame, changes]) => mutate(frame, changes)),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 160 }).map((random) => {
        // A plausible size prefix and header so random bytes reach the body decoder.
        const stream = Buffer.alloc(12 + random.length);
        stream.writeInt32BE(8 + random.length, 0);
        stream.writeInt16BE(api.apiKey, 4);
        stream.writeInt16BE(version, 6);
        stream.set(random, 12);
        return stream;
      }),
    },
  );
  fc.assert(fc.property(input, expectOnlyDecodeErrors), {
    seed,
    numRuns: CASES_PER_VERSION,
    interruptAfterTimeLimit: TIME_LIMIT_MS_PER_VERSION,
  });
}

describe('request decoding survives random and mutated frames', () => {
  for (const { api } of REGISTRY) {
    for (let version = api.versionMin; version <= api.versionMax; version++) {
      it(`${api.name} v${version}`, () => fuzzVersion(api, version), TIME_LIMIT_MS_PER_VERSION * 2);
    }
  }

  it('a forged huge array count fails fast instead of allocating or looping', () => {
    const frame = Buffer.from([0, 0, 0, 14, 0, 20, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeStream(frame)).toThrow(/count 2147483647 cannot fit/);
  });
});

describe('record batch validation survives mutated batches', () => {
  it('splitRecordBatches never throws and decodeRecords throws only KafkaDecodeError', async () => {
    const { kafkajsCompression, kafkajsRecord, kafkajsRecordBatch } = await import('./kafkajs.ts');
    const { decodeRecords, splitRecordBatches } = await import('../../core/kafka/record-batch.ts');
    const batches: Buffer[] = [];
    for (const compression of [kafkajsCompression['None'], kafkajsCompression['GZIP']]) {
      const records = [0, 1, 2].map((index) =>
        kafkajsRecord({
          offsetDelta: index,
          key: `k${index}`,
          value: 'v'.repeat(index * 20),
          headers: { h: 'x' },
        }),
      );
      const encoded = await kafkajsRecordBatch.RecordBatch({ compression, lastOffsetDelta: 2, records });
      batches.push(Buffer.from(encoded.buffer));
    }
    let cases = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...batches),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (batch, changes, fixCrc) => {
          cases += 1;
          const mutated = mutate(batch, changes);
          if (fixCrc && mutated.length >= 61) {
            // Re-seal the CRC so mutations reach the record decoder too.
            mutated.writeUInt32BE(
              crc32c(mutated, 0, 21, Math.min(mutated.length, 12 + Math.max(49, mutated.readInt32BE(8)))),
              17,
            );
          }
          const split = splitRecordBatches(mutated, { batchBytesMax: 1 << 20, fromProducer: true });
          for (const view of split.batches) {
            try {
              decodeRecords(view.bytes, 1 << 20);
            } catch (error) {
              if (!(error instanceof KafkaDecodeError)) throw error;
            }
          }
        },
      ),
      { seed, numRuns: 20_000, interruptAfterTimeLimit: 60_000 },
    );
    casesRun += cases;
  }, 120_000);
});

afterAll(() => {
  process.stderr.write(`[fuzz] kafka request path and record batches: ${casesRun} cases\n`);
  expect(casesRun).toBeGreaterThanOrEqual(100_000);
});
