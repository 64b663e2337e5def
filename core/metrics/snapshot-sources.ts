/**
 * Where a node's snapshot figures come from. The river figures are read from the role's own
 * prom-client registry by metric name (the roles already count them there; reading the registry
 * keeps this module free of role internals), and a gateway adds the cluster view it holds
 * anyway: every topic's high watermark and size, and every group's committed offsets. A sidecar
 * adds its group figures (x2_sidecar_* levels and totals, its group name from its node id).
 * Each role but the sidecar reads one latency histogram (LATENCY_SOURCES) as cumulative bucket
 * counts; core/metrics/interval-latency.ts turns two readings into the interval's figure.
 *
 * Everything here returns totals (monotonic counters and levels); core/metrics/publisher.ts turns
 * totals into rates. Runs once a second off the data path; the cost is O(metrics + partitions +
 * buckets x label sets of the latency histogram), bounded by SNAPSHOT_TOPICS_MAX /
 * SNAPSHOT_GROUPS_MAX where it matters.
 */
import { Histogram, type Registry } from 'prom-client';
import type { ControlState } from '../control/control-state.ts';
import type { OffsetsState } from '../control/offsets-state.ts';
import type { HistogramReading } from './interval-latency.ts';
import {
  SNAPSHOT_GROUP_PARTITIONS_MAX, SNAPSHOT_GROUPS_MAX, SNAPSHOT_TOPICS_MAX, type Role, type SidecarSnapshot,
} from './snapshot.ts';

export type RiverFigures = {
  epoch: number;
  lastSeq: number;
  committedSeq: number;
  lagSeqs: number;
  msgsInTotal: number;
  bytesInTotal: number;
  msgsOutTotal: number;
  bytesOutTotal: number;
  naksTotal: number;
  retransmitsTotal: number;
};

export type PartitionFigures = { highWatermark: number; sizeBytes: number };
export type TopicFigures = { name: string; partitions: PartitionFigures[] };
export type GroupFigures = {
  groupId: string;
  state: string;
  members: number;
  partitions: Array<{ topic: string; partition: number; committedOffset: number; highWatermark: number;
    consumedBytes: number }>;
};

/**
 * The parts of a gateway read here, by shape (core/ modules outside a role never import one):
 * the Gateway object itself fits.
 */
export type GatewayView = {
  state: {
    control: ControlState;
    offsets: OffsetsState;
    stream(streamId: number): { nextOffset: number; totalBytes: number; bytesFrom(offset: number): number } | undefined;
  };
  groups: {
    group(groupId: string): { state: string; memberIds: readonly string[] } | undefined;
    listGroups(offsetGroupIds: Iterable<string>): Array<{ groupId: string }>;
  };
};

/** What a gateway knows about the whole cluster. */
export type ClusterFigures = { topics: TopicFigures[]; topicsOmitted: number; groups: GroupFigures[];
  groupsOmitted: number };

/** Which registry metrics give each role's figures (names as the roles register them). */
const NAMES: Record<Role, { msgsIn: string; bytesIn: string; msgsOut: string; bytesOut: string; naks: string;
  retransmits: string; lastSeq: string; behind: string }> = {
  sequencer: {
    msgsIn: 'x2_river_entries_appended_total', bytesIn: 'x2_river_bytes_appended_total',
    msgsOut: 'x2_river_frames_sent_total', bytesOut: 'x2_river_bytes_sent_total',
    naks: 'x2_river_naks_received_total', retransmits: 'x2_river_retransmits_total',
    lastSeq: 'x2_river_last_seq', behind: 'x2_river_committed_seq',
  },
  commit: {
    msgsIn: 'x2_river_frames_received_total', bytesIn: 'x2_river_bytes_received_total',
    msgsOut: 'x2_commit_peer_reads_total', bytesOut: '',
    naks: 'x2_river_naks_sent_total', retransmits: 'x2_river_retransmits_received_total',
    lastSeq: 'x2_commit_durable_seq', behind: 'x2_river_committed_seq',
  },
  gateway: {
    msgsIn: 'x2_river_frames_received_total', bytesIn: 'x2_river_bytes_received_total',
    msgsOut: 'x2_gateway_requests_total', bytesOut: '',
    naks: '', retransmits: '',
    lastSeq: 'x2_gateway_applied_seq', behind: 'x2_river_committed_seq',
  },
  sidecar: {
    msgsIn: 'x2_sidecar_records_in_total', bytesIn: 'x2_sidecar_bytes_in_total',
    msgsOut: 'x2_sidecar_records_out_total', bytesOut: 'x2_sidecar_bytes_out_total',
    naks: 'x2_river_naks_sent_total', retransmits: 'x2_river_retransmits_received_total',
    lastSeq: '', behind: '',
  },
};

/**
 * Which histogram gives each role's latency figure (names and labels as the roles register them),
 * and what it times: a gateway's Produce requests (read to response written, the wait for
 * durability included), a commit's segment writes (the O_DSYNC device flush included), the
 * sequencer's frames from sent to committed on the write quorum. Sidecars have none.
 */
export const LATENCY_SOURCES: Record<Role, { what: string; metric: string; labels: Record<string, string> } | null> = {
  sequencer: { what: 'append→commit', metric: 'x2_river_append_to_commit_seconds', labels: {} },
  commit: { what: 'write', metric: 'x2_store_write_seconds', labels: {} },
  gateway: { what: 'Produce', metric: 'x2_gateway_request_seconds', labels: { api: 'Produce' } },
  sidecar: null,
};

/**
 * The cumulative bucket counts and sum of histogram `name`, summed over its label sets that have
 * `labels`; null when the registry has no such histogram or no matching label set yet.
 */
export async function histogramReading(registry: Registry, name: string,
  labels: Readonly<Record<string, string>>): Promise<HistogramReading | null> {
  const metric = registry.getSingleMetric(name);
  if (!(metric instanceof Histogram)) return null;
  const { values } = await metric.get();
  const bucketName = `${name}_bucket`;
  const sumName = `${name}_sum`;
  const countAt = new Map<number, number>();
  let sumSeconds = 0;
  for (const sample of values) {
    const sampleLabels = sample.labels as Record<string, string | number | undefined>;
    if (!Object.entries(labels).every(([key, value]) => sampleLabels[key] === value)) continue;
    if (sample.metricName === bucketName) {
      const bound = sampleLabels['le'] === '+Inf' ? Infinity : Number(sampleLabels['le']);
      countAt.set(bound, (countAt.get(bound) ?? 0) + sample.value);
    } else if (sample.metricName === sumName) {
      sumSeconds += sample.value;
    }
  }
  if (countAt.size === 0) return null;
  const boundsSeconds = [...countAt.keys()].sort((a, b) => a - b);
  return { boundsSeconds, cumulativeCounts: boundsSeconds.map((bound) => countAt.get(bound)!), sumSeconds };
}

/** Sum of a metric's values (all label sets), 0 when the registry does not have it. */
async function valueOf(registry: Registry, name: string): Promise<number> {
  if (name === '') return 0;
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  let sum = 0;
  for (const sample of values) if (Number.isFinite(sample.value)) sum += sample.value;
  return sum;
}

/**
 * The river figures of `role` from its registry. Lag: the sequencer's is lastSeq - committedSeq
 * (not yet durable); a commit's and a gateway's is committedSeq - lastSeq (not yet stored or
 * applied here), never negative.
 */
export async function riverFigures(registry: Registry, role: Role): Promise<RiverFigures> {
  const names = NAMES[role];
  const lastSeq = await valueOf(registry, names.lastSeq);
  const committedSeq = await valueOf(registry, names.behind);
  return {
    epoch: await valueOf(registry, 'x2_river_epoch'), lastSeq, committedSeq,
    lagSeqs: Math.max(0, role === 'sequencer' ? lastSeq - committedSeq : committedSeq - lastSeq),
    msgsInTotal: await valueOf(registry, names.msgsIn), bytesInTotal: await valueOf(registry, names.bytesIn),
    msgsOutTotal: await valueOf(registry, names.msgsOut), bytesOutTotal: await valueOf(registry, names.bytesOut),
    naksTotal: await valueOf(registry, names.naks), retransmitsTotal: await valueOf(registry, names.retransmits),
  };
}

/**
 * The group of a sidecar from its node id, which cli/commands/sidecar.ts makes
 * `sidecar-NAME-PID-HEX` (NAME: letters, digits, ".", "_", "-"; the member id is PID-HEX).
 */
export function sidecarGroupOf(nodeId: string): string {
  const match = /^sidecar-(.+)-\d+-[0-9a-f]+$/.exec(nodeId);
  return match?.[1] ?? nodeId;
}

/** A sidecar's group figures from its registry (core/roles/sidecar/sidecar-metrics.ts names them). */
export async function sidecarFigures(registry: Registry, nodeId: string): Promise<SidecarSnapshot> {
  return {
    group: sidecarGroupOf(nodeId), members: await valueOf(registry, 'x2_sidecar_members'),
    ownedStreams: await valueOf(registry, 'x2_sidecar_owned_streams'),
    lagRecords: await valueOf(registry, 'x2_sidecar_lag_records'),
    claimsTotal: await valueOf(registry, 'x2_sidecar_claims_total'),
    fencedAppendsTotal: await valueOf(registry, 'x2_sidecar_fenced_appends_total'),
  };
}

/** The cluster view a gateway holds: user topics (by name) and groups with committed offsets. */
export function gatewayClusterFigures(gateway: GatewayView): ClusterFigures {
  const control = gateway.state.control;
  const names = control.topicNames({ includeInternal: false }).sort();
  const topics: TopicFigures[] = [];
  const partitionOf = new Map<string, PartitionFigures[]>();
  for (const name of names) {
    const view = control.topic(name);
    if (view === undefined) continue;
    const partitions = view.streamIds.map((streamId) => {
      const log = gateway.state.stream(streamId);
      return { highWatermark: log?.nextOffset ?? 0, sizeBytes: log?.totalBytes ?? 0 };
    });
    partitionOf.set(name, partitions);
    if (topics.length < SNAPSHOT_TOPICS_MAX) topics.push({ name, partitions });
  }
  const groups: GroupFigures[] = [];
  // Groups with committed offsets (every gateway knows them) and groups this gateway coordinates.
  const groupIds = gateway.groups.listGroups(gateway.state.offsets.groupIds()).map((listed) => listed.groupId);
  for (const groupId of groupIds.slice(0, SNAPSHOT_GROUPS_MAX)) {
    const coordinated = gateway.groups.group(groupId);
    const partitions: GroupFigures['partitions'] = [];
    for (const committed of gateway.state.offsets.fetchAll(groupId)) {
      const streamId = control.streamIdOf(committed.topic, committed.partition);
      const log = streamId === undefined ? undefined : gateway.state.stream(streamId);
      const highWatermark = log?.nextOffset ?? 0;
      const consumedBytes = log === undefined ? 0 : log.totalBytes - log.bytesFrom(committed.offset);
      partitions.push({ topic: committed.topic, partition: committed.partition, committedOffset: committed.offset,
        highWatermark, consumedBytes });
      if (partitions.length >= SNAPSHOT_GROUP_PARTITIONS_MAX * 4) break;
    }
    groups.push({ groupId, state: coordinated?.state ?? 'Empty', members: coordinated?.memberIds.length ?? 0,
      partitions });
  }
  return { topics, topicsOmitted: names.length - topics.length, groups,
    groupsOmitted: groupIds.length - groups.length };
}
