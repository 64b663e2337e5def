/**
 * DeleteTopics (key 20), versions 0-3 (kafkajs and librdkafka 1, kafka-python 3; v4 flexible).
 * - v1 adds throttle_time_ms (first); v2 and v3 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const deleteTopics = defineApi({
  apiKey: 20,
  name: 'DeleteTopics',
  versionMin: 0,
  versionMax: 3,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    topicNames: field(array('string')),
    timeoutMs: field('int32'),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    responses: field(array(struct({ name: field('string'), errorCode: field('int16') }))),
  },
});

export type DeleteTopicsRequest = RequestOf<typeof deleteTopics>;
export type DeleteTopicsResponse = ResponseOf<typeof deleteTopics>;
