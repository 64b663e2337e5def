/**
 * Cross-implementation check, requests: for every API version kafkajs 2.2.4 implements inside
 * x2's ranges, kafkajs's own request encoder builds a whole frame (size, header v1, body);
 * x2's FrameSplitter, readRequestHeader and the API's compiled decoder must read it back to
 * the values kafkajs was given and consume every byte. Produce requests carry real
 * RecordBatches built by kafkajs (uncompressed and gzip), which record-batch.ts must split,
 * CRC-check and decode to the messages sent.
 */
import { describe, expect, it } from 'vitest';
import { produce } from '../../core/kafka/api/00-produce.ts';
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
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { FrameSplitter } from '../../core/kafka/framing.ts';
import { decodeRecords, splitRecordBatches } from '../../core/kafka/record-batch.ts';
import { readRequestHeader, RequestHeader } from '../../core/kafka/registry.ts';
import { kafkajsCompression, kafkajsRequest, kafkajsRequestFrame } from './kafkajs.ts';

type Case = {
  api: ApiDefinition<unknown, unknown>;
  kafkajsName: string;
  versionMin: number;
  versionMax: number;
  /** kafkajs's request arguments: an object, or a list for the few that take one (deleteGroups). */
  args: Record<string, unknown> | readonly unknown[];
  expected: (version: number) => object;
};

function apiCase<Q, S>(
  api: ApiDefinition<Q, S>,
  kafkajsName: string,
  versions: [number, number],
  args: Record<string, unknown> | readonly unknown[],
  expected: (version: number) => object,
): Case {
  return {
    api: api as unknown as ApiDefinition<unknown, unknown>,
    kafkajsName,
    versionMin: versions[0],
    versionMax: versions[1],
    args,
    expected,
  };
}

const bytes = (text: string): Buffer => Buffer.from(text);

const CASES: Case[] = [
  apiCase(
    fetch,
    'fetch',
    [4, 11],
    {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      rackId: 'rack-a',
      topics: [
        {
          topic: 'prices',
          partitions: [
            { partition: 0, currentLeaderEpoch: 3, fetchOffset: '1234567890123', logStartOffset: 7, maxBytes: 1048576 },
            { partition: 5, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: 0, maxBytes: 4096 },
          ],
        },
      ],
    },
    (version) => ({
      replicaId: -1,
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'prices',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: version >= 9 ? 3 : -1,
              fetchOffset: 1234567890123,
              logStartOffset: version >= 5 ? 7 : -1,
              partitionMaxBytes: 1048576,
            },
            { partition: 5, fetchOffset: 0, partitionMaxBytes: 4096 },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: version >= 11 ? 'rack-a' : '',
    }),
  ),
  apiCase(
    listOffsets,
    'listOffsets',
    [0, 3],
    { replicaId: -1, isolationLevel: 1, topics: [{ topic: 'prices', partitions: [{ partition: 2, timestamp: -2,
      maxNumOffsets: 4 }] }] },
    (version) => ({
      replicaId: -1,
      isolationLevel: version >= 2 ? 1 : 0,
      topics: [{ name: 'prices', partitions: [{ partitionIndex: 2, currentLeaderEpoch: -1, timestamp: -2,
        maxNumOffsets: version === 0 ? 4 : 1 }] }],
    }),
  ),
  apiCase(metadata, 'metadata', [0, 6], { topics: ['prices', 'trades'], allowAutoTopicCreation: false }, (version) => ({
    topics: [{ name: 'prices' }, { name: 'trades' }],
    allowAutoTopicCreation: version < 4,
  })),
  apiCase(
    offsetCommit,
    'offsetCommit',
    [2, 5],
    {
      groupId: 'g1',
      groupGenerationId: 4,
      memberId: 'm-1',
      retentionTime: 86400000,
      topics: [{ topic: 'prices', partitions: [{ partition: 1, offset: '99', metadata: 'meta' }] }],
    },
    (version) => ({
      groupId: 'g1',
      generationId: 4,
      memberId: 'm-1',
      groupInstanceId: null,
      retentionTimeMs: version <= 4 ? 86400000 : -1,
      topics: [
        {
          name: 'prices',
          partitions: [{ partitionIndex: 1, committedOffset: 99, committedLeaderEpoch: -1, committedMetadata: 'meta' }],
        },
      ],
    }),
  ),
  apiCase(
    offsetFetch,
    'offsetFetch',
    [1, 4],
    { groupId: 'g1', topics: [{ topic: 'prices', partitions: [{ partition: 0 }, { partition: 3 }] }] },
    () => ({ groupId: 'g1', topics: [{ name: 'prices', partitionIndexes: [0, 3] }] }),
  ),
  apiCase(
    findCoordinator,
    'findCoordinator',
    [0, 2],
    { groupId: 'g1', coordinatorKey: 'g1', coordinatorType: 1 },
    (version) => ({ key: 'g1', keyType: version >= 1 ? 1 : 0 }),
  ),
  apiCase(
    joinGroup,
    'joinGroup',
    [0, 5],
    {
      groupId: 'g1',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: 'static-1',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: bytes('meta') }],
    },
    (version) => ({
      groupId: 'g1',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: version >= 1 ? 60000 : -1,
      memberId: '',
      groupInstanceId: version >= 5 ? 'static-1' : null,
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: bytes('meta') }],
    }),
  ),
  apiCase(
    heartbeat,
    'heartbeat',
    [0, 3],
    { groupId: 'g1', groupGenerationId: 7, memberId: 'm-1', groupInstanceId: null },
    () => ({ groupId: 'g1', generationId: 7, memberId: 'm-1', groupInstanceId: null }),
  ),
  apiCase(
    leaveGroup,
    'leaveGroup',
    [0, 3],
    { groupId: 'g1', memberId: 'm-1', members: [{ memberId: 'm-1' }, { memberId: 'm-2', groupInstanceId: 's-2' }] },
    (version) =>
      version >= 3
        ? {
            groupId: 'g1',
            memberId: '',
            members: [
              { memberId: 'm-1', groupInstanceId: null },
              { memberId: 'm-2', groupInstanceId: 's-2' },
            ],
          }
        : { groupId: 'g1', memberId: 'm-1', members: [] },
  ),
  apiCase(
    syncGroup,
    'syncGroup',
    [0, 3],
    {
      groupId: 'g1',
      generationId: 7,
      memberId: 'm-1',
      groupAssignment: [{ memberId: 'm-1', memberAssignment: bytes('assignment') }],
    },
    () => ({
      groupId: 'g1',
      generationId: 7,
      memberId: 'm-1',
      groupInstanceId: null,
      assignments: [{ memberId: 'm-1', assignment: bytes('assignment') }],
    }),
  ),
  apiCase(describeGroups, 'describeGroups', [0, 2], { groupIds: ['g1', 'g2'] }, () => ({
    groups: ['g1', 'g2'],
    includeAuthorizedOperations: false,
  })),
  apiCase(listGroups, 'listGroups', [0, 2], {}, () => ({})),
  apiCase(deleteGroups, 'deleteGroups', [0, 1], ['g1', 'g2'], () => ({ groupsNames: ['g1', 'g2'] })),
  apiCase(apiVersions, 'apiVersions', [0, 2], {}, () => ({ clientSoftwareName: '', clientSoftwareVersion: '' })),
  apiCase(
    createTopics,
    'createTopics',
    [0, 3],
    {
      validateOnly: true,
      timeout: 5000,
      topics: [
        {
          topic: 'prices',
          numPartitions: 4,
          replicationFactor: 2,
          replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
          configEntries: [{ name: 'retention.ms', value: '60000' }],
        },
      ],
    },
    (version) => ({
      topics: [
        {
          name: 'prices',
          numPartitions: 4,
          replicationFactor: 2,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: 'retention.ms', value: '60000' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: version >= 1,
    }),
  ),
  apiCase(deleteTopics, 'deleteTopics', [0, 1], { topics: ['prices', 'trades'], timeout: 3000 }, () => ({
    topicNames: ['prices', 'trades'],
    timeoutMs: 3000,
  })),
  apiCase(
    deleteRecords,
    'deleteRecords',
    [0, 1],
    { topics: [{ topic: 'prices', partitions: [{ partition: 1, offset: '42' }] }], timeout: 3000 },
    () => ({ topics: [{ name: 'prices', partitions: [{ partitionIndex: 1, offset: 42 }] }], timeoutMs: 3000 }),
  ),
  apiCase(initProducerId, 'initProducerId', [0, 1], { transactionalId: null, transactionTimeout: 60000 }, () => ({
    transactionalId: null,
    transactionTimeoutMs: 60000,
  })),
  apiCase(
    describeConfigs,
    'describeConfigs',
    [0, 2],
    {
      includeSynonyms: true,
      resources: [
        { type: 2, name: 'prices', configNames: ['retention.ms'] },
        { type: 4, name: '0', configNames: [] }, // kafkajs writes an empty list as null
      ],
    },
    (version) => ({
      resources: [
        { resourceType: 2, resourceName: 'prices', configurationKeys: ['retention.ms'] },
        { resourceType: 4, resourceName: '0', configurationKeys: null },
      ],
      includeSynonyms: version >= 1,
    }),
  ),
  apiCase(
    createPartitions,
    'createPartitions',
    [0, 1],
    { topicPartitions: [{ topic: 'prices', count: 8, assignments: [[1], [2]] }], validateOnly: false, timeout: 4000 },
    () => ({
      topics: [{ name: 'prices', count: 8, assignments: [{ brokerIds: [1] }, { brokerIds: [2] }] }],
      timeoutMs: 4000,
      validateOnly: false,
    }),
  ),
  apiCase(
    alterConfigs,
    'alterConfigs',
    [0, 1],
    {
      validateOnly: true,
      resources: [
        { type: 2, name: 'prices', configEntries: [{ name: 'retention.ms', value: '60000' },
          { name: 'cleanup.policy', value: 'delete' }] },
        { type: 4, name: '1', configEntries: [] },
      ],
    },
    () => ({
      resources: [
        { resourceType: 2, resourceName: 'prices', configs: [{ name: 'retention.ms', value: '60000' },
          { name: 'cleanup.policy', value: 'delete' }] },
        { resourceType: 4, resourceName: '1', configs: [] },
      ],
      validateOnly: true,
    }),
  ),
];

/** Splits a kafkajs frame with x2's framing and header parser; returns the body decoder. */
function readFrame(frame: Buffer, apiKey: number, version: number): { reader: KafkaReader; header: RequestHeader } {
  const splitter = new FrameSplitter(1 << 20);
  splitter.push(frame);
  const body = splitter.next();
  if (!Buffer.isBuffer(body)) throw new Error(`no frame: ${body}`);
  expect(splitter.next()).toBe('more');
  const reader = new KafkaReader(body);
  const header = new RequestHeader();
  readRequestHeader(reader, header);
  expect(header).toMatchObject({ apiKey, apiVersion: version, correlationId: 4242, clientId: 'x2-test' });
  return { reader, header };
}

describe('kafkajs request encoders -> x2 decoders', () => {
  for (const testCase of CASES) {
    for (let version = testCase.versionMin; version <= testCase.versionMax; version++) {
      it(`${testCase.api.name} v${version}`, async () => {
        const request = kafkajsRequest(testCase.kafkajsName, version)(testCase.args as Record<string, unknown>);
        expect(request.apiVersion).toBe(version);
        const frame = await kafkajsRequestFrame(request, 4242, 'x2-test');
        const { reader } = readFrame(frame, testCase.api.apiKey, version);
        const decoded = testCase.api.request.decode(reader, version);
        expect(reader.remainingBytes).toBe(0);
        expect(decoded).toMatchObject(testCase.expected(version));
      });
    }
  }
});

describe('kafkajs Produce requests carry RecordBatches x2 validates and decodes', () => {
  const messages = [
    { key: 'k1', value: 'v1', timestamp: 1_700_000_000_000, headers: { trace: 'abc' } },
    { key: null, value: 'second value', timestamp: 1_700_000_000_005 },
    { key: 'k3', value: null, timestamp: 1_700_000_000_009 },
  ];
  for (const [codecName, compression] of [
    ['none', kafkajsCompression['None']],
    ['gzip', kafkajsCompression['GZIP']],
  ] as const) {
    for (let version = 3; version <= 7; version++) {
      it(`Produce v${version}, ${codecName}`, async () => {
        const request = kafkajsRequest('produce', version)({
          acks: -1,
          timeout: 30000,
          transactionalId: null,
          compression,
          topicData: [{ topic: 'prices', partitions: [{ partition: 3, firstSequence: 0, messages }] }],
        });
        const frame = await kafkajsRequestFrame(request, 4242, 'x2-test');
        const { reader } = readFrame(frame, produce.apiKey, version);
        const decoded = produce.request.decode(reader, version);
        expect(reader.remainingBytes).toBe(0);
        expect(decoded).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
        const partition = decoded.topics[0]?.partitions[0];
        expect(decoded.topics[0]?.name).toBe('prices');
        expect(partition?.index).toBe(3);
        const records = partition?.records ?? null;
        expect(records?.buffer).toBe(frame.buffer); // a view of the frame, never a copy
        const split = splitRecordBatches(records, { batchBytesMax: 1 << 20, fromProducer: true });
        expect(split.failure).toBeNull();
        expect(split.batches).toHaveLength(1);
        const batch = split.batches[0];
        if (batch === undefined) throw new Error('no batch');
        expect(batch.header).toMatchObject({ magic: 2, recordCount: 3, lastOffsetDelta: 2, baseOffset: 0 });
        expect(batch.header.attributes & 7).toBe(codecName === 'gzip' ? 1 : 0);
        const result = decodeRecords(batch.bytes, 1 << 20);
        if (!result.decoded) throw new Error(result.reason);
        expect(result.codec).toBe(codecName);
        expect(
          result.records.map((record) => ({
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key?.toString() ?? null,
            value: record.value?.toString() ?? null,
            headers: record.headers.map((header) => [header.key, header.value?.toString()]),
          })),
        ).toEqual([
          { offset: 0, timestamp: 1_700_000_000_000, key: 'k1', value: 'v1', headers: [['trace', 'abc']] },
          { offset: 1, timestamp: 1_700_000_000_005, key: null, value: 'second value', headers: [] },
          { offset: 2, timestamp: 1_700_000_000_009, key: 'k3', value: null, headers: [] },
        ]);
      });
    }
  }
});

describe('kafkajs Produce v0-2 (advertised, answered UNSUPPORTED_VERSION) decode and are refused per partition', () => {
  for (let version = 0; version <= 2; version++) {
    it(`Produce v${version}: old message sets are INVALID_RECORD, not misread`, async () => {
      const request = kafkajsRequest('produce', version)({
        acks: 1,
        timeout: 1000,
        topicData: [{ topic: 'prices', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }],
      });
      const frame = await kafkajsRequestFrame(request, 4242, 'x2-test');
      const { reader } = readFrame(frame, produce.apiKey, version);
      const decoded = produce.request.decode(reader, version);
      expect(reader.remainingBytes).toBe(0);
      expect(decoded).toMatchObject({ transactionalId: null, acks: 1, timeoutMs: 1000 });
      const records = decoded.topics[0]?.partitions[0]?.records ?? null;
      const split = splitRecordBatches(records, { batchBytesMax: 1 << 20, fromProducer: true });
      expect(split.failure?.errorCode).toBe(87);
      expect(split.failure?.message).toMatch(/magic [01] is not supported/);
    });
  }
});
