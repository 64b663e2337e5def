/**
 * DeleteGroups (key 42), versions 0-1 (kafkajs admin.deleteGroups, librdkafka's
 * DeleteConsumerGroups; v2 is flexible). v1 only changes throttling semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const deleteGroups = defineApi({
  apiKey: 42,
  name: 'DeleteGroups',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupsNames: field(array('string')),
  },
  response: {
    throttleTimeMs: field('int32'),
    results: field(array(struct({ groupId: field('string'), errorCode: field('int16') }))),
  },
});

export type DeleteGroupsRequest = RequestOf<typeof deleteGroups>;
export type DeleteGroupsResponse = ResponseOf<typeof deleteGroups>;
