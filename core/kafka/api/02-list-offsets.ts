/**
 * ListOffsets (key 2), versions 0-5 (kafka-python v1, or v0 when told api_version <= 0.10.0;
 * librdkafka max 2, kafkajs max 3). timestamp -1 = latest (high watermark), -2 = earliest (log
 * start), else the first offset whose record timestamp is >= it.
 * - v0 asks for up to max_num_offsets offsets and answers them as old_style_offsets.
 * - v1 replaces v0's old_style_offsets with one (timestamp, offset) pair.
 * - v2 adds isolation_level and throttle_time_ms; v3 only semantics.
 * - v4 adds current_leader_epoch (request) and leader_epoch (response); v5 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const listOffsets = defineApi({
  apiKey: 2,
  name: 'ListOffsets',
  versionMin: 0,
  versionMax: 5,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    replicaId: field('int32'),
    isolationLevel: field('int8', { min: 2 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                currentLeaderEpoch: field('int32', { min: 4, defaultValue: -1 }),
                timestamp: field('int64'),
                maxNumOffsets: field('int32', { max: 0, defaultValue: 1 }),
              }),
            ),
          ),
        }),
      ),
    ),
  },
  response: {
    throttleTimeMs: field('int32', { min: 2 }),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                errorCode: field('int16'),
                oldStyleOffsets: field(array('int64'), { max: 0 }),
                timestamp: field('int64', { min: 1, defaultValue: -1 }),
                offset: field('int64', { min: 1, defaultValue: -1 }),
                leaderEpoch: field('int32', { min: 4, defaultValue: -1 }),
              }),
            ),
          ),
        }),
      ),
    ),
  },
});

export type ListOffsetsRequest = RequestOf<typeof listOffsets>;
export type ListOffsetsResponse = ResponseOf<typeof listOffsets>;
