/**
 * Metadata (key 3), versions 0-7 (kafka-python probes with v0 then uses v1; librdkafka max 4;
 * kafkajs max 6). Topic list: v0 empty = all topics; v1+ null = all topics, empty = none.
 * - v1 adds rack, controller_id and is_internal; v2 adds cluster_id.
 * - v3 adds throttle_time_ms (first); v4 adds allow_auto_topic_creation.
 * - v5 adds offline_replicas; v6 only semantics; v7 adds leader_epoch.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, nullableArray, struct } from '../codec/schema.ts';

export const metadata = defineApi({
  apiKey: 3,
  name: 'Metadata',
  versionMin: 0,
  versionMax: 7,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    topics: field(nullableArray(struct({ name: field('string') }), 1)),
    allowAutoTopicCreation: field('bool', { min: 4, defaultValue: true }),
  },
  response: {
    throttleTimeMs: field('int32', { min: 3 }),
    brokers: field(
      array(
        struct({
          nodeId: field('int32'),
          host: field('string'),
          port: field('int32'),
          rack: field('nullableString', { min: 1, defaultValue: null }),
        }),
      ),
    ),
    clusterId: field('nullableString', { min: 2, defaultValue: null }),
    controllerId: field('int32', { min: 1, defaultValue: -1 }),
    topics: field(
      array(
        struct({
          errorCode: field('int16'),
          name: field('string'),
          isInternal: field('bool', { min: 1 }),
          partitions: field(
            array(
              struct({
                errorCode: field('int16'),
                partitionIndex: field('int32'),
                leaderId: field('int32'),
                leaderEpoch: field('int32', { min: 7, defaultValue: -1 }),
                replicaNodes: field(array('int32')),
                isrNodes: field(array('int32')),
                offlineReplicas: field(array('int32'), { min: 5 }),
              }),
            ),
          ),
        }),
      ),
    ),
  },
});

export type MetadataRequest = RequestOf<typeof metadata>;
export type MetadataResponse = ResponseOf<typeof metadata>;
