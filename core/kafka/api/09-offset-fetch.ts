/**
 * OffsetFetch (key 9), versions 1-5 (kafka-python v1, kafkajs 1-4; v6 is flexible).
 * An unknown group or partition answers offset -1, metadata "", error 0.
 * - v2 adds a top-level error_code and lets topics be null (= all committed partitions).
 * - v3 adds throttle_time_ms (first); v4 only semantics; v5 adds committed_leader_epoch.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, nullableArray, struct } from '../codec/schema.ts';

export const offsetFetch = defineApi({
  apiKey: 9,
  name: 'OffsetFetch',
  versionMin: 1,
  versionMax: 5,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    topics: field(
      nullableArray(struct({ name: field('string'), partitionIndexes: field(array('int32')) }), 2),
    ),
  },
  response: {
    throttleTimeMs: field('int32', { min: 3 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                committedOffset: field('int64'),
                committedLeaderEpoch: field('int32', { min: 5, defaultValue: -1 }),
                metadata: field('nullableString'),
                errorCode: field('int16'),
              }),
            ),
          ),
        }),
      ),
    ),
    errorCode: field('int16', { min: 2 }),
  },
});

export type OffsetFetchRequest = RequestOf<typeof offsetFetch>;
export type OffsetFetchResponse = ResponseOf<typeof offsetFetch>;
