/**
 * Kafka RecordBatch v2 (magic 2): the unit x2 stores and serves byte for byte. On the produce
 * path the gateway splits a partition's `records` blob into batches and validates each
 * (sizes, magic, CRC-32C, record count) without copying; the sequencer later patches only
 * baseOffset (bytes 0-7) and partitionLeaderEpoch (bytes 12-15), which the CRC does not
 * cover, so no CRC is recomputed on the hot path. Record decoding (uncompressed and gzip) is
 * for tests, tools and sidecars, never for the produce path.
 *
 * Layout (big-endian): see the BATCH_* position constants; the CRC covers bytes 21..end.
 * Bounds: a batch larger than the caller's `batchBytesMax` is MESSAGE_TOO_LARGE; gzip output
 * is capped by `recordsBytesMax`. Failures carry the Kafka error code a produce gets.
 */
import { gunzipSync } from 'node:zlib';
import { crc32c } from '../../native/index.ts';
import { assert } from '../base/assert.ts';
import { KafkaDecodeError } from './codec/decode-error.ts';
import { KafkaReader } from './codec/reader.ts';
import { KAFKA_ERROR } from './kafka-errors.ts';

export const BATCH_BASE_OFFSET_POSITION = 0;
export const BATCH_LENGTH_POSITION = 8;
export const BATCH_PARTITION_LEADER_EPOCH_POSITION = 12;
export const BATCH_MAGIC_POSITION = 16;
export const BATCH_CRC_POSITION = 17;
export const BATCH_ATTRIBUTES_POSITION = 21;
export const BATCH_LAST_OFFSET_DELTA_POSITION = 23;
export const BATCH_BASE_TIMESTAMP_POSITION = 27;
export const BATCH_MAX_TIMESTAMP_POSITION = 35;
export const BATCH_PRODUCER_ID_POSITION = 43;
export const BATCH_PRODUCER_EPOCH_POSITION = 51;
export const BATCH_BASE_SEQUENCE_POSITION = 53;
export const BATCH_RECORD_COUNT_POSITION = 57;
export const BATCH_HEADER_BYTES = 61;
/** baseOffset and batchLength: the part of the header batchLength does not count. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;

// The layout adds up (the field sizes in order): checked once at load.
assert(
  BATCH_LENGTH_POSITION === BATCH_BASE_OFFSET_POSITION + 8 &&
    BATCH_PARTITION_LEADER_EPOCH_POSITION === BATCH_LENGTH_POSITION + 4 &&
    BATCH_MAGIC_POSITION === BATCH_PARTITION_LEADER_EPOCH_POSITION + 4 &&
    BATCH_CRC_POSITION === BATCH_MAGIC_POSITION + 1 &&
    BATCH_ATTRIBUTES_POSITION === BATCH_CRC_POSITION + 4 &&
    BATCH_LAST_OFFSET_DELTA_POSITION === BATCH_ATTRIBUTES_POSITION + 2 &&
    BATCH_BASE_TIMESTAMP_POSITION === BATCH_LAST_OFFSET_DELTA_POSITION + 4 &&
    BATCH_MAX_TIMESTAMP_POSITION === BATCH_BASE_TIMESTAMP_POSITION + 8 &&
    BATCH_PRODUCER_ID_POSITION === BATCH_MAX_TIMESTAMP_POSITION + 8 &&
    BATCH_PRODUCER_EPOCH_POSITION === BATCH_PRODUCER_ID_POSITION + 8 &&
    BATCH_BASE_SEQUENCE_POSITION === BATCH_PRODUCER_EPOCH_POSITION + 2 &&
    BATCH_RECORD_COUNT_POSITION === BATCH_BASE_SEQUENCE_POSITION + 4 &&
    BATCH_HEADER_BYTES === BATCH_RECORD_COUNT_POSITION + 4,
  'record batch layout constants do not add up',
);

/** Compression codecs by their attribute value (bits 0-2). */
export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CodecName = (typeof CODEC_NAMES)[number] | 'invalid';
/** Codecs decodeRecords can read; batches in other codecs still pass through untouched. */
export const DECODABLE_CODECS: readonly CodecName[] = ['none', 'gzip'];

export const ATTRIBUTE_CODEC_MASK = 0x07;
export const ATTRIBUTE_LOG_APPEND_TIME = 0x08;
export const ATTRIBUTE_TRANSACTIONAL = 0x10;
export const ATTRIBUTE_CONTROL = 0x20;

export function codecOf(attributes: number): CodecName {
  return CODEC_NAMES[attributes & ATTRIBUTE_CODEC_MASK] ?? 'invalid';
}

/** The header fields of one batch; callers reuse one instance. */
export class RecordBatchHeader {
  baseOffset = 0;
  batchLength = 0;
  partitionLeaderEpoch = 0;
  magic = 0;
  crc = 0;
  attributes = 0;
  lastOffsetDelta = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;
  producerId = 0;
  producerEpoch = 0;
  baseSequence = 0;
  recordCount = 0;

  /** Whole batch size in bytes: the 12-byte log overhead plus batchLength. */
  get sizeBytes(): number {
    return BATCH_LOG_OVERHEAD_BYTES + this.batchLength;
  }
}

const headerReader = new KafkaReader(Buffer.alloc(0));

/**
 * Reads the 61-byte header at `position` of `buffer` into `header` without copying. Throws
 * KafkaDecodeError if fewer than 61 bytes are left or an int64 is not a safe integer.
 */
export function readRecordBatchHeader(
  buffer: Buffer,
  position: number,
  header: RecordBatchHeader,
): void {
  const reader = headerReader;
  reader.reset(buffer, position, buffer.length);
  if (reader.remainingBytes < BATCH_HEADER_BYTES) {
    const problem = `needs ${BATCH_HEADER_BYTES} bytes, only ${reader.remainingBytes} left`;
    reader.fail('record batch header', problem);
  }
  header.baseOffset = reader.readInt64();
  header.batchLength = reader.readInt32();
  header.partitionLeaderEpoch = reader.readInt32();
  header.magic = reader.readInt8();
  header.crc = reader.readUInt32();
  header.attributes = reader.readInt16();
  header.lastOffsetDelta = reader.readInt32();
  header.baseTimestamp = reader.readInt64();
  header.maxTimestamp = reader.readInt64();
  header.producerId = reader.readInt64();
  header.producerEpoch = reader.readInt16();
  header.baseSequence = reader.readInt32();
  header.recordCount = reader.readInt32();
}

/** One batch inside a records blob: a view of its bytes and its parsed header. */
export type RecordBatchView = { bytes: Buffer; header: RecordBatchHeader };

export type BatchFailure = {
  errorCode: number;
  /** Byte position of the failing batch inside the records blob. */
  position: number;
  message: string;
};

export type SplitResult = { batches: RecordBatchView[]; failure: BatchFailure | null };

export type SplitOptions = {
  /** Largest whole batch accepted (Kafka's max.message.bytes); larger is MESSAGE_TOO_LARGE. */
  batchBytesMax: number;
  /** Produce path: batches must carry baseOffset 0 as every client sends. */
  fromProducer: boolean;
};

/**
 * Splits a records blob into magic-2 batches and validates each. Stops at the first invalid
 * batch and reports it with the Kafka error a produce gets (the whole partition fails, as in
 * Kafka). An empty or null blob is INVALID_RECORD on the produce path.
 */
export function splitRecordBatches(records: Buffer | null, options: SplitOptions): SplitResult {
  const batches: RecordBatchView[] = [];
  const fail = (errorCode: number, position: number, message: string): SplitResult => ({
    batches,
    failure: { errorCode, position, message },
  });
  if (records === null || records.length === 0) {
    return options.fromProducer
      ? fail(KAFKA_ERROR.INVALID_RECORD, 0, 'a produce partition needs at least one record batch')
      : { batches, failure: null };
  }
  let position = 0;
  while (position < records.length) {
    const remainingBytes = records.length - position;
    // Magic sits at byte 16 in every message format (v0/v1 message sets too), so it is
    // checked first: an old-format set is refused as such, not as a truncated batch.
    if (remainingBytes <= BATCH_MAGIC_POSITION) {
      const problem = `batch header truncated: ${remainingBytes} bytes`;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, problem);
    }
    const magic = records.readInt8(position + BATCH_MAGIC_POSITION);
    if (magic !== 2) {
      const problem = `magic ${magic} is not supported, only magic 2`;
      return fail(KAFKA_ERROR.INVALID_RECORD, position, problem);
    }
    if (remainingBytes < BATCH_HEADER_BYTES) {
      const problem = `batch header truncated: ${remainingBytes} bytes`;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, problem);
    }
    const batchLength = records.readInt32BE(position + BATCH_LENGTH_POSITION);
    const sizeBytes = BATCH_LOG_OVERHEAD_BYTES + batchLength;
    if (sizeBytes < BATCH_HEADER_BYTES) {
      const problem = `batch length ${batchLength} is below the header size`;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, problem);
    }
    if (sizeBytes > options.batchBytesMax) {
      const problem = `batch of ${sizeBytes} bytes exceeds ${options.batchBytesMax}`;
      return fail(KAFKA_ERROR.MESSAGE_TOO_LARGE, position, problem);
    }
    if (sizeBytes > remainingBytes) {
      const problem = `batch of ${sizeBytes} bytes, only ${remainingBytes} given`;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, problem);
    }
    const bytes = records.subarray(position, position + sizeBytes);
    const crcStored = bytes.readUInt32BE(BATCH_CRC_POSITION);
    const crcComputed = crc32c(bytes, 0, BATCH_ATTRIBUTES_POSITION, sizeBytes);
    if (crcStored !== crcComputed) {
      const problem = `CRC-32C mismatch: stored ${crcStored}, computed ${crcComputed}`;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, problem);
    }
    const header = new RecordBatchHeader();
    try {
      readRecordBatchHeader(bytes, 0, header);
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      return fail(KAFKA_ERROR.CORRUPT_MESSAGE, position, error.message);
    }
    const failure = checkHeader(header, options.fromProducer);
    if (failure !== null) return fail(failure.errorCode, position, failure.message);
    batches.push({ bytes, header });
    position += sizeBytes;
  }
  return { batches, failure: null };
}

function checkHeader(
  header: RecordBatchHeader,
  fromProducer: boolean,
): { errorCode: number; message: string } | null {
  if (codecOf(header.attributes) === 'invalid') {
    return {
      errorCode: KAFKA_ERROR.UNSUPPORTED_COMPRESSION_TYPE,
      message: `compression codec ${header.attributes & ATTRIBUTE_CODEC_MASK} is unknown`,
    };
  }
  if (header.recordCount < 1 || header.recordCount !== header.lastOffsetDelta + 1) {
    return {
      errorCode: KAFKA_ERROR.INVALID_RECORD,
      message:
        `record count ${header.recordCount} does not match ` +
        `last offset delta ${header.lastOffsetDelta}`,
    };
  }
  if (fromProducer && header.baseOffset !== 0) {
    return {
      errorCode: KAFKA_ERROR.INVALID_RECORD,
      message: `base offset ${header.baseOffset} from a producer must be 0`,
    };
  }
  return null;
}

/** Writes the assigned first offset and leader epoch in place; the CRC stays valid. */
export function patchRecordBatch(
  batch: Buffer,
  baseOffset: number,
  partitionLeaderEpoch: number,
): void {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `base offset ${baseOffset} < 0`);
  writeSafeInt64(batch, BATCH_BASE_OFFSET_POSITION, baseOffset);
  batch.writeInt32BE(partitionLeaderEpoch, BATCH_PARTITION_LEADER_EPOCH_POSITION);
}

/** A non-negative safe integer as a big-endian int64, without a BigInt. */
function writeSafeInt64(buffer: Buffer, position: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  buffer.writeInt32BE(high, position);
  buffer.writeUInt32BE(value - high * 0x1_0000_0000, position + 4);
}

/**
 * Stamps a batch for a topic with message.timestamp.type=LogAppendTime, in place, as Kafka's
 * broker does (DefaultRecordBatch.setMaxTimestamp): the timestamp-type attribute bit set and
 * maxTimestamp = `appendTimeMs`; the records keep their own deltas, and readers take maxTimestamp
 * for every record of such a batch. The CRC covers both fields, so it is recomputed.
 */
export function stampLogAppendTime(batch: Buffer, appendTimeMs: number): void {
  assert(Number.isSafeInteger(appendTimeMs) && appendTimeMs >= 0, `append time ${appendTimeMs} < 0`);
  batch.writeInt16BE(batch.readInt16BE(BATCH_ATTRIBUTES_POSITION) | ATTRIBUTE_LOG_APPEND_TIME,
    BATCH_ATTRIBUTES_POSITION);
  writeSafeInt64(batch, BATCH_MAX_TIMESTAMP_POSITION, appendTimeMs);
  batch.writeUInt32BE(crc32c(batch, 0, BATCH_ATTRIBUTES_POSITION, batch.length), BATCH_CRC_POSITION);
}

/** One decoded record, offsets and timestamps made absolute. */
export type DecodedRecord = {
  offset: number;
  timestamp: number;
  attributes: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
};

export type DecodeRecordsResult =
  | { decoded: true; codec: CodecName; records: DecodedRecord[] }
  | { decoded: false; codec: CodecName; reason: string };

/**
 * Decodes the records of one whole batch (as found by splitRecordBatches). Uncompressed and
 * gzip batches decode; any other codec is reported, never guessed. Malformed records throw
 * KafkaDecodeError. Keys and values are views of the batch (or of the inflated gzip data).
 */
export function decodeRecords(batch: Buffer, recordsBytesMax: number): DecodeRecordsResult {
  const header = new RecordBatchHeader();
  readRecordBatchHeader(batch, 0, header);
  const codec = codecOf(header.attributes);
  const stored = batch.subarray(BATCH_HEADER_BYTES, header.sizeBytes);
  let area: Buffer;
  if (codec === 'none') area = stored;
  else if (codec === 'gzip') area = gunzipRecords(stored, recordsBytesMax);
  else {
    const reason = `codec ${codec} is not decodable here (${DECODABLE_CODECS.join(', ')} are)`;
    return { decoded: false, codec, reason };
  }
  const reader = new KafkaReader(area);
  const records: DecodedRecord[] = [];
  for (let index = 0; index < header.recordCount; index++) {
    records.push(readRecord(reader, header));
  }
  if (reader.remainingBytes !== 0) {
    reader.fail('records', `${reader.remainingBytes} bytes after the last record`);
  }
  return { decoded: true, codec, records };
}

function gunzipRecords(compressed: Buffer, recordsBytesMax: number): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: recordsBytesMax });
  } catch (error) {
    throw new KafkaDecodeError('gzip records', BATCH_HEADER_BYTES, (error as Error).message);
  }
}

function readRecord(reader: KafkaReader, header: RecordBatchHeader): DecodedRecord {
  const lengthBytes = reader.readVarint();
  if (lengthBytes < 0 || lengthBytes > reader.remainingBytes) {
    reader.fail('record', `length ${lengthBytes} does not fit in ${reader.remainingBytes} bytes`);
  }
  const end = reader.position + lengthBytes;
  const outerEnd = reader.end;
  reader.end = end;
  const attributes = reader.readInt8();
  const timestampDelta = reader.readVarlong();
  const offsetDelta = reader.readVarint();
  const key = readVarBytes(reader, 'record key');
  const value = readVarBytes(reader, 'record value');
  const headerCount = reader.readVarint();
  if (headerCount < 0 || headerCount * 2 > reader.remainingBytes) {
    reader.fail('record headers', `count ${headerCount} does not fit`);
  }
  const headers: DecodedRecord['headers'] = [];
  for (let index = 0; index < headerCount; index++) {
    const headerKey = readVarBytes(reader, 'header key');
    if (headerKey === null) reader.fail('header key', 'null is not allowed');
    headers.push({ key: headerKey.toString('utf8'), value: readVarBytes(reader, 'header value') });
  }
  if (reader.position !== end) {
    reader.fail('record', `${end - reader.position} bytes left inside the record`);
  }
  reader.end = outerEnd;
  return {
    offset: header.baseOffset + offsetDelta,
    // A LogAppendTime batch's records all carry its max timestamp, the append time (Kafka's rule).
    timestamp: (header.attributes & ATTRIBUTE_LOG_APPEND_TIME) !== 0 ? header.maxTimestamp
      : header.baseTimestamp + timestampDelta,
    attributes,
    key,
    value,
    headers,
  };
}

function readVarBytes(reader: KafkaReader, what: string): Buffer | null {
  const length = reader.readVarint();
  if (length === -1) return null;
  if (length < 0) reader.fail(what, `length ${length} is negative`);
  return reader.readRaw(length, what);
}
