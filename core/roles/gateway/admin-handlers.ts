/**
 * The gateway's non-data APIs: ApiVersions, Metadata (with auto-create), ListOffsets, the topic
 * admin APIs (CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs,
 * AlterConfigs, IncrementalAlterConfigs) and InitProducerId. Topic changes are planned against
 * ControlState, appended to `__x2_control` through the sequencer, and answered only once the
 * record has come back from the river and been applied here: every gateway applies the same
 * records in the same order, so they agree.
 * A record refused on apply as stale (another gateway took the same streamIds first) is planned
 * again, at most PLAN_ATTEMPTS_MAX times.
 */
import { encodeControlRecord } from '../../control/control-records.ts';
import type { ConfigEntry, PlanResult } from '../../control/control-state.ts';
import { BROKER_SYNONYMS, CONFIG_SOURCE } from '../../control/topic-configs.ts';
import { listOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from '../../kafka/api/02-list-offsets.ts';
import { metadata, type MetadataRequest, type MetadataResponse } from '../../kafka/api/03-metadata.ts';
import { apiVersions } from '../../kafka/api/18-api-versions.ts';
import { createTopics, type CreateTopicsRequest } from '../../kafka/api/19-create-topics.ts';
import { deleteTopics, type DeleteTopicsRequest } from '../../kafka/api/20-delete-topics.ts';
import { deleteRecords, type DeleteRecordsRequest,
  type DeleteRecordsResponse } from '../../kafka/api/21-delete-records.ts';
import { initProducerId, type InitProducerIdRequest } from '../../kafka/api/22-init-producer-id.ts';
import { describeConfigs, type DescribeConfigsRequest,
  type DescribeConfigsResponse } from '../../kafka/api/32-describe-configs.ts';
import { alterConfigs, type AlterConfigsRequest, type AlterConfigsResponse } from '../../kafka/api/33-alter-configs.ts';
import { createPartitions, type CreatePartitionsRequest } from '../../kafka/api/37-create-partitions.ts';
import { incrementalAlterConfigs,
  type IncrementalAlterConfigsRequest } from '../../kafka/api/44-incremental-alter-configs.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { decodeRecords } from '../../kafka/record-batch.ts';
import { apiVersionsResponse } from '../../kafka/registry.ts';
import type { RequestContext } from './connection.ts';
import { CONTROL_STREAM_ID } from './gateway-state.ts';
import type { Gateway } from './gateway.ts';
import type { StreamLog } from './stream-log.ts';

const PLAN_ATTEMPTS_MAX = 8;
/** Inflated size allowed when decoding one gzip batch for ListOffsets. */
const RECORDS_BYTES_MAX = 64 * 1024 * 1024;
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

type Outcome = { errorCode: number; errorMessage: string | null };

/**
 * Each gateway's control changes run one at a time. Run at once (a Metadata auto-creating a dozen
 * topics, a CreateTopics of many), each went stale on the one applied before it, and those past
 * PLAN_ATTEMPTS_MAX failed; now only other gateways' changes can make one stale.
 */
const controlQueues = new WeakMap<Gateway, Promise<unknown>>();

/** Plans, appends and applies one control change after this gateway's earlier ones; re-plans a stale one. */
export function changeControl(gateway: Gateway, plan: () => PlanResult): Promise<Outcome> {
  const previous = controlQueues.get(gateway) ?? Promise.resolve();
  const change = previous.then(() => changeControlNow(gateway, plan));
  controlQueues.set(gateway, change.catch(() => undefined));
  return change;
}

async function changeControlNow(gateway: Gateway, plan: () => PlanResult): Promise<Outcome> {
  for (let attempt = 0; attempt < PLAN_ATTEMPTS_MAX; attempt++) {
    const planned = plan();
    if (!planned.ok) return { errorCode: planned.errorCode, errorMessage: planned.errorMessage };
    let outcomes;
    try {
      outcomes = await gateway.appendInternal(CONTROL_STREAM_ID, [encodeControlRecord(planned.record)]);
    } catch (error) {
      return { errorCode: KAFKA_ERROR.REQUEST_TIMED_OUT, errorMessage: `sequencer: ${String(error)}` };
    }
    const outcome = outcomes[0];
    if (outcome === undefined || outcome.ok) return { errorCode: KAFKA_ERROR.NONE, errorMessage: null };
    if (!outcome.stale) return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
  }
  return { errorCode: KAFKA_ERROR.REQUEST_TIMED_OUT, errorMessage: 'the control change kept racing other gateways' };
}

export function dispatchAdmin(gateway: Gateway, context: RequestContext, request: unknown): void {
  switch (context.apiKey) {
    case 18: return context.respond(apiVersions, apiVersionsResponse(context.connection.sasl !== null));
    case 3: return void handleMetadata(gateway, context, request as MetadataRequest);
    case 2: return void handleListOffsets(gateway, context, request as ListOffsetsRequest);
    case 19: return void handleCreateTopics(gateway, context, request as CreateTopicsRequest);
    case 20: return void handleDeleteTopics(gateway, context, request as DeleteTopicsRequest);
    case 37: return void handleCreatePartitions(gateway, context, request as CreatePartitionsRequest);
    case 21: return void handleDeleteRecords(gateway, context, request as DeleteRecordsRequest);
    case 32: return handleDescribeConfigs(gateway, context, request as DescribeConfigsRequest);
    case 33: return void handleAlterConfigs(gateway, context, request as AlterConfigsRequest);
    case 44: return void handleIncrementalAlterConfigs(gateway, context, request as IncrementalAlterConfigsRequest);
    case 22: return handleInitProducerId(gateway, context, request as InitProducerIdRequest);
    default:
      context.connection.close(`API key ${context.apiKey} has no handler`, 'no-handler');
  }
}

async function handleMetadata(gateway: Gateway, context: RequestContext, request: MetadataRequest): Promise<void> {
  const control = gateway.state.control;
  const allTopics = request.topics === null || (context.apiVersion === 0 && request.topics.length === 0);
  const names = allTopics ? control.topicNames({ includeInternal: false }) : request.topics!.map((topic) => topic.name);
  const autoCreate = gateway.options.autoCreateTopics && (context.apiVersion < 4 || request.allowAutoTopicCreation);
  const created = new Map<string, Outcome>();
  if (autoCreate && !allTopics) {
    await Promise.all(names.filter((name) => control.topic(name) === undefined).map(async (name) => {
      created.set(name, await changeControl(gateway, () => control.planCreateTopic(
        { topic: name, partitionCount: -1, replicationFactor: -1, configs: {} },
          { commitCount: gateway.commitCount() })));
    }));
  }
  const live = gateway.liveGateways();
  const response: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: live.map((node) => ({ nodeId: node.nodeId, host: node.host, port: node.port, rack: null })),
    clusterId: gateway.options.clusterId,
    controllerId: live[0]!.nodeId,
    topics: names.map((name) => {
      const view = control.topic(name);
      if (view === undefined) {
        const failed = created.get(name);
        const errorCode = failed && failed.errorCode === KAFKA_ERROR.INVALID_TOPIC_EXCEPTION
          ? KAFKA_ERROR.INVALID_TOPIC_EXCEPTION : KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION;
        return { errorCode, name, isInternal: false, partitions: [] };
      }
      return {
        errorCode: KAFKA_ERROR.NONE, name, isInternal: view.isInternal,
        partitions: view.streamIds.map((_, partition) => {
          const leaderId = gateway.leaderOf(view.topicId, partition, live);
          return {
            errorCode: KAFKA_ERROR.NONE, partitionIndex: partition, leaderId, leaderEpoch: -1,
            replicaNodes: [leaderId], isrNodes: [leaderId], offlineReplicas: [],
          };
        }),
      };
    }),
  };
  context.respond(metadata, response);
}

/**
 * ListOffsets: -1 the high watermark, -2 the log start, any other value the first record whose
 * timestamp is >= it: found by the index at batch level, then inside the batch when its records
 * can be decoded (uncompressed or gzip), else the batch's first offset.
 * v0 answers a list of at most max_num_offsets offsets (Kafka's list of segment starts; x2 keeps
 * no segments per partition, so at most one): the same offset, or the high watermark for a time
 * no record reaches (Kafka answers the log end for a time at or after now); max_num_offsets 0
 * gives an empty list, a negative one INVALID_REQUEST.
 */
async function handleListOffsets(gateway: Gateway, context: RequestContext,
  request: ListOffsetsRequest): Promise<void> {
  const control = gateway.state.control;
  const legacy = context.apiVersion === 0;
  const response: ListOffsetsResponse = {
    throttleTimeMs: 0,
    topics: await Promise.all(request.topics.map(async (topic) => {
      const view = control.topic(topic.name);
      return {
        name: topic.name,
        partitions: await Promise.all(topic.partitions.map(async (partition) => {
          const streamId = view?.streamIds[partition.partitionIndex];
          const answer = { partitionIndex: partition.partitionIndex, errorCode: KAFKA_ERROR.NONE as number,
            oldStyleOffsets: [] as number[], timestamp: -1, offset: -1, leaderEpoch: -1 };
          if (streamId === undefined) {
            answer.errorCode = KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION;
            return answer;
          }
          if (legacy && partition.maxNumOffsets < 0) {
            answer.errorCode = KAFKA_ERROR.INVALID_REQUEST;
            return answer;
          }
          const log = gateway.state.stream(streamId);
          const logStartOffset = control.logStartOffset(streamId);
          if (partition.timestamp === -1) answer.offset = log?.nextOffset ?? 0;
          else if (partition.timestamp === -2) answer.offset = logStartOffset;
          else if (log !== undefined) {
            const found = await offsetForTimestamp(gateway, log, partition.timestamp, logStartOffset);
            if (found !== null) {
              answer.offset = found.offset;
              answer.timestamp = found.timestampMs;
            }
          }
          if (legacy && partition.maxNumOffsets > 0) {
            answer.oldStyleOffsets = [answer.offset >= 0 ? answer.offset : log?.nextOffset ?? 0];
          }
          return answer;
        })),
      };
    })),
  };
  context.respond(listOffsets, response);
}

async function offsetForTimestamp(gateway: Gateway, log: StreamLog, timestampMs: number,
  logStartOffset: number): Promise<{ offset: number; timestampMs: number } | null> {
  const batchLevel = log.offsetForTimestamp(timestampMs, logStartOffset);
  const batchIndex = log.batchForTimestamp(timestampMs, logStartOffset);
  if (batchLevel === null || batchIndex < 0) return batchLevel;
  const baseOffset = log.baseOffsetOf(batchIndex);
  let batch: Buffer | undefined;
  const cached = log.cachedFrom(baseOffset);
  if (cached !== null && log.cache[cached.from]!.baseOffset === baseOffset) batch = log.cache[cached.from]!.batch;
  else {
    try {
      batch = (await gateway.history.read(log, batchIndex, 1))[0];
    } catch {
      return batchLevel;
    }
  }
  if (batch === undefined) return batchLevel;
  try {
    const decoded = decodeRecords(batch, RECORDS_BYTES_MAX);
    if (!decoded.decoded) return batchLevel;
    for (const record of decoded.records) {
      if (record.offset >= logStartOffset && record.timestamp >= timestampMs) {
        return { offset: record.offset, timestampMs: record.timestamp };
      }
    }
  } catch {
    return batchLevel;
  }
  return batchLevel;
}

/** CreateTopics and CreatePartitions: x2 places partitions itself, so a placement it would ignore is refused. */
const ASSIGNMENTS_REFUSED: PlanResult = { ok: false, errorCode: KAFKA_ERROR.INVALID_REPLICA_ASSIGNMENT,
  errorMessage: 'replica assignments are not supported: x2 places partitions itself' };

async function handleCreateTopics(gateway: Gateway, context: RequestContext,
  request: CreateTopicsRequest): Promise<void> {
  const control = gateway.state.control;
  const topics = await Promise.all(request.topics.map(async (topic) => {
    const configs: Record<string, string | null> = {};
    for (const config of topic.configs) configs[config.name] = config.value;
    const plan = (): PlanResult => topic.assignments.length > 0 ? ASSIGNMENTS_REFUSED
      : control.planCreateTopic({ topic: topic.name, partitionCount: topic.numPartitions,
        replicationFactor: topic.replicationFactor, configs }, { commitCount: gateway.commitCount() });
    const outcome = request.validateOnly
      ? planOutcome(plan())
      : await changeControl(gateway, plan);
    return { name: topic.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
  }));
  context.respond(createTopics, { throttleTimeMs: 0, topics });
}

function planOutcome(plan: PlanResult): Outcome {
  return plan.ok ? { errorCode: KAFKA_ERROR.NONE, errorMessage: null } : { errorCode: plan.errorCode,
    errorMessage: plan.errorMessage };
}

async function handleDeleteTopics(gateway: Gateway, context: RequestContext,
  request: DeleteTopicsRequest): Promise<void> {
  const control = gateway.state.control;
  const responses = await Promise.all(request.topicNames.map(async (name) => {
    const outcome = await changeControl(gateway, () => control.planDeleteTopic(name));
    return { name, errorCode: outcome.errorCode };
  }));
  context.respond(deleteTopics, { throttleTimeMs: 0, responses });
}

async function handleCreatePartitions(gateway: Gateway, context: RequestContext,
  request: CreatePartitionsRequest): Promise<void> {
  const control = gateway.state.control;
  const results = await Promise.all(request.topics.map(async (topic) => {
    const plan = (): PlanResult => topic.assignments !== null && topic.assignments.length > 0
      ? ASSIGNMENTS_REFUSED : control.planCreatePartitions(topic.name, topic.count);
    const outcome = request.validateOnly ? planOutcome(plan()) : await changeControl(gateway, plan);
    return { name: topic.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
  }));
  context.respond(createPartitions, { throttleTimeMs: 0, results });
}

async function handleDeleteRecords(gateway: Gateway, context: RequestContext,
  request: DeleteRecordsRequest): Promise<void> {
  const control = gateway.state.control;
  const topics: DeleteRecordsResponse['topics'] = await Promise.all(request.topics.map(async (topic) => ({
    name: topic.name,
    partitions: await Promise.all(topic.partitions.map(async (partition) => {
      const streamId = control.streamIdOf(topic.name, partition.partitionIndex);
      const highWatermark = streamId === undefined ? 0 : gateway.state.stream(streamId)?.nextOffset ?? 0;
      const offset = partition.offset === -1 ? highWatermark : partition.offset;
      if (streamId !== undefined && offset > highWatermark) {
        return { partitionIndex: partition.partitionIndex, lowWatermark: -1,
          errorCode: KAFKA_ERROR.OFFSET_OUT_OF_RANGE };
      }
      const outcome = streamId !== undefined && offset <= control.logStartOffset(streamId)
        ? { errorCode: KAFKA_ERROR.NONE, errorMessage: null }
        : await changeControl(gateway, () => control.planDeleteRecords(topic.name, partition.partitionIndex, offset));
      const lowWatermark = outcome.errorCode === KAFKA_ERROR.NONE && streamId !== undefined
        ? control.logStartOffset(streamId) : -1;
      return { partitionIndex: partition.partitionIndex, lowWatermark, errorCode: outcome.errorCode };
    })),
  })));
  context.respond(deleteRecords, { throttleTimeMs: 0, topics });
}

function handleDescribeConfigs(gateway: Gateway, context: RequestContext, request: DescribeConfigsRequest): void {
  const control = gateway.state.control;
  const results: DescribeConfigsResponse['results'] = request.resources.map((resource) => {
    const wanted = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (resource.resourceType === RESOURCE_TOPIC) {
      const entries = control.describeConfigs(resource.resourceName);
      if (entries === undefined) {
        return { ...base, errorCode: KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `topic "${resource.resourceName}" does not exist`, configs: [] };
      }
      return {
        ...base, errorCode: KAFKA_ERROR.NONE, errorMessage: null,
        configs: entries.filter((entry) => wanted === null || wanted.has(entry.name)).map((entry) => ({
          name: entry.name, value: entry.value, readOnly: entry.readOnly, isDefault: entry.isDefault,
          configSource: entry.source, isSensitive: entry.isSensitive,
          synonyms: request.includeSynonyms ? synonymsOf(entry) : [],
        })),
      };
    }
    if (resource.resourceType === RESOURCE_BROKER) {
      const brokerConfigs: Array<[string, string]> = [
        ['auto.create.topics.enable', String(gateway.options.autoCreateTopics)],
        ['num.partitions', String(gateway.options.partitionCountDefault)],
        // Every commit stores every entry: a topic created with replication factor -1 has this many.
        ['default.replication.factor', String(gateway.commitCount())],
        ['message.max.bytes', String(gateway.options.requestBytesMax)],
      ];
      return {
        ...base, errorCode: KAFKA_ERROR.NONE, errorMessage: null,
        configs: brokerConfigs.filter(([name]) => wanted === null || wanted.has(name)).map(([name, value]) => ({
          name, value, readOnly: true, isDefault: false, configSource: 4, isSensitive: false, synonyms: [],
        })),
      };
    }
    return { ...base, errorCode: KAFKA_ERROR.INVALID_REQUEST,
      errorMessage: `resource type ${resource.resourceType} is not supported (2 topic, 4 broker are)`, configs: [] };
  });
  context.respond(describeConfigs, { throttleTimeMs: 0, results });
}

/**
 * A topic config's synonyms as Kafka lists them, most specific first: the topic's own value under
 * its own name, then the default under the name of the broker config it falls back to
 * (BROKER_SYNONYMS), when Kafka lists one.
 */
function synonymsOf(entry: ConfigEntry): Array<{ name: string; value: string; source: number }> {
  const synonyms: Array<{ name: string; value: string; source: number }> = entry.source === CONFIG_SOURCE.topic
    ? [{ name: entry.name, value: entry.value, source: entry.source }] : [];
  const broker = BROKER_SYNONYMS[entry.name];
  if (broker?.listsDefault) {
    synonyms.push({ name: broker.name, value: entry.defaultValue, source: CONFIG_SOURCE.default });
  }
  return synonyms;
}

async function handleAlterConfigs(gateway: Gateway, context: RequestContext,
  request: AlterConfigsRequest): Promise<void> {
  const control = gateway.state.control;
  const responses = await alterResourceConfigs(gateway, request.resources, request.validateOnly,
    (resource) => control.planReplaceConfigs(resource.resourceName, resource.configs));
  context.respond(alterConfigs, { throttleTimeMs: 0, responses });
}

async function handleIncrementalAlterConfigs(gateway: Gateway, context: RequestContext,
  request: IncrementalAlterConfigsRequest): Promise<void> {
  const control = gateway.state.control;
  const responses = await alterResourceConfigs(gateway, request.resources, request.validateOnly,
    (resource) => control.planIncrementalAlterConfigs(resource.resourceName, resource.configs));
  context.respond(incrementalAlterConfigs, { throttleTimeMs: 0, responses });
}

/**
 * AlterConfigs and IncrementalAlterConfigs: each resource is answered on its own, in request
 * order; topics are planned (and, unless validate_only, appended and applied) like the other
 * control changes. Broker configs are refused: a gateway's settings are its command-line
 * options, and Kafka too answers INVALID_REQUEST for a broker config it cannot change live.
 */
function alterResourceConfigs<R extends { resourceType: number; resourceName: string }>(gateway: Gateway,
  resources: readonly R[], validateOnly: boolean, planTopic: (resource: R) => PlanResult,
): Promise<AlterConfigsResponse['responses']> {
  const key = (resource: R): string => `${resource.resourceType}/${resource.resourceName}`;
  const counts = new Map<string, number>();
  for (const resource of resources) counts.set(key(resource), (counts.get(key(resource)) ?? 0) + 1);
  return Promise.all(resources.map(async (resource) => {
    const { resourceType, resourceName } = resource;
    let outcome: Outcome;
    if ((counts.get(key(resource)) ?? 0) > 1) {
      outcome = { errorCode: KAFKA_ERROR.INVALID_REQUEST,
        errorMessage: `resource "${resourceName}" (type ${resourceType}) appears more than once in the request` };
    } else if (resourceType === RESOURCE_BROKER) {
      outcome = { errorCode: KAFKA_ERROR.INVALID_REQUEST, errorMessage: `broker "${resourceName}": x2 has no `
        + 'dynamic broker configs; a gateway\'s settings are its command-line options' };
    } else if (resourceType !== RESOURCE_TOPIC) {
      outcome = { errorCode: KAFKA_ERROR.INVALID_REQUEST,
        errorMessage: `resource type ${resourceType} is not supported (2 topic is)` };
    } else {
      const plan = (): PlanResult => planTopic(resource);
      outcome = validateOnly ? planOutcome(plan()) : await changeControl(gateway, plan);
    }
    return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, resourceType, resourceName };
  }));
}

function handleInitProducerId(gateway: Gateway, context: RequestContext, request: InitProducerIdRequest): void {
  if (request.transactionalId !== null) {
    // Transactions are not offered; clients see the coordinator as unavailable for them.
    context.respond(initProducerId, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE,
      producerId: -1, producerEpoch: -1 });
    return;
  }
  context.respond(initProducerId, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NONE,
    producerId: gateway.nextProducerId(), producerEpoch: 0 });
}
