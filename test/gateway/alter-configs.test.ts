/**
 * AlterConfigs and IncrementalAlterConfigs on a real cluster of two gateways (sequencer, one
 * commit, separate processes). Method: kafkajs 2.2.4's admin.alterConfigs goes to the controller
 * gateway (node 0), which answers once the change is applied there, so a DescribeConfigs it is
 * asked next must show it; the other gateway must show it too once the record reaches it through
 * the river. IncrementalAlterConfigs, which no installed client speaks, is sent as raw v0 and v1
 * (flexible) frames built by x2's own codec (checked byte for byte against Kafka's schema in
 * registry.test.ts): set, delete, validate_only, append and subtract refused on a config that is
 * not a list. Raw AlterConfigs checks that every resource of one request is answered on its own,
 * with the messages kafkajs does not show.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfigs } from '../../core/kafka/api/32-describe-configs.ts';
import { alterConfigs } from '../../core/kafka/api/33-alter-configs.ts';
import { incrementalAlterConfigs } from '../../core/kafka/api/44-incremental-alter-configs.ts';
import { KAFKA_ERROR } from '../../core/kafka/kafka-errors.ts';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { RawKafka } from './raw-client.ts';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

let cluster: Cluster;
let raw: RawKafka[];
let admin: Admin;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 2, commits: 1 });
  raw = await Promise.all(cluster.gatewayPorts.map((port) => RawKafka.open(port)));
  admin = new Kafka({ clientId: 'x2-alter-configs', brokers: cluster.brokers, logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 } }).admin();
  await admin.connect();
  await admin.createTopics({ topics: ['alter-a', 'alter-b', 'alter-inc'].map((topic) => ({ topic,
    configEntries: [{ name: 'retention.bytes', value: '1000000' }] })) });
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  for (const client of raw ?? []) client.close();
  await cluster?.stop();
});

/** name -> [value, config source (1 the topic's own, 5 the default)], as gateway `node` describes them. */
async function configsOn(node: number, topic: string): Promise<Record<string, [string | null, number]>> {
  const answer = await raw[node]!.request(describeConfigs, 1, { includeSynonyms: false,
    resources: [{ resourceType: 2, resourceName: topic,
      configurationKeys: ['retention.ms', 'retention.bytes', 'max.message.bytes', 'cleanup.policy'] }] });
  expect(answer.results[0]!.errorCode).toBe(0);
  return Object.fromEntries(answer.results[0]!.configs.map((entry) => [entry.name, [entry.value, entry.configSource]]));
}

async function seenOnBoth(topic: string, expected: Record<string, readonly [string, number]>): Promise<void> {
  expect(await configsOn(0, topic)).toMatchObject(expected);
  await waitFor(async () => {
    expect(await configsOn(1, topic)).toMatchObject(expected);
    return true;
  }, { timeoutMs: 10_000, what: `gateway 1 to describe ${topic} as gateway 0 does` });
}

function kafkajsAlter(name: string, configEntries: Array<{ name: string; value: string }>,
  options: { validateOnly?: boolean; type?: ConfigResourceTypes } = {}): Promise<string | null> {
  return admin.alterConfigs({ validateOnly: options.validateOnly ?? false,
    resources: [{ type: options.type ?? ConfigResourceTypes.TOPIC, name, configEntries }] })
    .then(() => null, (error: { type?: string }) => error.type ?? String(error));
}

describe('AlterConfigs and IncrementalAlterConfigs across two gateways', () => {
  it('kafkajs alterConfigs: replaces the set, seen from both gateways; validateOnly changes nothing; errors',
    async () => {
      const created = { 'retention.ms': ['604800000', 5], 'retention.bytes': ['1000000', 1] } as const;
      expect(await configsOn(0, 'alter-a')).toMatchObject(created);
      expect(await kafkajsAlter('alter-a', [{ name: 'retention.ms', value: '60000' }], { validateOnly: true }))
        .toBeNull();
      await seenOnBoth('alter-a', { ...created });
      expect(await kafkajsAlter('alter-a', [{ name: 'retention.ms', value: '60000' }])).toBeNull();
      // AlterConfigs replaces the whole set: retention.bytes, left out, is back to its default.
      await seenOnBoth('alter-a', { 'retention.ms': ['60000', 1], 'retention.bytes': ['-1', 5] });
      expect(await kafkajsAlter('alter-a', [{ name: 'retention.ms', value: 'soon' }])).toBe('INVALID_CONFIG');
      expect(await kafkajsAlter('alter-a', [{ name: 'cleanup.policy', value: 'compact' }])).toBe('INVALID_CONFIG');
      expect(await kafkajsAlter('alter-missing', [{ name: 'retention.ms', value: '1' }]))
        .toBe('UNKNOWN_TOPIC_OR_PARTITION');
      expect(await kafkajsAlter('__consumer_offsets', [{ name: 'retention.ms', value: '1' }]))
        .toBe('INVALID_TOPIC_EXCEPTION');
      // kafkajs sends a broker's resource to that broker: gateway 1 refuses it.
      expect(await kafkajsAlter('1', [{ name: 'log.retention.ms', value: '1' }], { type: ConfigResourceTypes.BROKER }))
        .toBe('INVALID_REQUEST');
      await seenOnBoth('alter-a', { 'retention.ms': ['60000', 1], 'retention.bytes': ['-1', 5] });
    });

  for (const version of [0, 1]) {
    it(`AlterConfigs v${version} answers each resource of one request on its own`, async () => {
      const topic = (name: string, configs: Array<{ name: string; value: string | null }>) =>
        ({ resourceType: 2, resourceName: name, configs });
      const answer = await raw[1]!.request(alterConfigs, version, { validateOnly: false, resources: [
        topic('alter-b', [{ name: 'max.message.bytes', value: String(4096 + version) }]),
        topic('alter-missing', []),
        topic('alter-a', [{ name: 'retention.ms', value: '-5' }]),
        topic('alter-a', [{ name: 'retention.ms', value: null }]),
        { resourceType: 4, resourceName: '0', configs: [{ name: 'log.retention.ms', value: '1' }] },
        { resourceType: 8, resourceName: '0', configs: [] },
      ] });
      expect(answer.responses).toEqual([
        { resourceType: 2, resourceName: 'alter-b', errorCode: 0, errorMessage: null },
        { resourceType: 2, resourceName: 'alter-missing', errorCode: KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: 'topic "alter-missing" does not exist' },
        ...[0, 1].map(() => ({ resourceType: 2, resourceName: 'alter-a', errorCode: KAFKA_ERROR.INVALID_REQUEST,
          errorMessage: 'resource "alter-a" (type 2) appears more than once in the request' })),
        { resourceType: 4, resourceName: '0', errorCode: KAFKA_ERROR.INVALID_REQUEST,
          errorMessage: 'broker "0": x2 has no dynamic broker configs; a gateway\'s settings are its command-line '
            + 'options' },
        { resourceType: 8, resourceName: '0', errorCode: KAFKA_ERROR.INVALID_REQUEST,
          errorMessage: 'resource type 8 is not supported (2 topic is)' },
      ]);
      expect(await configsOn(1, 'alter-b')).toMatchObject({ 'max.message.bytes': [String(4096 + version), 1],
        'retention.bytes': ['-1', 5] });
      const invalid = await raw[1]!.request(alterConfigs, version, { validateOnly: true, resources: [
        topic('alter-a', [{ name: 'retention.ms', value: '-5' }])] });
      expect(invalid.responses[0]).toMatchObject({ errorCode: KAFKA_ERROR.INVALID_CONFIG,
        errorMessage: 'retention.ms: "-5" is not an integer in [-1, 9007199254740991]' });
    });
  }

  for (const version of [0, 1]) {
    it(`IncrementalAlterConfigs v${version}: set, delete, validate_only; append and subtract only on lists`,
      async () => {
        const retention = String(120_000 + version);
        const alter = (configs: Array<{ name: string; configOperation: number; value: string | null }>,
          validateOnly = false) => raw[1]!.request(incrementalAlterConfigs, version, { validateOnly,
          resources: [{ resourceType: 2, resourceName: 'alter-inc', configs }] })
          .then((answer) => answer.responses.map(({ errorCode, errorMessage }) => [errorCode, errorMessage]));
        expect(await alter([{ name: 'retention.ms', configOperation: SET, value: '1' }], true))
          .toEqual([[0, null]]);
        // Only what is named changes: retention.bytes keeps its value from creation.
        expect(await alter([{ name: 'retention.ms', configOperation: SET, value: retention }])).toEqual([[0, null]]);
        await seenOnBoth('alter-inc', { 'retention.ms': [retention, 1], 'retention.bytes': ['1000000', 1] });
        expect(await alter([{ name: 'retention.ms', configOperation: APPEND, value: '5' }])).toEqual([[
          KAFKA_ERROR.INVALID_CONFIG,
          'config "retention.ms" is not a list: append applies to list-valued configs only (cleanup.policy)']]);
        expect(await alter([{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }])).toEqual([[
          KAFKA_ERROR.INVALID_CONFIG, 'cleanup.policy: "delete,compact" is not supported, allowed: delete']]);
        expect((await alter([{ name: 'retention.bytes', configOperation: SUBTRACT, value: '1' }]))[0]![0])
          .toBe(KAFKA_ERROR.INVALID_CONFIG);
        expect(await alter([{ name: 'retention.ms', configOperation: SET, value: null }])).toEqual([[
          KAFKA_ERROR.INVALID_REQUEST, 'config "retention.ms": set needs a value (got null)']]);
        expect(await alter([{ name: 'retention.ms', configOperation: DELETE, value: null }], true))
          .toEqual([[0, null]]);
        await seenOnBoth('alter-inc', { 'retention.ms': [retention, 1] });
        expect(await alter([{ name: 'retention.ms', configOperation: DELETE, value: null },
          { name: 'cleanup.policy', configOperation: APPEND, value: 'delete' }])).toEqual([[0, null]]);
        await seenOnBoth('alter-inc', { 'retention.ms': ['604800000', 5], 'retention.bytes': ['1000000', 1],
          'cleanup.policy': ['delete', 1] });
      });
  }
});
