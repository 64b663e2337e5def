/**
 * Cross-implementation check, responses: for every API version kafkajs 2.2.4 implements inside
 * x2's ranges, x2 encodes a response (the body a gateway would send) and kafkajs's own
 * decoder and parser must read the values x2 wrote. Distinct values are placed in the last
 * fields of each message, so a layout slip anywhere before them shows. Fetch responses carry
 * a real RecordBatch (built by kafkajs's encoder and patched by x2), which kafkajs must
 * decode to the messages with the offsets x2 assigned.
 */
import { describe, expect, it } from 'vitest';
import { produce, produceErrorResponse } from '../../core/kafka/api/00-produce.ts';
import { fetch } from '../../core/kafka/api/01-fetch.ts';
import { listOffsets } from '../../core/kafka/api/02-list-offsets.ts';
import { metadata } from '../../core/kafka/api/03-metadata.ts';
import { offsetCommit } from '../../core/kafka/api/08-offset-commit.ts';
import { offsetFetch } from '../../core/kafka/api/09-offset-fetch.ts';
import { findCoordinator } from '../../core/kafka/api/10-find-coordinator.ts';
import { joinGroup } from '../../core/kafka/api/11-join-group.ts';
import { heartbeat } from '../../core/kafka/api/12-heartbeat.ts';
import { leaveGroup } from '../../core/kafka/api/13-leave-group.ts';
import { syncGroup } from '../../core/kafka/api/14-sync-group.ts';
import { describeGroups } from '../../core/kafka/api/15-describe-groups.ts';
import { listGroups } from '../../core/kafka/api/16-list-groups.ts';
import { apiVersions } from '../../core/kafka/api/18-api-versions.ts';
import { createTopics } from '../../core/kafka/api/19-create-topics.ts';
import { deleteTopics } from '../../core/kafka/api/20-delete-topics.ts';
import { deleteRecords } from '../../core/kafka/api/21-delete-records.ts';
import { initProducerId } from '../../core/kafka/api/22-init-producer-id.ts';
import { describeConfigs } from '../../core/kafka/api/32-describe-configs.ts';
import { alterConfigs } from '../../core/kafka/api/33-alter-configs.ts';
import { createPartitions } from '../../core/kafka/api/37-create-partitions.ts';
import { deleteGroups } from '../../core/kafka/api/42-delete-groups.ts';
import type { ApiDefinition } from '../../core/kafka/codec/define-api.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import { patchRecordBatch } from '../../core/kafka/record-batch.ts';
import { API_VERSIONS_RESPONSE } from '../../core/kafka/registry.ts';
import { kafkajsRecord, kafkajsRecordBatch, kafkajsResponse } from './kafkajs.ts';

type Case = {
  api: ApiDefinition<unknown, unknown>;
  kafkajsName: string;
  versionMin: number;
  versionMax: number;
  response: () => unknown;
  expected: (version: number) => object;
};

function apiCase<Q, S>(
  api: ApiDefinition<Q, S>,
  kafkajsName: string,
  versions: [number, number],
  response: () => S,
  expected: (version: number) => object,
): Case {
  return {
    api: api as unknown as ApiDefinition<unknown, unknown>,
    kafkajsName,
    versionMin: versions[0],
    versionMax: versions[1],
    response,
    expected,
  };
}

const bytes = (text: string): Buffer => Buffer.from(text);

async function fetchRecords(): Promise<Buffer> {
  const encoded = await kafkajsRecordBatch.RecordBatch({
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_004,
    lastOffsetDelta: 1,
    records: [
      kafkajsRecord({ offsetDelta: 0, key: 'k1', value: 'first' }),
      kafkajsRecord({ offsetDelta: 1, timestampDelta: 4, key: null, value: 'second' }),
    ],
  });
  const batch = Buffer.from(encoded.buffer);
  patchRecordBatch(batch, 5_000_000_000, 0);
  return batch;
}
let fetchBatch: Buffer = Buffer.alloc(0);

const CASES: Case[] = [
  apiCase(
    produce,
    'produce',
    [3, 7],
    () => ({
      topics: [
        {
          name: 'prices',
          partitions: [
            {
              index: 3,
              errorCode: 0,
              baseOffset: 9_007_199_254_740,
              logAppendTimeMs: -1,
              logStartOffset: 17,
            },
          ],
        },
      ],
      throttleTimeMs: 123,
    }),
    (version) => ({
      topics: [
        {
          topicName: 'prices',
          partitions: [
            {
              partition: 3,
              errorCode: 0,
              baseOffset: '9007199254740',
              logAppendTime: '-1',
              ...(version >= 5 ? { logStartOffset: '17' } : {}),
            },
          ],
        },
      ],
      ...(version >= 6 ? { clientSideThrottleTime: 123 } : { throttleTime: 123 }),
    }),
  ),
  apiCase(
    fetch,
    'fetch',
    [4, 11],
    () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'prices',
          partitions: [
            {
              partitionIndex: 2,
              errorCode: 0,
              highWatermark: 5_000_000_002,
              lastStableOffset: 5_000_000_002,
              logStartOffset: 11,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records: fetchBatch,
            },
          ],
        },
      ],
    }),
    () => ({
      responses: [
        {
          topicName: 'prices',
          partitions: [
            {
              partition: 2,
              errorCode: 0,
              highWatermark: '5000000002',
              lastStableOffset: '5000000002',
              messages: [
                { offset: '5000000000', key: bytes('k1'), value: bytes('first'), timestamp: '1700000000000' },
                { offset: '5000000001', key: null, value: bytes('second'), timestamp: '1700000000004' },
              ],
            },
          ],
        },
      ],
    }),
  ),
  apiCase(
    listOffsets,
    'listOffsets',
    [0, 3],
    () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'prices',
          partitions: [{ partitionIndex: 2, errorCode: 0, oldStyleOffsets: [77], timestamp: -1, offset: 77,
            leaderEpoch: -1 }],
        },
        {
          name: 'trades',
          partitions: [
            { partitionIndex: 0, errorCode: 0, oldStyleOffsets: [5_000_000_000, 0], timestamp: 1_700_000_000_000,
              offset: 5, leaderEpoch: -1 },
          ],
        },
      ],
    }),
    (version) => ({
      responses: version === 0 ? [
        { topic: 'prices', partitions: [{ partition: 2, errorCode: 0, offsets: ['77'] }] },
        { topic: 'trades', partitions: [{ partition: 0, errorCode: 0, offsets: ['5000000000', '0'] }] },
      ] : [
        { topic: 'prices', partitions: [{ partition: 2, errorCode: 0, timestamp: '-1', offset: '77' }] },
        {
          topic: 'trades',
          partitions: [{ partition: 0, errorCode: 0, timestamp: '1700000000000', offset: '5' }],
        },
      ],
    }),
  ),
  apiCase(
    metadata,
    'metadata',
    [0, 6],
    () => ({
      throttleTimeMs: 0,
      brokers: [
        { nodeId: 0, host: '127.0.0.1', port: 9092, rack: null },
        { nodeId: 1, host: '127.0.0.2', port: 9093, rack: 'r1' },
      ],
      clusterId: 'x2-cluster',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'prices',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 0,
              replicaNodes: [1, 0],
              isrNodes: [1],
              offlineReplicas: [0],
            },
          ],
        },
      ],
    }),
    (version) => ({
      brokers: [
        { nodeId: 0, host: '127.0.0.1', port: 9092 },
        { nodeId: 1, host: '127.0.0.2', port: 9093, ...(version >= 1 ? { rack: 'r1' } : {}) },
      ],
      ...(version >= 2 ? { clusterId: 'x2-cluster' } : {}),
      ...(version >= 1 ? { controllerId: 1 } : {}),
      topicMetadata: [
        {
          topicErrorCode: 0,
          topic: 'prices',
          partitionMetadata: [
            {
              partitionErrorCode: 0,
              partitionId: 0,
              leader: 1,
              replicas: [1, 0],
              isr: [1],
              ...(version >= 5 ? { offlineReplicas: [0] } : {}),
            },
          ],
        },
      ],
    }),
  ),
  apiCase(
    offsetCommit,
    'offsetCommit',
    [2, 5],
    () => ({
      throttleTimeMs: 0,
      topics: [{ name: 'prices', partitions: [{ partitionIndex: 4, errorCode: 0 }] }],
    }),
    () => ({ responses: [{ topic: 'prices', partitions: [{ partition: 4, errorCode: 0 }] }] }),
  ),
  apiCase(
    offsetFetch,
    'offsetFetch',
    [1, 4],
    () => ({
      throttleTimeMs: 0,
      topics: [
        {
          name: 'prices',
          partitions: [
            {
              partitionIndex: 4,
              committedOffset: 1234,
              committedLeaderEpoch: -1,
              metadata: 'meta',
              errorCode: 0,
            },
            { partitionIndex: 5, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
    }),
    () => ({
      responses: [
        {
          topic: 'prices',
          partitions: [
            { partition: 4, offset: '1234', metadata: 'meta', errorCode: 0 },
            { partition: 5, offset: '-1', metadata: '', errorCode: 0 },
          ],
        },
      ],
    }),
  ),
  apiCase(
    findCoordinator,
    'findCoordinator',
    [0, 2],
    () => ({ throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 3, host: 'gw-3', port: 9095 }),
    () => ({ errorCode: 0, coordinator: { nodeId: 3, host: 'gw-3', port: 9095 } }),
  ),
  apiCase(
    joinGroup,
    'joinGroup',
    [0, 5],
    () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 12,
      protocolName: 'RoundRobinAssigner',
      leader: 'm-1',
      memberId: 'm-2',
      members: [{ memberId: 'm-1', groupInstanceId: null, metadata: bytes('metadata-1') }],
    }),
    () => ({
      errorCode: 0,
      generationId: 12,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'm-1',
      memberId: 'm-2',
      members: [{ memberId: 'm-1', memberMetadata: bytes('metadata-1') }],
    }),
  ),
  apiCase(
    heartbeat,
    'heartbeat',
    [0, 3],
    () => ({ throttleTimeMs: 0, errorCode: 0 }),
    () => ({ errorCode: 0 }),
  ),
  apiCase(
    leaveGroup,
    'leaveGroup',
    [0, 3],
    () => ({
      throttleTimeMs: 0,
      errorCode: 0,
      members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }],
    }),
    (version) => ({
      errorCode: 0,
      ...(version >= 3 ? { members: [{ memberId: 'm-1', errorCode: 0 }] } : {}),
    }),
  ),
  apiCase(
    syncGroup,
    'syncGroup',
    [0, 3],
    () => ({ throttleTimeMs: 0, errorCode: 0, assignment: bytes('assignment-bytes') }),
    () => ({ errorCode: 0, memberAssignment: bytes('assignment-bytes') }),
  ),
  apiCase(
    describeGroups,
    'describeGroups',
    [0, 2],
    () => ({
      throttleTimeMs: 0,
      groups: [
        {
          errorCode: 0,
          groupId: 'g1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'm-1',
              groupInstanceId: null,
              clientId: 'client-1',
              clientHost: '/127.0.0.1',
              memberMetadata: bytes('md'),
              memberAssignment: bytes('as'),
            },
          ],
          authorizedOperations: 0,
        },
      ],
    }),
    () => ({
      groups: [
        {
          errorCode: 0,
          groupId: 'g1',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'm-1',
              clientId: 'client-1',
              clientHost: '/127.0.0.1',
              memberMetadata: bytes('md'),
              memberAssignment: bytes('as'),
            },
          ],
        },
      ],
    }),
  ),
  apiCase(
    listGroups,
    'listGroups',
    [0, 2],
    () => ({ throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'g1', protocolType: 'consumer' }] }),
    () => ({ errorCode: 0, groups: [{ groupId: 'g1', protocolType: 'consumer' }] }),
  ),
  apiCase(
    deleteGroups,
    'deleteGroups',
    [0, 1],
    () => ({ throttleTimeMs: 0, results: [{ groupId: 'g1', errorCode: 0 }, { groupId: 'g2', errorCode: 68 }] }),
    () => ({ throttleTimeMs: 0, results: [{ groupId: 'g1', errorCode: 0 },
      { groupId: 'g2', errorCode: 68, error: expect.anything() }] }),
  ),
  apiCase(
    apiVersions,
    'apiVersions',
    [0, 2],
    () => API_VERSIONS_RESPONSE,
    () => ({ errorCode: 0, apiVersions: API_VERSIONS_RESPONSE.apiKeys }),
  ),
  apiCase(
    createTopics,
    'createTopics',
    [0, 3],
    () => ({ throttleTimeMs: 0, topics: [{ name: 'prices', errorCode: 0, errorMessage: null }] }),
    () => ({ topicErrors: [{ topic: 'prices', errorCode: 0 }] }),
  ),
  apiCase(
    deleteTopics,
    'deleteTopics',
    [0, 1],
    () => ({ throttleTimeMs: 0, responses: [{ name: 'prices', errorCode: 0 }] }),
    () => ({ topicErrors: [{ topic: 'prices', errorCode: 0 }] }),
  ),
  apiCase(
    deleteRecords,
    'deleteRecords',
    [0, 1],
    () => ({
      throttleTimeMs: 0,
      topics: [{ name: 'prices', partitions: [{ partitionIndex: 1, lowWatermark: 42, errorCode: 0 }] }],
    }),
    () => ({ topics: [{ topic: 'prices', partitions: [{ partition: 1, errorCode: 0 }] }] }),
  ),
  apiCase(
    initProducerId,
    'initProducerId',
    [0, 1],
    () => ({ throttleTimeMs: 0, errorCode: 0, producerId: 123_456_789_012, producerEpoch: 3 }),
    () => ({ errorCode: 0, producerId: '123456789012', producerEpoch: 3 }),
  ),
  apiCase(
    describeConfigs,
    'describeConfigs',
    [0, 2],
    () => ({
      throttleTimeMs: 0,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'prices',
          configs: [
            {
              name: 'retention.ms',
              value: '604800000',
              readOnly: false,
              isDefault: true,
              configSource: 5,
              isSensitive: false,
              synonyms: [{ name: 'log.retention.ms', value: '604800000', source: 5 }],
            },
          ],
        },
      ],
    }),
    (version) => ({
      resources: [
        {
          errorCode: 0,
          resourceType: 2,
          resourceName: 'prices',
          configEntries: [
            {
              configName: 'retention.ms',
              configValue: '604800000',
              readOnly: false,
              isDefault: true,
              isSensitive: false,
              ...(version >= 1
                ? {
                    configSource: 5,
                    configSynonyms: [
                      { configName: 'log.retention.ms', configValue: '604800000', configSource: 5 },
                    ],
                  }
                : {}),
            },
          ],
        },
      ],
    }),
  ),
  apiCase(
    createPartitions,
    'createPartitions',
    [0, 1],
    () => ({ throttleTimeMs: 0, results: [{ name: 'prices', errorCode: 0, errorMessage: null }] }),
    () => ({ topicErrors: [{ topic: 'prices', errorCode: 0 }] }),
  ),
  apiCase(
    alterConfigs,
    'alterConfigs',
    [0, 1],
    () => ({
      throttleTimeMs: 7,
      responses: [
        { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'prices' },
        { errorCode: 0, errorMessage: 'noted', resourceType: 4, resourceName: '1' },
      ],
    }),
    (version) => ({
      ...(version >= 1 ? { throttleTime: 0, clientSideThrottleTime: 7 } : { throttleTime: 7 }),
      resources: [
        { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'prices' },
        { errorCode: 0, errorMessage: 'noted', resourceType: 4, resourceName: '1' },
      ],
    }),
  ),
];

describe('x2 response encoders -> kafkajs decoders', () => {
  const writer = new KafkaWriter(1 << 20);
  for (const testCase of CASES) {
    for (let version = testCase.versionMin; version <= testCase.versionMax; version++) {
      it(`${testCase.api.name} v${version}`, async () => {
        if (fetchBatch.length === 0) fetchBatch = await fetchRecords();
        const body = Buffer.from(testCase.api.response.encode(writer, testCase.response(), version));
        const decoder = kafkajsResponse(testCase.kafkajsName, version, {
          topics: [{ topic: 'prices', partitions: [{ partition: 1, offset: '42' }] }],
        });
        const parsed = await decoder.parse(await decoder.decode(body));
        expect(parsed).toMatchObject(testCase.expected(version));
      });
    }
  }
});

describe('Produce v0-2 answers (UNSUPPORTED_VERSION per partition) decode in kafkajs', () => {
  const writer = new KafkaWriter(1 << 16);
  for (let version = 0; version <= 2; version++) {
    it(`Produce v${version}`, async () => {
      const request = {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topics: [{ name: 'prices', partitions: [{ index: 4, records: null }] }],
      };
      const response = produceErrorResponse(request, KAFKA_ERROR.UNSUPPORTED_VERSION);
      const body = Buffer.from(produce.response.encode(writer, response, version));
      const decoded = await kafkajsResponse('produce', version).decode(body);
      expect(decoded).toMatchObject({
        topics: [
          {
            topicName: 'prices',
            partitions: [
              { partition: 4, errorCode: 35, offset: '-1', ...(version >= 2 ? { timestamp: '-1' } : {}) },
            ],
          },
        ],
        ...(version >= 1 ? { throttleTime: 0 } : {}),
      });
    });
  }
});
