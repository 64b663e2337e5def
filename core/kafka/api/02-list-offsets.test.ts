/**
 * ListOffsets v0, the layout kafka-python (api_version <= 0.10.0) and kafkajs's v0 use: per
 * partition max_num_offsets in the request, old_style_offsets (an int64 array) in place of
 * timestamp and offset in the response, no throttle time. Method: encode, compare with the bytes
 * written out by hand from Kafka's ListOffsetsRequest/Response.json, decode back; v1 leaves the
 * v0-only fields out.
 */
import { describe, expect, it } from 'vitest';
import { KafkaReader } from '../codec/reader.ts';
import { KafkaWriter } from '../codec/writer.ts';
import { listOffsets } from './02-list-offsets.ts';

function bigEndian(size: 2 | 4 | 8, value: number): number[] {
  const bytes = Buffer.alloc(size);
  if (size === 2) bytes.writeInt16BE(value);
  else if (size === 4) bytes.writeInt32BE(value);
  else bytes.writeBigInt64BE(BigInt(value));
  return [...bytes];
}
const int16 = (value: number): number[] => bigEndian(2, value);
const int32 = (value: number): number[] => bigEndian(4, value);
const int64 = (value: number): number[] => bigEndian(8, value);
const string = (text: string): number[] => [...int16(text.length), ...Buffer.from(text)];

describe('ListOffsets v0 codec', () => {
  const writer = new KafkaWriter(1 << 16);

  it('request: partition, timestamp, max_num_offsets; no isolation level or leader epoch', () => {
    const request = { replicaId: -1, isolationLevel: 0, topics: [{ name: 'ab', partitions: [
      { partitionIndex: 3, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 7 }] }] };
    const bytes = Buffer.from(listOffsets.request.encode(writer, request, 0));
    expect([...bytes]).toEqual([...int32(-1), ...int32(1), ...string('ab'), ...int32(1), ...int32(3), ...int64(-2),
      ...int32(7)]);
    expect(listOffsets.request.decode(new KafkaReader(bytes), 0)).toEqual(request);
    const v1 = Buffer.from(listOffsets.request.encode(writer, request, 1));
    expect(v1.length).toBe(bytes.length - 4);
    expect(listOffsets.request.decode(new KafkaReader(v1), 1).topics[0]!.partitions[0]!.maxNumOffsets).toBe(1);
  });

  it('response: error code and old_style_offsets; no throttle time, timestamp or offset', () => {
    const response = { throttleTimeMs: 0, topics: [{ name: 'ab', partitions: [
      { partitionIndex: 3, errorCode: 0, oldStyleOffsets: [5_000_000_000, 2], timestamp: -1, offset: -1,
        leaderEpoch: -1 },
      { partitionIndex: 4, errorCode: 42, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 }] }] };
    const bytes = Buffer.from(listOffsets.response.encode(writer, response, 0));
    expect([...bytes]).toEqual([...int32(1), ...string('ab'), ...int32(2),
      ...int32(3), ...int16(0), ...int32(2), ...int64(5_000_000_000), ...int64(2),
      ...int32(4), ...int16(42), ...int32(0)]);
    expect(listOffsets.response.decode(new KafkaReader(bytes), 0)).toEqual(response);
    const v1 = listOffsets.response.decode(new KafkaReader(Buffer.from(listOffsets.response.encode(writer,
      { ...response, topics: [{ name: 'ab', partitions: [{ ...response.topics[0]!.partitions[0]!, offset: 9 }] }] },
      1))), 1);
    expect(v1.topics[0]!.partitions[0]).toMatchObject({ oldStyleOffsets: [], offset: 9, timestamp: -1 });
  });
});
