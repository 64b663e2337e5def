/**
 * Goal: batches written by RecordBatchWriter are valid Kafka RecordBatch v2 that real clients
 * read. Method: seeded random records (null and empty keys/values, headers, out-of-order
 * timestamps) are written, then decoded by kafkajs's own RecordBatch decoder and by x2's
 * validating reader (which checks the CRC-32C); every field must come back identical.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeRecords, splitRecordBatches } from '../kafka/record-batch.ts';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { RecordBatchWriter, type WriterRecord } from './record-batch-writer.ts';

const require = createRequire(import.meta.url);
type KafkajsRecord = { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer>; timestamp: string;
  offset: string };
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as
  (decoder: unknown) => Promise<{ records: KafkajsRecord[] }>;

function randomBytes(random: () => number, nullable: boolean): Uint8Array | null {
  if (nullable && random() < 0.15) return null;
  const bytes = Buffer.alloc(Math.floor(random() * (random() < 0.1 ? 3000 : 40)));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

describe('RecordBatchWriter', () => {
  it('writes batches kafkajs and x2 decode to the same records', async () => {
    const seed = testSeed('record batch writer');
    const random = prng(seed);
    const writer = new RecordBatchWriter(1024 * 1024, 64);
    for (let round = 0; round < 60; round++) {
      writer.reset();
      const records: WriterRecord[] = [];
      const count = 1 + Math.floor(random() * 50);
      const baseMs = 1_700_000_000_000 + Math.floor(random() * 1e9);
      for (let i = 0; i < count; i++) {
        const headers = Array.from({ length: Math.floor(random() * 3) }, (_, h) =>
          ({ key: `h${h}-é`, value: randomBytes(random, false) }));
        const record = { key: randomBytes(random, true), value: randomBytes(random, true), headers,
          timestampMs: baseMs + Math.floor(random() * 2000) - 1000 };
        expect(writer.add(record)).toBe(true);
        records.push(record);
      }
      const batch = Buffer.from(writer.finish());
      const split = splitRecordBatches(batch, { batchBytesMax: 2 * 1024 * 1024, fromProducer: true });
      expect(split.failure, `seed ${seed}`).toBeNull();
      const ours = decodeRecords(batch, 1 << 24);
      expect(ours.decoded).toBe(true);
      if (!ours.decoded) return;
      const theirs = await decodeKafkajsBatch(new KafkajsDecoder(batch));
      expect(theirs.records.length).toBe(count);
      records.forEach((record, i) => {
        const kafkajs = theirs.records[i]!;
        const x2 = ours.records[i]!;
        const key = record.key === null ? null : Buffer.from(record.key);
        const value = record.value === null ? null : Buffer.from(record.value);
        expect(kafkajs.key).toEqual(key);
        expect(kafkajs.value).toEqual(value);
        expect(kafkajs.offset).toBe(String(i));
        expect(kafkajs.timestamp).toBe(String(record.timestampMs));
        expect(x2.key).toEqual(key);
        expect(x2.value).toEqual(value);
        expect(x2.timestamp).toBe(record.timestampMs);
        expect(x2.headers.map((h) => [h.key, h.value])).toEqual(record.headers.map((h) =>
          [h.key, h.value === null ? null : Buffer.from(h.value)]));
        for (const header of record.headers) expect(kafkajs.headers[header.key]).toEqual(Buffer.from(header.value!));
      });
    }
  });

  it('refuses a record past bytesMax and leaves the batch intact', () => {
    const writer = new RecordBatchWriter(200, 64);
    const small = { key: null, value: Buffer.alloc(50), headers: [], timestampMs: 1 };
    expect(writer.add(small)).toBe(true);
    expect(writer.add({ ...small, value: Buffer.alloc(150) })).toBe(false);
    expect(writer.recordCount).toBe(1);
    const split = splitRecordBatches(Buffer.from(writer.finish()), { batchBytesMax: 1000, fromProducer: true });
    expect(split.failure).toBeNull();
  });

  it('finish(logAppendTimeMs) writes a LogAppendTime batch: the type bit, that max timestamp, a valid CRC', () => {
    const writer = new RecordBatchWriter(4096, 64);
    for (const timestampMs of [1000, 2000]) {
      writer.add({ key: null, value: Buffer.from(`at ${timestampMs}`), headers: [], timestampMs });
    }
    const batch = Buffer.from(writer.finish(1_800_000_000_000));
    const split = splitRecordBatches(batch, { batchBytesMax: 4096, fromProducer: true });
    expect(split.failure).toBeNull();
    expect(split.batches[0]!.header).toMatchObject({ attributes: 0x08, baseTimestamp: 1000,
      maxTimestamp: 1_800_000_000_000 });
    const decoded = decodeRecords(batch, 4096);
    if (!decoded.decoded) throw new Error(decoded.reason);
    expect(decoded.records.map((record) => record.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000]);
  });
});
