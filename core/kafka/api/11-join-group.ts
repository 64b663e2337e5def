/**
 * JoinGroup (key 11), versions 0-5 (kafka-python v2, kafkajs and librdkafka 5; v6 flexible).
 * Protocol metadata is opaque bytes, stored and returned verbatim.
 * - v1 adds rebalance_timeout_ms; v2 adds throttle_time_ms (first); v3 only semantics.
 * - v4: a join with an empty member id gets MEMBER_ID_REQUIRED and a generated id.
 * - v5 adds group_instance_id (static membership), also per member in the response.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const joinGroup = defineApi({
  apiKey: 11,
  name: 'JoinGroup',
  versionMin: 0,
  versionMax: 5,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    sessionTimeoutMs: field('int32'),
    rebalanceTimeoutMs: field('int32', { min: 1, defaultValue: -1 }),
    memberId: field('string'),
    groupInstanceId: field('nullableString', { min: 5, defaultValue: null }),
    protocolType: field('string'),
    protocols: field(array(struct({ name: field('string'), metadata: field('bytes') }))),
  },
  response: {
    throttleTimeMs: field('int32', { min: 2 }),
    errorCode: field('int16'),
    generationId: field('int32', { defaultValue: -1 }),
    protocolName: field('string'),
    leader: field('string'),
    memberId: field('string'),
    members: field(
      array(
        struct({
          memberId: field('string'),
          groupInstanceId: field('nullableString', { min: 5, defaultValue: null }),
          metadata: field('bytes'),
        }),
      ),
    ),
  },
});

export type JoinGroupRequest = RequestOf<typeof joinGroup>;
export type JoinGroupResponse = ResponseOf<typeof joinGroup>;
