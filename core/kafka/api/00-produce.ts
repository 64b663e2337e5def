/**
 * Produce (key 0). Codec versions 0-7; the gateway implements 3-7 (magic-2 record batches)
 * and advertises 0-7, because librdkafka 2.0.2 turns compression off unless 0 is in range.
 * v0-2 decode here only so they can be answered with UNSUPPORTED_VERSION per partition.
 * - v1 adds throttle_time_ms, last in the response; v2 adds log_append_time_ms.
 * - v3 adds transactional_id; v5 adds log_start_offset to the response.
 * - v4, v6, v7 change only semantics (error codes, throttling, zstd).
 * - `records` stays a view of the request frame; record-batch.ts validates it.
 * - acks = 0: the gateway sends no response at all.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const produce = defineApi({
  apiKey: 0,
  name: 'Produce',
  versionMin: 0,
  versionMax: 7,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    transactionalId: field('nullableString', { min: 3, defaultValue: null }),
    acks: field('int16'),
    timeoutMs: field('int32'),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(array(struct({ index: field('int32'), records: field('records') }))),
        }),
      ),
    ),
  },
  response: {
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                index: field('int32'),
                errorCode: field('int16'),
                baseOffset: field('int64'),
                logAppendTimeMs: field('int64', { min: 2, defaultValue: -1 }),
                logStartOffset: field('int64', { min: 5, defaultValue: -1 }),
              }),
            ),
          ),
        }),
      ),
    ),
    throttleTimeMs: field('int32', { min: 1 }),
  },
});

export type ProduceRequest = RequestOf<typeof produce>;
export type ProduceResponse = ResponseOf<typeof produce>;

/**
 * A response giving every partition of `request` the same error (UNSUPPORTED_VERSION for
 * v0-2, or a request-wide failure); base offset -1 as Kafka sends with errors.
 */
export function produceErrorResponse(request: ProduceRequest, errorCode: number): ProduceResponse {
  return {
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        index: partition.index,
        errorCode,
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
      })),
    })),
    throttleTimeMs: 0,
  };
}
