/**
 * RecordBatch v2 handling against batches built by kafkajs 2.2.4's encoder (a second
 * implementation): header parsing without copies, CRC-32C validation, each validation
 * failure mapped to the Kafka error a producer must get, in-place patching that keeps the
 * CRC valid, gzip decoding, and codecs reported rather than guessed. Method: real batches,
 * then single targeted corruptions (a flipped byte, a wrong count, a cut) of them.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../native/index.ts';
import { KafkaDecodeError } from '../../core/kafka/codec/decode-error.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import {
  ATTRIBUTE_LOG_APPEND_TIME,
  BATCH_ATTRIBUTES_POSITION,
  BATCH_CRC_POSITION,
  BATCH_HEADER_BYTES,
  BATCH_RECORD_COUNT_POSITION,
  decodeRecords,
  patchRecordBatch,
  readRecordBatchHeader,
  RecordBatchHeader,
  splitRecordBatches,
  stampLogAppendTime,
} from '../../core/kafka/record-batch.ts';
import { kafkajsCompression, kafkajsRecord, kafkajsRecordBatch } from './kafkajs.ts';

const PRODUCER = { batchBytesMax: 1 << 20, fromProducer: true };

async function batchOf(count: number, options: Record<string, unknown> = {}): Promise<Buffer> {
  const records = Array.from({ length: count }, (_, index) =>
    kafkajsRecord({
      offsetDelta: index,
      timestampDelta: index * 2,
      key: `key-${index}`,
      value: `value-${index}`,
      headers: { h: `${index}` },
    }),
  );
  const encoded = await kafkajsRecordBatch.RecordBatch({
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000 + 2 * (count - 1),
    lastOffsetDelta: count - 1,
    producerId: 4242,
    producerEpoch: 1,
    firstSequence: 17,
    records,
    ...options,
  });
  return Buffer.from(encoded.buffer);
}

function recrc(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch, 0, BATCH_ATTRIBUTES_POSITION, batch.length), BATCH_CRC_POSITION);
}

describe('record batch header', () => {
  it('reads every header field of a kafkajs batch', async () => {
    const batch = await batchOf(3);
    const header = new RecordBatchHeader();
    readRecordBatchHeader(batch, 0, header);
    expect(header).toMatchObject({
      baseOffset: 0,
      batchLength: batch.length - 12,
      partitionLeaderEpoch: 0,
      magic: 2,
      attributes: 0,
      lastOffsetDelta: 2,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_004,
      producerId: 4242,
      producerEpoch: 1,
      baseSequence: 17,
      recordCount: 3,
    });
    expect(header.crc).toBe(crc32c(batch, 0, 21, batch.length));
    expect(header.sizeBytes).toBe(batch.length);
  });

  it('a header shorter than 61 bytes is a KafkaDecodeError', async () => {
    const batch = await batchOf(1);
    expect(() => readRecordBatchHeader(batch.subarray(0, 60), 0, new RecordBatchHeader())).toThrow(
      KafkaDecodeError,
    );
  });
});

describe('splitting and validating a produce records blob', () => {
  it('splits several batches into views of the blob', async () => {
    const blob = Buffer.concat([
      await batchOf(2),
      await batchOf(5, { compression: kafkajsCompression['GZIP'] }),
    ]);
    const split = splitRecordBatches(blob, { batchBytesMax: 1 << 20, fromProducer: false });
    expect(split.failure).toBeNull();
    expect(split.batches.map((batch) => batch.header.recordCount)).toEqual([2, 5]);
    expect(split.batches[1]?.bytes.buffer).toBe(blob.buffer);
  });

  it('a flipped bit anywhere under the CRC is CORRUPT_MESSAGE', async () => {
    const batch = await batchOf(3);
    for (const position of [BATCH_ATTRIBUTES_POSITION + 1, 40, batch.length - 1]) {
      const corrupted = Buffer.from(batch);
      corrupted[position] = (corrupted[position] as number) ^ 0x10;
      const split = splitRecordBatches(corrupted, PRODUCER);
      expect(split.failure?.errorCode, `byte ${position}`).toBe(KAFKA_ERROR.CORRUPT_MESSAGE);
      expect(split.failure?.message).toMatch(/CRC-32C mismatch/);
    }
  });

  it('maps each structural failure to its Kafka error', async () => {
    const batch = await batchOf(3);
    const cases: [string, Buffer | null, number, RegExp][] = [
      ['null records', null, KAFKA_ERROR.INVALID_RECORD, /needs at least one record batch/],
      ['truncated header', batch.subarray(0, 40), KAFKA_ERROR.CORRUPT_MESSAGE, /header truncated/],
      ['truncated body', batch.subarray(0, batch.length - 1), KAFKA_ERROR.CORRUPT_MESSAGE, /only/],
    ];
    const magic1 = Buffer.from(batch);
    magic1[16] = 1;
    cases.push(['magic 1', magic1, KAFKA_ERROR.INVALID_RECORD, /magic 1/]);
    const tinyLength = Buffer.from(batch);
    tinyLength.writeInt32BE(10, 8);
    cases.push(['length below header', tinyLength, KAFKA_ERROR.CORRUPT_MESSAGE, /below the header/]);
    const wrongCount = Buffer.from(batch);
    wrongCount.writeInt32BE(4, BATCH_RECORD_COUNT_POSITION);
    recrc(wrongCount);
    cases.push([
      'count mismatch',
      wrongCount,
      KAFKA_ERROR.INVALID_RECORD,
      /does not match last offset delta/,
    ]);
    const badCodec = Buffer.from(batch);
    badCodec.writeInt16BE(7, BATCH_ATTRIBUTES_POSITION);
    recrc(badCodec);
    cases.push(['codec 7', badCodec, KAFKA_ERROR.UNSUPPORTED_COMPRESSION_TYPE, /codec 7/]);
    const offsetSet = Buffer.from(batch);
    patchRecordBatch(offsetSet, 5, 0);
    cases.push(['base offset from producer', offsetSet, KAFKA_ERROR.INVALID_RECORD, /must be 0/]);
    for (const [name, records, errorCode, message] of cases) {
      const split = splitRecordBatches(records, PRODUCER);
      expect(split.failure?.errorCode, name).toBe(errorCode);
      expect(split.failure?.message, name).toMatch(message);
    }
    const tooLarge = splitRecordBatches(batch, { batchBytesMax: batch.length - 1, fromProducer: true });
    expect(tooLarge.failure?.errorCode).toBe(KAFKA_ERROR.MESSAGE_TOO_LARGE);
  });

  it('the failure names the position of the bad batch in the blob', async () => {
    const good = await batchOf(1);
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    const split = splitRecordBatches(Buffer.concat([good, bad]), PRODUCER);
    expect(split.failure).toMatchObject({ errorCode: KAFKA_ERROR.CORRUPT_MESSAGE, position: good.length });
    expect(split.batches).toHaveLength(1);
  });
});

describe('patching and decoding', () => {
  it('patching base offset and leader epoch keeps the CRC valid and shifts record offsets', async () => {
    const batch = await batchOf(4);
    patchRecordBatch(batch, 2 ** 40 + 3, 9);
    const split = splitRecordBatches(batch, { batchBytesMax: 1 << 20, fromProducer: false });
    expect(split.failure).toBeNull();
    expect(split.batches[0]?.header).toMatchObject({ baseOffset: 2 ** 40 + 3, partitionLeaderEpoch: 9 });
    const result = decodeRecords(batch, 1 << 20);
    if (!result.decoded) throw new Error(result.reason);
    expect(result.records.map((record) => record.offset)).toEqual(
      [0, 1, 2, 3].map((delta) => 2 ** 40 + 3 + delta),
    );
    expect(result.records[3]).toMatchObject({
      timestamp: 1_700_000_000_006,
      headers: [{ key: 'h', value: Buffer.from('3') }],
    });
  });

  it('stamping LogAppendTime sets the type bit and max timestamp, keeps the CRC valid, and every record reads it',
    async () => {
      for (const options of [{}, { compression: kafkajsCompression['GZIP'] }]) {
        const batch = await batchOf(4, options);
        const before = Buffer.from(batch);
        stampLogAppendTime(batch, 1_800_000_000_123);
        const split = splitRecordBatches(batch, PRODUCER);
        expect(split.failure).toBeNull();
        const header = split.batches[0]!.header;
        expect(header.attributes & ATTRIBUTE_LOG_APPEND_TIME).toBe(ATTRIBUTE_LOG_APPEND_TIME);
        expect(header.attributes & ~ATTRIBUTE_LOG_APPEND_TIME).toBe(before.readInt16BE(BATCH_ATTRIBUTES_POSITION));
        expect(header).toMatchObject({ maxTimestamp: 1_800_000_000_123, baseTimestamp: 1_700_000_000_000 });
        // Only the attributes, max timestamp and CRC changed; the records are the producer's.
        expect(batch.subarray(BATCH_HEADER_BYTES).equals(before.subarray(BATCH_HEADER_BYTES))).toBe(true);
        const result = decodeRecords(batch, 1 << 20);
        if (!result.decoded) throw new Error(result.reason);
        expect(result.records.map((record) => record.timestamp)).toEqual(Array(4).fill(1_800_000_000_123));
      }
    });

  it('gzip batches decode to the same records as uncompressed ones', async () => {
    const plain = decodeRecords(await batchOf(20), 1 << 20);
    const gzip = decodeRecords(await batchOf(20, { compression: kafkajsCompression['GZIP'] }), 1 << 20);
    if (!plain.decoded || !gzip.decoded) throw new Error('not decoded');
    expect(gzip.codec).toBe('gzip');
    expect(gzip.records).toEqual(plain.records);
  });

  it('gzip output beyond the limit and garbage gzip are KafkaDecodeErrors', async () => {
    const gzip = await batchOf(20, { compression: kafkajsCompression['GZIP'] });
    expect(() => decodeRecords(gzip, 64)).toThrow(KafkaDecodeError);
    const garbage = Buffer.from(gzip);
    garbage.fill(0x41, 61);
    expect(() => decodeRecords(garbage, 1 << 20)).toThrow(KafkaDecodeError);
  });

  it('snappy, lz4 and zstd batches are reported as not decodable, never guessed', async () => {
    const batch = await batchOf(2);
    for (const [codec, name] of [
      [2, 'snappy'],
      [3, 'lz4'],
      [4, 'zstd'],
    ] as const) {
      const other = Buffer.from(batch);
      other.writeInt16BE(codec, BATCH_ATTRIBUTES_POSITION);
      recrc(other);
      expect(splitRecordBatches(other, PRODUCER).failure).toBeNull();
      expect(decodeRecords(other, 1 << 20)).toMatchObject({ decoded: false, codec: name });
    }
  });

  it('a record whose length runs past the batch is a KafkaDecodeError', async () => {
    const batch = await batchOf(1);
    batch[61] = 0x7e; // first record's zig-zag length: 63 bytes, more than the batch holds
    expect(() => decodeRecords(batch, 1 << 20)).toThrow(KafkaDecodeError);
  });
});
