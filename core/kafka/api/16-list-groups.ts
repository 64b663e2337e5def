/**
 * ListGroups (key 16), versions 0-2 (v3 is flexible; librdkafka would pick it if offered).
 * - v1 adds throttle_time_ms (first); v2 only semantics. The request body is empty.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const listGroups = defineApi({
  apiKey: 16,
  name: 'ListGroups',
  versionMin: 0,
  versionMax: 2,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {},
  response: {
    throttleTimeMs: field('int32', { min: 1 }),
    errorCode: field('int16'),
    groups: field(array(struct({ groupId: field('string'), protocolType: field('string') }))),
  },
});

export type ListGroupsRequest = RequestOf<typeof listGroups>;
export type ListGroupsResponse = ResponseOf<typeof listGroups>;
