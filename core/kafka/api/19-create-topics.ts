/**
 * CreateTopics (key 19), versions 0-4 (kafkajs 3, librdkafka 4; v5 is flexible). Sent to the
 * controller from Metadata. replication_factor -1 / num_partitions -1 mean "broker default".
 * - v1 adds validate_only and error_message; v2 adds throttle_time_ms (first).
 * - v3 and v4 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const createTopics = defineApi({
  apiKey: 19,
  name: 'CreateTopics',
  versionMin: 0,
  versionMax: 4,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    topics: field(
      array(
        struct({
          name: field('string'),
          numPartitions: field('int32'),
          replicationFactor: field('int16'),
          assignments: field(
            array(struct({ partitionIndex: field('int32'), brokerIds: field(array('int32')) })),
          ),
          configs: field(array(struct({ name: field('string'), value: field('nullableString') }))),
        }),
      ),
    ),
    timeoutMs: field('int32'),
    validateOnly: field('bool', { min: 1 }),
  },
  response: {
    throttleTimeMs: field('int32', { min: 2 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          errorCode: field('int16'),
          errorMessage: field('nullableString', { min: 1, defaultValue: null }),
        }),
      ),
    ),
  },
});

export type CreateTopicsRequest = RequestOf<typeof createTopics>;
export type CreateTopicsResponse = ResponseOf<typeof createTopics>;
