/**
 * SyncGroup (key 14), versions 0-3 (kafka-python v1, kafkajs 3; v4 flexible).
 * The leader sends every member's assignment; assignments are opaque bytes.
 * - v1 adds throttle_time_ms (first); v2 only semantics; v3 adds group_instance_id.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const syncGroup = defineApi({
  apiKey: 14,
  name: 'SyncGroup',
  versionMin: 0,
  versionMax: 3,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    generationId: field('int32'),
    memberId: field('string'),
    groupInstanceId: field('nullableString', { min: 3, defaultValue: null }),
    assignments: field(array(struct({ memberId: field('string'), assignment: field('bytes') }))),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    errorCode: field('int16'),
    assignment: field('bytes'),
  },
});

export type SyncGroupRequest = RequestOf<typeof syncGroup>;
export type SyncGroupResponse = ResponseOf<typeof syncGroup>;
