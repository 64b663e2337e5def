/**
 * CreatePartitions (key 37), versions 0-1 (admin tools; v2 is flexible). `count` is the new
 * total number of partitions; assignments null = the gateway chooses.
 * - throttle_time_ms is first from v0; v1 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, nullableArray, struct } from '../codec/schema.ts';

export const createPartitions = defineApi({
  apiKey: 37,
  name: 'CreatePartitions',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    topics: field(
      array(
        struct({
          name: field('string'),
          count: field('int32'),
          assignments: field(nullableArray(struct({ brokerIds: field(array('int32')) }))),
        }),
      ),
    ),
    timeoutMs: field('int32'),
    validateOnly: field('bool'),
  },
  response: {
    throttleTimeMs: field('int32'),
    results: field(
      array(
        struct({
          name: field('string'),
          errorCode: field('int16'),
          errorMessage: field('nullableString'),
        }),
      ),
    ),
  },
});

export type CreatePartitionsRequest = RequestOf<typeof createPartitions>;
export type CreatePartitionsResponse = ResponseOf<typeof createPartitions>;
