/**
 * The cluster as `x2 top` sees it, built from node snapshots (core/metrics/snapshot.ts) read
 * from `__x2_metrics`: the latest snapshot per node, the summary figures and their recent
 * history for sparklines. Pure and immutable-in-spirit: `addSnapshots` returns a new model.
 *
 * Where figures come from: epoch, seq and committed seq from the sequencer; topics and the
 * cluster's ingest/egress from the freshest gateway (every gateway holds the whole view);
 * groups merged over gateways (members are known by the coordinating gateway only). A node
 * silent for STALE_AFTER_MS is shown as "stale" and dropped after FORGET_AFTER_MS. Sidecar
 * groups are summed over their live members' snapshots (each member reports its own share).
 * Bounds: HISTORY_POINTS_MAX samples per sparkline, NODES_MAX nodes.
 */
import type { GroupSnapshot, NodeSnapshot, TopicSnapshot } from '../../../core/metrics/snapshot.ts';

export const HISTORY_POINTS_MAX = 120;
export const NODES_MAX = 512;
export const STALE_AFTER_MS = 5_000;
export const FORGET_AFTER_MS = 60_000;

export type History = { ingestMsgs: number[]; ingestBytes: number[]; egressMsgs: number[]; egressBytes: number[] };

export type ClusterModel = {
  nodes: ReadonlyMap<string, NodeSnapshot>;
  history: History;
  /** atMs of the gateway snapshot last added to the history (one point per gateway second). */
  historyAtMs: number;
};

export type Summary = {
  epoch: number;
  seq: number;
  committedSeq: number;
  nodeCount: number;
  staleCount: number;
  ingestMsgsPerSec: number;
  ingestBytesPerSec: number;
  egressMsgsPerSec: number;
  egressBytesPerSec: number;
};

/** A node as shown; for a sidecar, `groupPartitions` is what its group's live members own (else 0). */
export type NodeRow = NodeSnapshot & { stale: boolean; groupPartitions: number };

/** One sidecar group (`x2 sidecar --name`), summed over its live members. */
export type SidecarGroupView = {
  group: string;
  /**
   * Members as the group sees itself: the most any live member reports (they agree once settled);
   * with no live member, the last a stale one reported.
   */
  members: number;
  /** Member processes on screen that are live (not stale). */
  membersLive: number;
  /** Input partitions owned by the live members: the group's inputs once the handover is done. */
  partitions: number;
  msgsInPerSec: number;
  msgsOutPerSec: number;
  bytesOutPerSec: number;
  /** The largest lag (input records not yet processed) of a live member. */
  lagRecordsMax: number;
  claimsTotal: number;
  fencedAppendsTotal: number;
};

export type ClusterView = {
  summary: Summary;
  history: History;
  nodes: NodeRow[];
  topics: TopicSnapshot[];
  groups: GroupSnapshot[];
  sidecarGroups: SidecarGroupView[];
};

export function emptyModel(): ClusterModel {
  return { nodes: new Map(), history: { ingestMsgs: [], ingestBytes: [], egressMsgs: [], egressBytes: [] },
    historyAtMs: 0 };
}

function pushBounded(values: readonly number[], value: number): number[] {
  const next = values.length >= HISTORY_POINTS_MAX ? values.slice(1) : values.slice();
  next.push(value);
  return next;
}

function freshestGateway(nodes: Iterable<NodeSnapshot>): NodeSnapshot | undefined {
  let best: NodeSnapshot | undefined;
  for (const node of nodes) {
    if (node.role !== 'gateway') continue;
    if (best === undefined || node.lastSeq > best.lastSeq || (node.lastSeq === best.lastSeq && node.atMs > best.atMs)) {
      best = node;
    }
  }
  return best;
}

/** The model after `snapshots` (in stream order); older snapshots of a node never replace newer ones. */
export function addSnapshots(model: ClusterModel, snapshots: readonly NodeSnapshot[], nowMs: number): ClusterModel {
  const nodes = new Map(model.nodes);
  for (const snapshot of snapshots) {
    const known = nodes.get(snapshot.nodeId);
    if (known !== undefined && known.atMs > snapshot.atMs && known.pid === snapshot.pid) continue;
    if (known === undefined && nodes.size >= NODES_MAX) continue;
    nodes.set(snapshot.nodeId, snapshot);
  }
  for (const [nodeId, node] of nodes) if (nowMs - node.atMs > FORGET_AFTER_MS) nodes.delete(nodeId);
  let { history, historyAtMs } = model;
  const gateway = freshestGateway(nodes.values());
  if (gateway !== undefined && gateway.atMs > historyAtMs && gateway.intervalMs > 0) {
    history = {
      ingestMsgs: pushBounded(history.ingestMsgs, gateway.ingestMsgsPerSec),
      ingestBytes: pushBounded(history.ingestBytes, gateway.ingestBytesPerSec),
      egressMsgs: pushBounded(history.egressMsgs, gateway.egressMsgsPerSec),
      egressBytes: pushBounded(history.egressBytes, gateway.egressBytesPerSec),
    };
    historyAtMs = gateway.atMs;
  }
  return { nodes, history, historyAtMs };
}

function mergeGroups(gateways: readonly NodeSnapshot[], freshest: NodeSnapshot | undefined): GroupSnapshot[] {
  const merged = new Map<string, GroupSnapshot>();
  for (const group of freshest?.groups ?? []) merged.set(group.groupId, group);
  for (const gateway of gateways) {
    for (const group of gateway.groups) {
      const known = merged.get(group.groupId);
      // The coordinator is the gateway that sees members; it has the true state.
      if (known === undefined) merged.set(group.groupId, group);
      else if (group.members > known.members) {
        merged.set(group.groupId, { ...known, members: group.members, state: group.state });
      }
    }
  }
  return [...merged.values()];
}

/** Sidecar groups by name, from the sidecar nodes (stale members count for nothing but the name). */
function sidecarGroupsOf(nodes: readonly NodeRow[]): Map<string, SidecarGroupView> {
  const groups = new Map<string, SidecarGroupView>();
  for (const node of nodes) {
    if (node.role !== 'sidecar' || node.sidecar === null) continue;
    let group = groups.get(node.sidecar.group);
    if (group === undefined) {
      group = { group: node.sidecar.group, members: 0, membersLive: 0, partitions: 0, msgsInPerSec: 0,
        msgsOutPerSec: 0, bytesOutPerSec: 0, lagRecordsMax: 0, claimsTotal: 0, fencedAppendsTotal: 0 };
      groups.set(group.group, group);
    }
    if (node.stale) {
      // Last known, until a live member says what the group is now.
      if (group.membersLive === 0) group.members = Math.max(group.members, node.sidecar.members);
      continue;
    }
    if (group.membersLive === 0) group.members = 0;
    group.members = Math.max(group.members, node.sidecar.members);
    group.membersLive += 1;
    group.partitions += node.sidecar.ownedStreams;
    group.msgsInPerSec += node.msgsInPerSec;
    group.msgsOutPerSec += node.msgsOutPerSec;
    group.bytesOutPerSec += node.bytesOutPerSec;
    group.lagRecordsMax = Math.max(group.lagRecordsMax, node.sidecar.lagRecords);
    group.claimsTotal += node.sidecar.claimsTotal;
    group.fencedAppendsTotal += node.sidecar.fencedAppendsTotal;
  }
  return groups;
}

/** What the screen shows at `nowMs`. */
export function clusterView(model: ClusterModel, nowMs: number): ClusterView {
  const seen: NodeRow[] = [...model.nodes.values()]
    .map((node) => ({ ...node, sidecar: node.sidecar ?? null, stale: nowMs - node.atMs > STALE_AFTER_MS,
      groupPartitions: 0 }));
  const sidecarGroups = sidecarGroupsOf(seen);
  const nodes = seen.map((node) => (node.sidecar === null ? node
    : { ...node, groupPartitions: sidecarGroups.get(node.sidecar.group)?.partitions ?? 0 }));
  const live = nodes.filter((node) => !node.stale);
  const sequencer = live.find((node) => node.role === 'sequencer') ?? nodes.find((node) => node.role === 'sequencer');
  const gateways = live.filter((node) => node.role === 'gateway');
  const gateway = freshestGateway(gateways) ?? freshestGateway(nodes);
  let seq = sequencer?.lastSeq ?? 0;
  let committedSeq = sequencer?.committedSeq ?? 0;
  if (sequencer === undefined) {
    for (const node of nodes) {
      seq = Math.max(seq, node.lastSeq);
      committedSeq = Math.max(committedSeq, node.committedSeq);
    }
  }
  return {
    summary: {
      epoch: sequencer?.epoch ?? Math.max(0, ...nodes.map((node) => node.epoch)), seq, committedSeq,
      nodeCount: nodes.length, staleCount: nodes.length - live.length,
      ingestMsgsPerSec: gateway?.ingestMsgsPerSec ?? 0, ingestBytesPerSec: gateway?.ingestBytesPerSec ?? 0,
      egressMsgsPerSec: gateway?.egressMsgsPerSec ?? 0, egressBytesPerSec: gateway?.egressBytesPerSec ?? 0,
    },
    history: model.history,
    nodes,
    topics: gateway?.topics ?? [],
    groups: mergeGroups(gateways, gateway),
    sidecarGroups: [...sidecarGroups.values()],
  };
}
