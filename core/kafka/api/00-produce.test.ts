/**
 * Produce v0-2 are advertised (librdkafka's compression probe) and answered UNSUPPORTED_VERSION: the
 * gateway answers them with produceErrorResponse. Method: a decoded v2 request is answered
 * with UNSUPPORTED_VERSION for every partition, and the answer encodes in the v2 layout.
 */
import { describe, expect, it } from 'vitest';
import { KafkaReader } from '../codec/reader.ts';
import { KafkaWriter } from '../codec/writer.ts';
import { KAFKA_ERROR } from '../kafka-errors.ts';
import { produce, produceErrorResponse } from './00-produce.ts';

describe('produceErrorResponse', () => {
  it('answers every partition of a v2 request with the error, in the v2 layout', () => {
    const writer = new KafkaWriter(1 << 16);
    const request = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topics: [
        {
          name: 'a',
          partitions: [
            { index: 0, records: Buffer.from([1, 2]) },
            { index: 3, records: null },
          ],
        },
        { name: 'b', partitions: [{ index: 1, records: null }] },
      ],
    };
    const decoded = produce.request.decode(
      new KafkaReader(Buffer.from(produce.request.encode(writer, request, 2))),
      2,
    );
    const response = produceErrorResponse(decoded, KAFKA_ERROR.UNSUPPORTED_VERSION);
    const bytes = Buffer.from(produce.response.encode(writer, response, 2));
    expect(produce.response.decode(new KafkaReader(bytes), 2)).toEqual({
      topics: [
        {
          name: 'a',
          partitions: [
            { index: 0, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
            { index: 3, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
          ],
        },
        {
          name: 'b',
          partitions: [{ index: 1, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 }],
        },
      ],
      throttleTimeMs: 0,
    });
  });
});
