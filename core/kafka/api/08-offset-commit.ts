/**
 * OffsetCommit (key 8), versions 2-7 (kafka-python v2, kafkajs max 5, librdkafka max 7).
 * Simple commits (generation -1, member id "") come from assign() consumers and admin tools.
 * - v2-4 carry retention_time_ms; v3 adds throttle_time_ms (first in the response).
 * - v5 drops retention_time_ms; v6 adds committed_leader_epoch; v7 adds group_instance_id.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const offsetCommit = defineApi({
  apiKey: 8,
  name: 'OffsetCommit',
  versionMin: 2,
  versionMax: 7,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    groupId: field('string'),
    generationId: field('int32', { defaultValue: -1 }),
    memberId: field('string'),
    groupInstanceId: field('nullableString', { min: 7, defaultValue: null }),
    retentionTimeMs: field('int64', { max: 4, defaultValue: -1 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                committedOffset: field('int64'),
                committedLeaderEpoch: field('int32', { min: 6, defaultValue: -1 }),
                committedMetadata: field('nullableString'),
              }),
            ),
          ),
        }),
      ),
    ),
  },
  response: {
    throttleTimeMs: field('int32', { min: 3 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(struct({ partitionIndex: field('int32'), errorCode: field('int16') })),
          ),
        }),
      ),
    ),
  },
});

export type OffsetCommitRequest = RequestOf<typeof offsetCommit>;
export type OffsetCommitResponse = ResponseOf<typeof offsetCommit>;
