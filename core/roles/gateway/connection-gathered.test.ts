/**
 * Goal: a gathered Fetch response (Connection.encodeGathered) is byte for byte the frame that
 * encode() makes, its large records are the caller's buffers (not copied), and none of its parts
 * is a view of the shared writer, whose buffer the next response overwrites while the socket may
 * still hold this one.
 * Method: encode the same Fetch answer both ways, with records below and above GATHER_BYTES_MIN,
 * then encode another response with the same writer and check the gathered parts are unchanged;
 * the same for records given as RecordRuns (cached batches in several buffers, each run referred to).
 */
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { fetch, fetchAnswerAsResponse, type FetchAnswer, type FetchResponse } from '../../kafka/api/01-fetch.ts';
import { RecordRuns } from '../../kafka/codec/record-runs.ts';
import { KafkaWriter } from '../../kafka/codec/writer.ts';
import { Connection, GATHER_BYTES_MIN } from './connection.ts';

function answer(records: Buffer[]): FetchResponse {
  return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 'gathered', partitions: records.map(
    (batch, partitionIndex) => ({ partitionIndex, errorCode: 0, highWatermark: 10, lastStableOffset: 10,
      logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records: batch })) }] };
}

describe('Connection.encodeGathered', () => {
  it('makes the same frame, references large records and keeps nothing of the writer', () => {
    const writer = new KafkaWriter(8 << 20);
    const connection = new Connection(new Socket(), { requestBytesMax: 1 << 20, writer,
      dispatch: () => undefined, log: new Log('test', 'error'), counters: { framesReceived: 0,
        connectionsClosedForBadInput: 0 }, spares: new SpareBuffers(0) });
    const large = Buffer.alloc(GATHER_BYTES_MIN * 3, 7);
    const small = Buffer.alloc(100, 9);
    const body = answer([small, large, Buffer.alloc(GATHER_BYTES_MIN, 5)]);
    for (const version of [4, 11]) {
      const whole = connection.encode(fetch, version, 42, body);
      const parts = connection.encodeGathered(fetch, version, 42, body);
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
      expect(parts.some((part) => part.buffer === large.buffer && part.byteOffset === large.byteOffset)).toBe(true);
      expect(parts.every((part) => part.buffer !== writer.buffer.buffer)).toBe(true);
      const copy = Buffer.concat(parts);
      connection.encode(fetch, version, 43, answer([Buffer.alloc(5000, 1)])); // the writer's next response
      expect(Buffer.concat(parts).equals(copy)).toBe(true);
    }
  });

  it('writes RecordRuns as the one buffer they make, referring to every run, short ones too', () => {
    const writer = new KafkaWriter(8 << 20);
    const connection = new Connection(new Socket(), { requestBytesMax: 1 << 20, writer,
      dispatch: () => undefined, log: new Log('test', 'error'), counters: { framesReceived: 0,
        connectionsClosedForBadInput: 0 }, spares: new SpareBuffers(0) });
    const runs = [Buffer.alloc(300, 1), Buffer.alloc(GATHER_BYTES_MIN * 2, 2), Buffer.alloc(40, 3)];
    const asRuns: FetchAnswer = { ...answer([]), responses: [{ topic: 'gathered', partitions: [{ partitionIndex: 0,
      errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, abortedTransactions: null,
      preferredReadReplica: -1, records: new RecordRuns(runs) }] }] };
    const asOne = answer([Buffer.concat(runs)]);
    for (const version of [4, 11]) {
      const whole = connection.encode(fetch, version, 9, asOne);
      expect(connection.encode(fetch, version, 9, fetchAnswerAsResponse(asRuns)).equals(whole)).toBe(true);
      const parts = connection.encodeGathered(fetch, version, 9, fetchAnswerAsResponse(asRuns));
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
      for (const run of runs) expect(parts.filter((part) => part.buffer === run.buffer)).toHaveLength(1);
      // A plain encode copies them all (the writer's own bytes, for respond).
      const copied = connection.encode(fetch, version, 9, fetchAnswerAsResponse(asRuns));
      expect(runs.every((run) => copied.buffer !== run.buffer)).toBe(true);
    }
  });
});

