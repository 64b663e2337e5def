/**
 * ControlState: the cluster's topics, partitions and configs, rebuilt by applying the records
 * of the `__x2_control` stream in stream order. It sits beside every gateway (and anything else
 * that needs to map names to streams): Metadata, Produce, Fetch and the admin APIs ask it where
 * a topic-partition lives; CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
 * IncrementalAlterConfigs and DeleteRecords ask it to plan a record, append that record, and
 * apply it when it comes back from the river.
 *
 * Determinism: apply() depends only on the state and the record, never on time or on the node,
 * so every node that replays the same records holds the same state. Two gateways may plan
 * concurrently from the same state (both picking the same fresh streamIds); the record ordered
 * second is then refused on apply with `stale: true`, identically everywhere, and its gateway
 * plans again. streamIds are handed out from a counter that only grows (the highest ever
 * applied + 1), so a streamId is never reused, not even after its topic is deleted.
 *
 * Bounds: at most PARTITIONS_PER_TOPIC_MAX partitions per topic and STREAM_COUNT_MAX live user
 * streams, so Metadata answers and the sequencer's per-stream state stay bounded.
 * Pure: no I/O, no clock.
 */
import { X2Error } from '../base/errors.ts';
import { KAFKA_ERROR, type KafkaErrorCode } from './kafka-error-codes.ts';
import {
  incrementalConfigs, operationsProblem, replacedConfigs, replacementProblem, type ConfigOperation, type ConfigValue,
} from './config-alterations.ts';
import { decodeControlRecord, type ControlRecord } from './control-records.ts';
import {
  CONFIG_SOURCE, resolveConfigDefaults, topicConfigsProblem, type TopicConfigs,
} from './topic-configs.ts';
import {
  FIRST_USER_STREAM_ID, INTERNAL_TOPICS, isInternalTopic, parseSidecarTopicName, topicNameProblem,
} from './topic-name.ts';

const METRICS_TOPIC_NAME = INTERNAL_TOPICS[2].name;

/** Each partition is a stream the sequencer, commits and index track; this keeps Metadata sane. */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;
/** Live user streams in the cluster: per-stream state in sequencer and gateways is bounded by it. */
export const STREAM_COUNT_MAX = 1_000_000;
export const PARTITION_COUNT_DEFAULT = 1;

export interface TopicView {
  readonly name: string;
  /** streamId of partition 0: names this incarnation of the topic. */
  readonly topicId: number;
  /** streamIds[partition]. */
  readonly streamIds: readonly number[];
  /** Only the configs set explicitly; configOf() adds the defaults. */
  readonly configs: TopicConfigs;
  readonly isInternal: boolean;
}

export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly source: (typeof CONFIG_SOURCE)[keyof typeof CONFIG_SOURCE];
  /** What the topic would have without an explicit value: its synonym at the default source. */
  readonly defaultValue: string;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly isSensitive: boolean;
}

export type Refusal = { ok: false; errorCode: KafkaErrorCode; errorMessage: string };
export type PlanResult = { ok: true; record: ControlRecord } | Refusal;
/** stale: the record was planned from an older state (streamIds taken since); plan it again. */
export type ApplyOutcome = { ok: true } | (Refusal & { stale: boolean });

export interface CreateTopicRequest {
  readonly topic: string;
  /** -1: the cluster default. */
  readonly partitionCount: number;
  /** -1: the cluster default; otherwise 1..commitCount. */
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string | null>>;
}

export interface ControlStateOptions {
  readonly configDefaults?: TopicConfigs;
  readonly partitionCountDefault?: number;
}

function metricName(topic: string): string {
  return topic.replaceAll('.', '_');
}

function refuse(errorCode: KafkaErrorCode, errorMessage: string): Refusal {
  return { ok: false, errorCode, errorMessage };
}

export class ControlState {
  readonly configDefaults: TopicConfigs;
  readonly partitionCountDefault: number;
  readonly #topics = new Map<string, TopicView>();
  /** Kafka refuses "a.b" next to "a_b": both are "a_b" in metric names. */
  readonly #topicsByMetricName = new Map<string, string>();
  readonly #partitionsByStreamId = new Map<number, { topic: string; partition: number }>();
  readonly #logStartOffsets = new Map<number, number>();
  #nextStreamId = FIRST_USER_STREAM_ID;
  #userStreamCount = 0;

  constructor(options: ControlStateOptions = {}) {
    this.configDefaults = resolveConfigDefaults(options.configDefaults);
    this.partitionCountDefault = options.partitionCountDefault ?? PARTITION_COUNT_DEFAULT;
    if (!Number.isSafeInteger(this.partitionCountDefault) || this.partitionCountDefault < 1
      || this.partitionCountDefault > PARTITIONS_PER_TOPIC_MAX) {
      throw new X2Error('X2_ERR_USAGE', `default partition count: ${this.partitionCountDefault} is not `
        + `allowed, use 1..${PARTITIONS_PER_TOPIC_MAX}`);
    }
    for (const internal of INTERNAL_TOPICS) {
      const view: TopicView = {
        name: internal.name, topicId: internal.streamId, streamIds: [internal.streamId],
        configs: {}, isInternal: true,
      };
      this.#topics.set(internal.name, view);
      this.#topicsByMetricName.set(metricName(internal.name), internal.name);
      this.#partitionsByStreamId.set(internal.streamId, { topic: internal.name, partition: 0 });
    }
  }

  /** The streamId the next created partition gets. */
  get nextStreamId(): number {
    return this.#nextStreamId;
  }

  topicNames(options: { includeInternal: boolean } = { includeInternal: true }): string[] {
    const names = [...this.#topics.values()]
      .filter((topic) => options.includeInternal || !topic.isInternal)
      .map((topic) => topic.name);
    return names.sort();
  }

  topic(name: string): TopicView | undefined {
    return this.#topics.get(name);
  }

  streamIdOf(topic: string, partition: number): number | undefined {
    return this.#topics.get(topic)?.streamIds[partition];
  }

  partitionOf(streamId: number): { topic: string; partition: number } | undefined {
    return this.#partitionsByStreamId.get(streamId);
  }

  /** The first offset still readable (moved by DeleteRecords); 0 until moved. */
  logStartOffset(streamId: number): number {
    return this.#logStartOffsets.get(streamId) ?? 0;
  }

  configOf(topic: string, name: string): string | undefined {
    return this.#topics.get(topic)?.configs[name] ?? this.configDefaults[name];
  }

  /** DescribeConfigs for one topic, sorted by name; undefined when the topic does not exist. */
  describeConfigs(topic: string): ConfigEntry[] | undefined {
    const view = this.#topics.get(topic);
    if (view === undefined) return undefined;
    return Object.keys(this.configDefaults).sort().map((name) => {
      const explicit = view.configs[name];
      return {
        name, value: explicit ?? this.configDefaults[name] ?? '',
        source: explicit === undefined ? CONFIG_SOURCE.default : CONFIG_SOURCE.topic,
        defaultValue: this.configDefaults[name] ?? '',
        isDefault: explicit === undefined, readOnly: view.isInternal, isSensitive: false,
      };
    });
  }

  /**
   * CreateTopics and auto-create. Checks in Kafka's order: name (17), exists (36),
   * partitions (37), replication factor (38), configs (40).
   */
  planCreateTopic(request: CreateTopicRequest, cluster: { commitCount: number }): PlanResult {
    const nameProblem = topicNameProblem(request.topic);
    if (nameProblem !== null && !this.#topics.has(request.topic)) {
      return refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, nameProblem);
    }
    if (this.#topics.has(request.topic)) {
      return refuse(KAFKA_ERROR.TOPIC_ALREADY_EXISTS, `topic "${request.topic}" already exists`);
    }
    const collision = this.#collisionProblem(request.topic);
    if (collision !== null) return refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, collision);
    const count = request.partitionCount === -1 ? this.partitionCountDefault : request.partitionCount;
    const countProblem = this.#partitionCountProblem(count, 0);
    if (countProblem !== null) return refuse(KAFKA_ERROR.INVALID_PARTITIONS, countProblem);
    const factor = request.replicationFactor;
    if (factor !== -1 && !(Number.isSafeInteger(factor) && factor >= 1 && factor <= cluster.commitCount)) {
      return refuse(KAFKA_ERROR.INVALID_REPLICATION_FACTOR,
        `replication factor ${factor} is not allowed: use -1 or 1..${cluster.commitCount} `
        + `(the number of commits)`);
    }
    const configProblem = topicConfigsProblem(request.configs);
    if (configProblem !== null) return refuse(KAFKA_ERROR.INVALID_CONFIG, configProblem);
    const configs: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.configs)) if (value !== null) configs[name] = value;
    const streamIds = Array.from({ length: count }, (_, i) => this.#nextStreamId + i);
    return { ok: true, record: { kind: 'topic-created', topic: request.topic, streamIds, configs } };
  }

  /** A sidecar fence topic (topic-name.ts): one partition, internal; refused for any other name. */
  planCreateSidecarTopic(topic: string): PlanResult {
    if (parseSidecarTopicName(topic) === null) {
      return refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, `"${topic}" is not a sidecar fence topic name`);
    }
    if (this.#topics.has(topic)) return refuse(KAFKA_ERROR.TOPIC_ALREADY_EXISTS, `topic "${topic}" already exists`);
    const collision = this.#collisionProblem(topic);
    if (collision !== null) return refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, collision);
    const countProblem = this.#partitionCountProblem(1, 0);
    if (countProblem !== null) return refuse(KAFKA_ERROR.INVALID_PARTITIONS, countProblem);
    return { ok: true, record: { kind: 'topic-created', topic, streamIds: [this.#nextStreamId], configs: {} } };
  }

  planDeleteTopic(topic: string): PlanResult {
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    return { ok: true, record: { kind: 'topic-deleted', topic, topicId: view.topic.topicId } };
  }

  /** CreatePartitions: grow `topic` to `totalCount` partitions (Kafka never shrinks). */
  planCreatePartitions(topic: string, totalCount: number): PlanResult {
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    const current = view.topic.streamIds.length;
    const countProblem = this.#partitionCountProblem(totalCount, current);
    if (countProblem !== null) return refuse(KAFKA_ERROR.INVALID_PARTITIONS, countProblem);
    if (totalCount <= current) {
      return refuse(KAFKA_ERROR.INVALID_PARTITIONS,
        `topic "${topic}" has ${current} partitions; the new count ${totalCount} must be larger`);
    }
    const streamIds = Array.from({ length: totalCount - current }, (_, i) => this.#nextStreamId + i);
    return { ok: true, record: { kind: 'partitions-added', topic, topicId: view.topic.topicId, streamIds } };
  }

  /** IncrementalAlterConfigs shape; AlterConfigs passes every current key absent from `set` as removed. */
  planAlterConfigs(
    topic: string, set: Readonly<Record<string, string | null>>, removed: readonly string[],
  ): PlanResult {
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    const problem = this.#alterationProblem(set, removed);
    if (problem !== null) return refuse(KAFKA_ERROR.INVALID_CONFIG, problem);
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(set)) if (value !== null) values[name] = value;
    return {
      ok: true,
      record: { kind: 'configs-altered', topic, topicId: view.topic.topicId, set: values, removed: [...removed] },
    };
  }

  /** AlterConfigs: `entries` become the topic's whole set of configs; every other key goes back to its default. */
  planReplaceConfigs(topic: string, entries: readonly ConfigValue[]): PlanResult {
    const malformed = replacementProblem(entries);
    if (malformed !== null) return refuse(KAFKA_ERROR.INVALID_REQUEST, malformed);
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    const change = replacedConfigs(view.topic.configs, entries);
    const problem = this.#alterationProblem(change.set, change.removed);
    if (problem !== null) return refuse(KAFKA_ERROR.INVALID_CONFIG, problem);
    // Exactly the request's keys afterwards: keys another gateway sets between this plan and the
    // apply go too (a configs-altered record with a removed list fixed now would keep them).
    return { ok: true, record: { kind: 'configs-replaced', topic, topicId: view.topic.topicId, configs: change.set } };
  }

  /** Why keys set to these values and keys put back to their defaults are not acceptable, or null. */
  #alterationProblem(set: Readonly<Record<string, string | null>>, removed: readonly string[]): string | null {
    return topicConfigsProblem(set)
      ?? topicConfigsProblem(Object.fromEntries(removed.map((name) => [name, this.configDefaults[name] ?? ''])));
  }

  /** IncrementalAlterConfigs: one operation per config (config-alterations.ts). */
  planIncrementalAlterConfigs(topic: string, operations: readonly ConfigOperation[]): PlanResult {
    const malformed = operationsProblem(operations);
    if (malformed !== null) return refuse(KAFKA_ERROR.INVALID_REQUEST, malformed);
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    const altered = incrementalConfigs(view.topic.configs, this.configDefaults, operations);
    if (!altered.ok) return refuse(KAFKA_ERROR.INVALID_CONFIG, altered.problem);
    return this.planAlterConfigs(topic, altered.change.set, altered.change.removed);
  }

  /**
   * DeleteRecords: move the log start of one partition. The gateway resolves offset -1 (the high
   * watermark) and checks the offset against it (OFFSET_OUT_OF_RANGE) before planning, since
   * the high watermark is not control state.
   */
  planDeleteRecords(topic: string, partition: number, offset: number): PlanResult {
    const view = this.#userTopic(topic);
    if (!view.ok) return view;
    const streamId = view.topic.streamIds[partition];
    if (streamId === undefined) {
      return refuse(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION,
        `topic "${topic}" has no partition ${partition} (it has ${view.topic.streamIds.length})`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return refuse(KAFKA_ERROR.INVALID_REQUEST, `offset ${offset} is not an offset (>= 0)`);
    }
    return { ok: true, record: { kind: 'log-start-moved', streamId, logStartOffset: offset } };
  }

  #userTopic(topic: string): { ok: true; topic: TopicView } | Refusal {
    const view = this.#topics.get(topic);
    if (view === undefined) {
      return refuse(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION, `topic "${topic}" does not exist`);
    }
    if (view.isInternal) {
      return refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, `"${topic}" is an internal topic of x2 and cannot be changed`);
    }
    return { ok: true, topic: view };
  }

  #collisionProblem(topic: string): string | null {
    const existing = this.#topicsByMetricName.get(metricName(topic));
    if (existing === undefined || existing === topic) return null;
    return `topic "${topic}" collides with existing topic "${existing}" ('.' and '_' are the same in metric names)`;
  }

  #partitionCountProblem(totalCount: number, currentCount: number): string | null {
    if (!Number.isSafeInteger(totalCount) || totalCount < 1 || totalCount > PARTITIONS_PER_TOPIC_MAX) {
      return `partition count ${totalCount} is not allowed: use -1 (default) or 1..${PARTITIONS_PER_TOPIC_MAX}`;
    }
    if (this.#userStreamCount + totalCount - currentCount > STREAM_COUNT_MAX) {
      return `the cluster holds ${this.#userStreamCount} partitions; ${totalCount - currentCount} more `
        + `would pass the limit of ${STREAM_COUNT_MAX}`;
    }
    return null;
  }

  /** Decodes and applies one record of `__x2_control` (a bad record throws X2_ERR_FORMAT). */
  applyBytes(bytes: Uint8Array): ApplyOutcome {
    return this.apply(decodeControlRecord(bytes));
  }

  /**
   * Applies one record in stream order. A refused record changes nothing; the same record is
   * refused on every node, so replays agree.
   */
  apply(record: ControlRecord): ApplyOutcome {
    switch (record.kind) {
      case 'topic-created': return this.#applyTopicCreated(record);
      case 'topic-deleted': return this.#applyTopicDeleted(record);
      case 'partitions-added': return this.#applyPartitionsAdded(record);
      case 'configs-altered': return this.#applyConfigsAltered(record);
      case 'log-start-moved': return this.#applyLogStartMoved(record);
      case 'configs-replaced': return this.#applyConfigsReplaced(record);
    }
  }

  #applyTopicCreated(record: Extract<ControlRecord, { kind: 'topic-created' }>): ApplyOutcome {
    if (this.#topics.has(record.topic)) {
      return { ...refuse(KAFKA_ERROR.TOPIC_ALREADY_EXISTS, `topic "${record.topic}" already exists`), stale: false };
    }
    const sidecar = parseSidecarTopicName(record.topic) !== null;
    const nameProblem = (sidecar ? null : topicNameProblem(record.topic)) ?? this.#collisionProblem(record.topic);
    if (nameProblem !== null) return { ...refuse(KAFKA_ERROR.INVALID_TOPIC_EXCEPTION, nameProblem), stale: false };
    if (sidecar && (record.streamIds.length !== 1 || Object.keys(record.configs).length > 0)) {
      return { ...refuse(KAFKA_ERROR.INVALID_REQUEST, `sidecar topic "${record.topic}" has one partition, no configs`),
        stale: false };
    }
    const configProblem = topicConfigsProblem(record.configs);
    if (configProblem !== null) return { ...refuse(KAFKA_ERROR.INVALID_CONFIG, configProblem), stale: false };
    const refused = this.#freshStreamIdsRefusal(record.streamIds, 0);
    if (refused !== null) return refused;
    const streamIds = [...record.streamIds];
    const topicId = streamIds[0] ?? 0;
    this.#topicsByMetricName.set(metricName(record.topic), record.topic);
    this.#topics.set(record.topic, {
      name: record.topic, topicId, streamIds, configs: { ...record.configs }, isInternal: sidecar,
    });
    this.#addStreams(record.topic, streamIds, 0);
    return { ok: true };
  }

  #applyTopicDeleted(record: Extract<ControlRecord, { kind: 'topic-deleted' }>): ApplyOutcome {
    const view = this.#incarnation(record.topic, record.topicId);
    if (!view.ok) return view;
    this.#topics.delete(record.topic);
    this.#topicsByMetricName.delete(metricName(record.topic));
    for (const streamId of view.topic.streamIds) {
      this.#partitionsByStreamId.delete(streamId);
      this.#logStartOffsets.delete(streamId);
    }
    this.#userStreamCount -= view.topic.streamIds.length;
    return { ok: true };
  }

  #applyPartitionsAdded(record: Extract<ControlRecord, { kind: 'partitions-added' }>): ApplyOutcome {
    const view = this.#incarnation(record.topic, record.topicId);
    if (!view.ok) return view;
    const current = view.topic.streamIds.length;
    const refused = this.#freshStreamIdsRefusal(record.streamIds, current);
    if (refused !== null) return refused;
    const streamIds = [...view.topic.streamIds, ...record.streamIds];
    this.#topics.set(record.topic, { ...view.topic, streamIds });
    this.#addStreams(record.topic, record.streamIds, current);
    return { ok: true };
  }

  #applyConfigsAltered(record: Extract<ControlRecord, { kind: 'configs-altered' }>): ApplyOutcome {
    const view = this.#incarnation(record.topic, record.topicId);
    if (!view.ok) return view;
    const problem = topicConfigsProblem(record.set);
    if (problem !== null) return { ...refuse(KAFKA_ERROR.INVALID_CONFIG, problem), stale: false };
    const configs: Record<string, string> = { ...view.topic.configs };
    for (const name of record.removed) delete configs[name];
    Object.assign(configs, record.set);
    this.#topics.set(record.topic, { ...view.topic, configs });
    return { ok: true };
  }

  #applyConfigsReplaced(record: Extract<ControlRecord, { kind: 'configs-replaced' }>): ApplyOutcome {
    const view = this.#incarnation(record.topic, record.topicId);
    if (!view.ok) return view;
    const problem = topicConfigsProblem(record.configs);
    if (problem !== null) return { ...refuse(KAFKA_ERROR.INVALID_CONFIG, problem), stale: false };
    this.#topics.set(record.topic, { ...view.topic, configs: { ...record.configs } });
    return { ok: true };
  }

  #applyLogStartMoved(record: Extract<ControlRecord, { kind: 'log-start-moved' }>): ApplyOutcome {
    const partition = this.#partitionsByStreamId.get(record.streamId);
    // __x2_metrics is the one internal stream whose log start moves (its fixed retention).
    const internal = isInternalTopic(partition?.topic ?? '') || this.#topics.get(partition?.topic ?? '')?.isInternal;
    if (partition === undefined || (internal && partition.topic !== METRICS_TOPIC_NAME)) {
      return {
        ...refuse(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION, `stream ${record.streamId} is not a user partition`),
        stale: false,
      };
    }
    // The log start only moves forward: a DeleteRecords below it is a no-op, as in Kafka.
    const current = this.logStartOffset(record.streamId);
    this.#logStartOffsets.set(record.streamId, Math.max(current, record.logStartOffset));
    return { ok: true };
  }

  /** The topic named, if it is still the incarnation `topicId` names. */
  #incarnation(topic: string, topicId: number): { ok: true; topic: TopicView } | (Refusal & { stale: boolean }) {
    const view = this.#topics.get(topic);
    if (view === undefined || view.isInternal || view.topicId !== topicId) {
      return {
        ...refuse(KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION,
          `topic "${topic}" with topicId ${topicId} does not exist (deleted or recreated since)`),
        stale: false,
      };
    }
    return { ok: true, topic: view };
  }

  /** New streamIds must be unused (>= the counter), increasing and within the bounds. */
  #freshStreamIdsRefusal(streamIds: readonly number[], currentCount: number): (Refusal & { stale: boolean }) | null {
    const countProblem = this.#partitionCountProblem(currentCount + streamIds.length, currentCount);
    if (streamIds.length === 0 || countProblem !== null) {
      const problem = countProblem ?? 'no partitions given';
      return { ...refuse(KAFKA_ERROR.INVALID_PARTITIONS, problem), stale: false };
    }
    let previous = this.#nextStreamId - 1;
    for (const streamId of streamIds) {
      if (streamId <= previous) {
        return {
          ...refuse(KAFKA_ERROR.INVALID_REQUEST,
            `streamId ${streamId} is taken or out of order (next free is ${this.#nextStreamId}); plan again`),
          stale: true,
        };
      }
      previous = streamId;
    }
    return null;
  }

  #addStreams(topic: string, streamIds: readonly number[], firstPartition: number): void {
    streamIds.forEach((streamId, i) => {
      this.#partitionsByStreamId.set(streamId, { topic, partition: firstPartition + i });
    });
    this.#userStreamCount += streamIds.length;
    this.#nextStreamId = Math.max(this.#nextStreamId, (streamIds[streamIds.length - 1] ?? 0) + 1);
  }
}
