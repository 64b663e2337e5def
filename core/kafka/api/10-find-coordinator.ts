/**
 * FindCoordinator (key 10), versions 0-2 (kafka-python v0; librdkafka needs 0 in range for
 * consumer groups; v3 is flexible). key_type 0 = group, 1 = transaction.
 * - v1 adds key_type, throttle_time_ms (first) and error_message; v2 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { field } from '../codec/schema.ts';

export const findCoordinator = defineApi({
  apiKey: 10,
  name: 'FindCoordinator',
  versionMin: 0,
  versionMax: 2,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    key: field('string'),
    keyType: field('int8', { min: 1 }),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    errorCode: field('int16'),
    errorMessage: field('nullableString', { min: 1, defaultValue: null }),
    nodeId: field('int32'),
    host: field('string'),
    port: field('int32'),
  },
});

export type FindCoordinatorRequest = RequestOf<typeof findCoordinator>;
export type FindCoordinatorResponse = ResponseOf<typeof findCoordinator>;
