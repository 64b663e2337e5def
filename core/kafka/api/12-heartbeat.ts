/**
 * Heartbeat (key 12), versions 0-3 (kafka-python v1, kafkajs 3; v4 flexible).
 * - v1 adds throttle_time_ms (first); v2 only semantics; v3 adds group_instance_id.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { field } from '../codec/schema.ts';

export const heartbeat = defineApi({
  apiKey: 12,
  name: 'Heartbeat',
  versionMin: 0,
  versionMax: 3,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    generationId: field('int32'),
    memberId: field('string'),
    groupInstanceId: field('nullableString', { min: 3, defaultValue: null }),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    errorCode: field('int16'),
  },
});

export type HeartbeatRequest = RequestOf<typeof heartbeat>;
export type HeartbeatResponse = ResponseOf<typeof heartbeat>;
