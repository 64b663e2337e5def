/**
 * kafkajs 2.2.4 against `x2 up`: admin (create, list, describe configs, create partitions,
 * offsets by time, delete records, delete topics, group offsets and deletion), producer and
 * consumer (keys, headers, gzip, acks all/1/0), an idempotent producer, and a 3-member consumer
 * group with a rebalance.
 * Method: everything goes through kafkajs's public API; the test checks what comes back (records
 * in order with their offsets, offsets after DeleteRecords, each record of the group test
 * consumed, partitions spread over all members and taken over when one leaves).
 */
import { CompressionTypes, Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

let up: UpProcess;
let kafka: Kafka;

beforeAll(async () => {
  up = await UpProcess.start(['--partitions', '2']);
  kafka = new Kafka({ clientId: 'x2-compat', brokers: [up.bootstrap], logLevel: logLevel.NOTHING });
}, 120_000);

afterAll(async () => {
  await up?.stop();
});

async function consumeAll(consumer: Consumer, topic: string,
  count: number): Promise<Array<{ partition: number; offset: string; key: string; value: string; headers: string }>> {
  const seen: Array<{ partition: number; offset: string; key: string; value: string; headers: string }> = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, offset: message.offset, key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: Object.entries(message.headers ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(',') });
    },
  });
  await waitFor(() => seen.length >= count, { timeoutMs: 30_000, what: `${count} records of ${topic}` });
  return seen;
}

describe('kafkajs against x2 up', () => {
  it('admin: creates, lists, describes, grows, trims and deletes topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }],
        waitForLeaders: true })).toBe(true);
      expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] })).toBe(false);
      const refused = await admin.createTopics({ topics: [{ topic: 'admin-bad-rf', numPartitions: 1,
        replicationFactor: 5 }] })
        .then(() => null, (error: { errors?: Array<{ type?: string }> }) => error);
      expect(refused?.errors?.[0]?.type).toBe('INVALID_REPLICATION_FACTOR');
      const assigned = await admin.createTopics({ topics: [{ topic: 'admin-assigned',
        replicaAssignment: [{ partition: 0, replicas: [0] }] }] })
        .then(() => null, (error: { errors?: Array<{ type?: string }> }) => error);
      expect(assigned?.errors?.[0]?.type).toBe('INVALID_REPLICA_ASSIGNMENT');
      // Many topics in one request: each is created, none is lost to the others' control changes.
      const many = Array.from({ length: 20 }, (_, i) => `admin-many-${i}`);
      expect(await admin.createTopics({ topics: many.map((topic) => ({ topic, numPartitions: 2 })) })).toBe(true);
      const listed = await admin.listTopics();
      expect(many.filter((topic) => !listed.includes(topic))).toEqual([]);
      expect(await admin.listTopics()).toContain('admin-a');
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2,
        name: 'admin-a' }] });
      const retention = configs.resources[0]!.configEntries.find((entry) => entry.configName === 'retention.ms');
      expect(retention?.configValue).toBe('604800000');
      // Synonyms as Kafka lists them, most specific first: the topic's own value, then the default
      // under the broker config's name; retention.ms's broker config (log.retention.ms) has none.
      await admin.createTopics({ topics: [{ topic: 'admin-configs', configEntries: [{ name: 'retention.ms',
        value: '60000' }, { name: 'max.message.bytes', value: '2048' }] }] });
      const described = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: 2,
        name: 'admin-configs', configNames: ['retention.ms', 'compression.type', 'max.message.bytes'] }] });
      const synonyms = Object.fromEntries(described.resources[0]!.configEntries.map((entry) => [entry.configName,
        entry.configSynonyms.map((synonym) => [synonym.configName, synonym.configValue, synonym.configSource])]));
      expect(synonyms).toEqual({ 'retention.ms': [['retention.ms', '60000', 1]],
        'compression.type': [['compression.type', 'producer', 5]],
        'max.message.bytes': [['max.message.bytes', '2048', 1], ['message.max.bytes', '1048588', 5]] });
      // The defaults a topic created with -1 gets (kafkajs's own createTopics spec reads them so).
      const broker = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: '0',
        configNames: ['default.replication.factor', 'num.partitions'] }] });
      expect(broker.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]))
        .toEqual([['num.partitions', '2'], ['default.replication.factor', '2']]);
      await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 4 }] });
      // A placement x2 would ignore is refused, as in CreateTopics.
      const placed = await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 5,
        assignments: [[0]] }] }).then(() => null, (error: { type?: string }) => error.type);
      expect(placed).toBe('INVALID_REPLICA_ASSIGNMENT');
      const metadata = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
      expect(metadata.topics[0]!.partitions).toHaveLength(4);

      const producer = kafka.producer();
      await producer.connect();
      const before = Date.now();
      await producer.send({ topic: 'admin-a', acks: -1, messages: Array.from({ length: 10 }, (_,
        i) => ({ partition: 0, value: `v${i}` })) });
      await producer.disconnect();
      const offsets = await admin.fetchTopicOffsets('admin-a');
      expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '0', high: '10' });
      const byTime = await admin.fetchTopicOffsetsByTimestamp('admin-a', before - 1000);
      expect(byTime.find((o) => o.partition === 0)?.offset).toBe('0');
      await admin.deleteTopicRecords({ topic: 'admin-a', partitions: [{ partition: 0, offset: '4' }] });
      const trimmed = await admin.fetchTopicOffsets('admin-a');
      expect(trimmed.find((o) => o.partition === 0)).toMatchObject({ low: '4', high: '10' });
      await admin.deleteTopics({ topics: ['admin-a'] });
      expect(await admin.listTopics()).not.toContain('admin-a');
    } finally {
      await admin.disconnect();
    }
  });

  it('group offsets: set, reset to earliest (kafkajs commits -2), read back, a consumer resolves them; DeleteGroups',
    async () => {
      const topic = 'offsets-reset';
      const groupId = 'offsets-reset-group';
      const admin = kafka.admin();
      await admin.connect();
      const producer = kafka.producer();
      await producer.connect();
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })) });
        await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '5' }] });
        const set = await admin.fetchOffsets({ groupId, topics: [topic] });
        expect(set[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
        // Stored as sent, as Kafka does; kafkajs resolves the sentinel when asked to.
        await admin.resetOffsets({ groupId, topic, earliest: true });
        const reset = await admin.fetchOffsets({ groupId, topics: [topic] });
        expect(reset[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '-2' })]);
        const resolved = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true });
        expect(resolved[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '0' })]);
        const seen = await consumeAll(consumer, topic, 10);
        expect(seen.map((record) => record.offset)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
        // DeleteGroups: refused while the group has a member; then its offsets go on every gateway.
        const deleteError = (error: { groups?: Array<{ groupId: string; errorCode: number }> }) => error.groups;
        expect(await admin.deleteGroups([groupId]).then(() => null, deleteError))
          .toEqual([expect.objectContaining({ groupId, errorCode: 68 })]); // NON_EMPTY_GROUP
        await consumer.disconnect();
        expect(await admin.deleteGroups([groupId])).toEqual([expect.objectContaining({ groupId, errorCode: 0 })]);
        const gone = await admin.fetchOffsets({ groupId, topics: [topic] });
        expect(gone[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '-1' })]);
        expect((await admin.listGroups()).groups.map((group) => group.groupId)).not.toContain(groupId);
        expect(await admin.deleteGroups([groupId]).then(() => null, deleteError))
          .toEqual([expect.objectContaining({ groupId, errorCode: 69 })]); // GROUP_ID_NOT_FOUND
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
        await admin.disconnect();
      }
    });

  it('producer and consumer: keys, headers, gzip, acks all, 1 and 0, in order with offsets', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const topic = 'pc-topic';
    const sent: string[] = [];
    for (const [acks, compression] of [[-1, CompressionTypes.None], [1, CompressionTypes.GZIP], [0,
      CompressionTypes.None]] as const) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: `k${acks}-${i}`,
        value: `v${acks}-${i}`, headers: { acks: String(acks) } }));
      const result = await producer.send({ topic, acks, compression, messages });
      if (acks !== 0) expect(result[0]!.errorCode).toBe(0);
      sent.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'pc-group', maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      const seen = await consumeAll(consumer, topic, sent.length);
      expect(seen.map((r) => r.value)).toEqual(sent);
      expect(seen.map((r) => r.offset)).toEqual(sent.map((_, i) => String(i)));
      expect(seen[0]).toMatchObject({ key: 'k-1-0', headers: 'acks=-1' });
    } finally {
      await consumer.disconnect();
    }
  });

  it('min.insync.replicas above the write quorum (2): acks=all is NOT_ENOUGH_REPLICAS, acks=1 and 2 go through',
    async () => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [
        { topic: 'insync-3', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '3' }] },
        { topic: 'insync-2', numPartitions: 1, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      ] });
      await admin.disconnect();
      const producer = kafka.producer({ retry: { retries: 0 } });
      await producer.connect();
      try {
        const messages = [{ value: 'x' }];
        // kafkajs retries it (retriable in Kafka), then reports the last cause.
        const refused = await producer.send({ topic: 'insync-3', acks: -1, messages }).then(() => null,
          (error: unknown) => error as { cause?: { type?: string } });
        expect(refused?.cause?.type).toBe('NOT_ENOUGH_REPLICAS');
        expect((await producer.send({ topic: 'insync-3', acks: 1, messages }))[0]!.errorCode).toBe(0);
        expect((await producer.send({ topic: 'insync-2', acks: -1, messages }))[0]!.errorCode).toBe(0);
      } finally {
        await producer.disconnect();
      }
      // The refused batch was never appended: only the acks=1 record is in insync-3.
      const check = kafka.admin();
      await check.connect();
      const [partition] = await check.fetchTopicOffsets('insync-3');
      await check.disconnect();
      expect(partition).toMatchObject({ partition: 0, low: '0', high: '1' });
    });

  it('idempotent producer: every record once, in order', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let round = 0; round < 5; round++) {
      await producer.send({ topic: 'idem-topic', acks: -1, messages: Array.from({ length: 10 }, (_,
        i) => ({ partition: 0, value: `r${round}-${i}` })) });
    }
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets('idem-topic');
    await admin.disconnect();
    expect(offsets.find((o) => o.partition === 0)?.high).toBe('50');
  });

  it('consumer group of 3 members: spread, rebalance on leave, every record consumed', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'group-topic', numPartitions: 6 }] });
    await admin.disconnect();
    const assigned = new Map<string, Set<number>>();
    const consumed = new Set<string>();
    const members: Consumer[] = [];
    for (let i = 0; i < 3; i++) {
      const consumer = kafka.consumer({ groupId: 'three', maxWaitTimeInMs: 200, sessionTimeout: 10_000,
        heartbeatInterval: 500 });
      const name = `m${i}`;
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        assigned.set(name, new Set(event.payload.memberAssignment['group-topic'] ?? []));
      });
      await consumer.connect();
      await consumer.subscribe({ topic: 'group-topic', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { consumed.add(message.value!.toString()); } });
      members.push(consumer);
    }
    try {
      await waitFor(() => assigned.size === 3 && [...assigned.values()].every((p) => p.size === 2)
        && new Set([...assigned.values()].flatMap((p) => [...p])).size === 6, { timeoutMs: 45_000,
          what: '6 partitions over 3 members' });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'group-topic', messages: Array.from({ length: 120 }, (_, i) => ({ key: `k${i}`,
        value: `a${i}` })) });
      await waitFor(() => consumed.size === 120, { timeoutMs: 30_000, what: '120 records consumed by the group' });
      await members.pop()!.disconnect();
      assigned.delete('m2');
      await waitFor(() => [...assigned.values()].every((p) => p.size === 3), { timeoutMs: 45_000,
        what: 'rebalance to 2 members' });
      await producer.send({ topic: 'group-topic', messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`,
        value: `b${i}` })) });
      await producer.disconnect();
      await waitFor(() => consumed.size === 180, { timeoutMs: 30_000, what: 'records after the rebalance' });
    } finally {
      await Promise.all(members.map((member) => member.disconnect()));
    }
  });
});
