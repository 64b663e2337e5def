/**
 * LeaveGroup (key 13), versions 0-3 (kafka-python v1, librdkafka 1, kafkajs 3; v4 flexible).
 * - v1 adds throttle_time_ms (first); v2 only semantics.
 * - v3 replaces the single member_id with a batch of members, answered per member.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const leaveGroup = defineApi({
  apiKey: 13,
  name: 'LeaveGroup',
  versionMin: 0,
  versionMax: 3,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    memberId: field('string', { max: 2 }),
    members: field(
      array(struct({ memberId: field('string'), groupInstanceId: field('nullableString') })),
      { min: 3 },
    ),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    errorCode: field('int16'),
    members: field(
      array(
        struct({
          memberId: field('string'),
          groupInstanceId: field('nullableString'),
          errorCode: field('int16'),
        }),
      ),
      { min: 3 },
    ),
  },
});

export type LeaveGroupRequest = RequestOf<typeof leaveGroup>;
export type LeaveGroupResponse = ResponseOf<typeof leaveGroup>;
