/**
 * DescribeGroups (key 15), versions 0-4 (admin tools; kafkajs 2, librdkafka 4; v5 flexible).
 * States: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead.
 * - v1 adds throttle_time_ms (first); v2 only semantics.
 * - v3 adds include_authorized_operations and authorized_operations.
 * - v4 adds group_instance_id per member.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

/** authorized_operations when the client did not ask for them (Kafka's INT32_MIN). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const describeGroups = defineApi({
  apiKey: 15,
  name: 'DescribeGroups',
  versionMin: 0,
  versionMax: 4,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groups: field(array('string')),
    includeAuthorizedOperations: field('bool', { min: 3 }),
  },
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    groups: field(
      array(
        struct({
          errorCode: field('int16'),
          groupId: field('string'),
          groupState: field('string'),
          protocolType: field('string'),
          protocolData: field('string'),
          members: field(
            array(
              struct({
                memberId: field('string'),
                groupInstanceId: field('nullableString', { min: 4, defaultValue: null }),
                clientId: field('string'),
                clientHost: field('string'),
                memberMetadata: field('bytes'),
                memberAssignment: field('bytes'),
              }),
            ),
          ),
          authorizedOperations: field('int32', {
            min: 3,
            defaultValue: AUTHORIZED_OPERATIONS_OMITTED,
          }),
        }),
      ),
    ),
  },
});

export type DescribeGroupsRequest = RequestOf<typeof describeGroups>;
export type DescribeGroupsResponse = ResponseOf<typeof describeGroups>;
