/**
 * The metrics snapshot: what one node (a sequencer, commit, gateway or sidecar process) says
 * about itself once a second in the internal stream `__x2_metrics` (DESIGN §7), and what
 * `x2 top` and GET /status show. Writers: core/metrics/publisher.ts. Readers:
 * core/metrics/snapshot-feed.ts (Kafka Fetch through any gateway) and the TUI.
 *
 * Encoding: byte 0 is the format version (SNAPSHOT_VERSION), the rest one msgpack map with the
 * field names of `NodeSnapshot`. Names are stored (unlike the positional control records) so a
 * reader of a later version can still show the fields it knows; a value is one record of
 * `__x2_metrics`, key null. Rates are per second over `intervalMs`, counters (`naksTotal`,
 * `retransmitsTotal`) are totals since the process started.
 *
 * Bounds: at most SNAPSHOT_TOPICS_MAX topics and SNAPSHOT_GROUPS_MAX groups with at most
 * SNAPSHOT_GROUP_PARTITIONS_MAX partitions each (the rest is counted in `*Omitted`), so one
 * snapshot stays well under a river datagram budget of ~1 MiB. Decoding trusts nothing: a wrong
 * version or a field of the wrong type is refused with X2_ERR_FORMAT naming the field.
 *
 * Compatibility within version 1: `sidecar` and `latency` came later; a snapshot without them
 * (an older x2) decodes with `sidecar: null` and `latency: null`, and an older reader ignores them.
 */
import { Packr } from 'msgpackr';
import { X2Error } from '../base/errors.ts';

export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_TOPICS_MAX = 1000;
export const SNAPSHOT_GROUPS_MAX = 200;
export const SNAPSHOT_GROUP_PARTITIONS_MAX = 256;

export const ROLES = ['sequencer', 'commit', 'gateway', 'sidecar'] as const;
export type Role = typeof ROLES[number];

export type TopicSnapshot = {
  name: string;
  partitions: number;
  /** Sum over partitions of the high watermark (next offset). */
  highWatermark: number;
  sizeBytes: number;
  msgsPerSec: number;
  bytesPerSec: number;
};

export type GroupPartitionSnapshot = {
  topic: string;
  partition: number;
  committedOffset: number;
  highWatermark: number;
  lagRecords: number;
  /** lagRecords at the partition's current produce rate; -1 when nothing is produced. */
  lagSeconds: number;
};

export type GroupSnapshot = {
  groupId: string;
  state: string;
  members: number;
  lagRecords: number;
  partitions: GroupPartitionSnapshot[];
  partitionsOmitted: number;
};

/** What a sidecar member says about its group (`--name`), from its own metrics. */
export type SidecarSnapshot = {
  /** The group's name (`x2 sidecar --name`). */
  group: string;
  /** Members of the group as this member sees them (x2_sidecar_members). */
  members: number;
  /** Input partitions this member owns now (x2_sidecar_owned_streams). */
  ownedStreams: number;
  /** Committed input records of its streams not yet processed (x2_sidecar_lag_records). */
  lagRecords: number;
  /** Input streams this member claimed since it started (handovers in). */
  claimsTotal: number;
  /** Appends the sequencer refused because another member had claimed a stream since. */
  fencedAppendsTotal: number;
};

/**
 * A node's latency over its last interval (core/metrics/interval-latency.ts): gateway Produce
 * requests, commit store writes or the sequencer's append to commit. Quantiles are estimated
 * from histogram buckets by linear interpolation within the bucket (as Prometheus does).
 */
export type LatencySnapshot = {
  /** What was timed: "Produce" (gateway), "write" (commit), "append→commit" (sequencer). */
  what: string;
  /** Observations in the interval (above 0, else the figure is null). */
  count: number;
  p50Ms: number;
  p99Ms: number;
  /** Upper bound of the highest bucket observed into: every one took at most this; -1 when above the last bound. */
  maxBucketMs: number;
  /** Exact (the histogram's sum over its count in the interval). */
  meanMs: number;
};

export type NodeSnapshot = {
  role: Role;
  /** Unique in the cluster: "sequencer", "commit-1", "gateway-0". */
  nodeId: string;
  host: string;
  pid: number;
  /** What the node is doing: running, welcoming, recovering, catching-up, serving. */
  state: string;
  /** River driver: multicast or unicast. */
  river: string;
  atMs: number;
  startedAtMs: number;
  intervalMs: number;
  /** CPU time over wall time in the interval; 100 = one core busy. */
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  msgsInPerSec: number;
  bytesInPerSec: number;
  msgsOutPerSec: number;
  bytesOutPerSec: number;
  /** Seqs this node is behind: sequencer uncommitted, commit undurable, gateway unapplied. */
  lagSeqs: number;
  naksTotal: number;
  retransmitsTotal: number;
  epoch: number;
  lastSeq: number;
  committedSeq: number;
  /** Snapshots this node could not publish (link down or append queue full). */
  droppedTotal: number;
  /** Cluster-wide user records/bytes produced and consumed (committed offsets), gateways only. */
  ingestMsgsPerSec: number;
  ingestBytesPerSec: number;
  egressMsgsPerSec: number;
  egressBytesPerSec: number;
  topics: TopicSnapshot[];
  topicsOmitted: number;
  groups: GroupSnapshot[];
  groupsOmitted: number;
  /** Sidecars only (null on other roles and from an x2 before sidecar groups). */
  sidecar: SidecarSnapshot | null;
  /** Latency over the interval; null with nothing observed, on sidecars, and from an x2 before it. */
  latency: LatencySnapshot | null;
};

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function encodeSnapshot(snapshot: NodeSnapshot): Buffer {
  const body = packr.pack(snapshot);
  const bytes = Buffer.allocUnsafe(1 + body.length);
  bytes[0] = SNAPSHOT_VERSION;
  body.copy(bytes, 1);
  return bytes;
}

function problem(field: string, value: unknown, wanted: string): X2Error {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
  return new X2Error('X2_ERR_FORMAT', `__x2_metrics snapshot: field ${field} is ${shown}, ${wanted} is allowed`);
}

type Fields = Record<string, unknown>;

function text(fields: Fields, name: string, path: string): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length > 512) throw problem(path + name, value, 'a string');
  return value;
}

function num(fields: Fields, name: string, path: string): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw problem(path + name, value, 'a finite number');
  return value;
}

function list(fields: Fields, name: string, path: string, max: number): Fields[] {
  const value = fields[name];
  if (!Array.isArray(value) || value.length > max) throw problem(path + name, value, `a list of at most ${max}`);
  return value.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw problem(`${path}${name}[${index}]`, item, 'a map');
    }
    return item as Fields;
  });
}

function decodeTopic(fields: Fields, path: string): TopicSnapshot {
  return {
    name: text(fields, 'name', path), partitions: num(fields, 'partitions', path),
    highWatermark: num(fields, 'highWatermark', path), sizeBytes: num(fields, 'sizeBytes', path),
    msgsPerSec: num(fields, 'msgsPerSec', path), bytesPerSec: num(fields, 'bytesPerSec', path),
  };
}

function decodeGroup(fields: Fields, path: string): GroupSnapshot {
  return {
    groupId: text(fields, 'groupId', path), state: text(fields, 'state', path), members: num(fields, 'members', path),
    lagRecords: num(fields, 'lagRecords', path),
    partitions: list(fields, 'partitions', path, SNAPSHOT_GROUP_PARTITIONS_MAX).map((partition, index) => {
      const at = `${path}partitions[${index}].`;
      return {
        topic: text(partition, 'topic', at), partition: num(partition, 'partition', at),
        committedOffset: num(partition, 'committedOffset', at), highWatermark: num(partition, 'highWatermark', at),
        lagRecords: num(partition, 'lagRecords', at), lagSeconds: num(partition, 'lagSeconds', at),
      };
    }),
    partitionsOmitted: num(fields, 'partitionsOmitted', path),
  };
}

function decodeSidecar(fields: Fields): SidecarSnapshot | null {
  const value = fields['sidecar'];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw problem('sidecar', value, 'a map or nil');
  const sidecar = value as Fields;
  const n = (name: string): number => num(sidecar, name, 'sidecar.');
  return { group: text(sidecar, 'group', 'sidecar.'), members: n('members'), ownedStreams: n('ownedStreams'),
    lagRecords: n('lagRecords'), claimsTotal: n('claimsTotal'), fencedAppendsTotal: n('fencedAppendsTotal') };
}

function decodeLatency(fields: Fields): LatencySnapshot | null {
  const value = fields['latency'];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw problem('latency', value, 'a map or nil');
  const latency = value as Fields;
  const n = (name: string): number => num(latency, name, 'latency.');
  return { what: text(latency, 'what', 'latency.'), count: n('count'), p50Ms: n('p50Ms'), p99Ms: n('p99Ms'),
    maxBucketMs: n('maxBucketMs'), meanMs: n('meanMs') };
}

/** Decodes one `__x2_metrics` value; throws X2_ERR_FORMAT naming the first bad field. */
export function decodeSnapshot(bytes: Uint8Array): NodeSnapshot {
  if (bytes.length < 2) throw new X2Error('X2_ERR_FORMAT', `__x2_metrics snapshot: ${bytes.length} bytes is too short`);
  if (bytes[0] !== SNAPSHOT_VERSION) {
    throw new X2Error('X2_ERR_FORMAT',
      `__x2_metrics snapshot: format version ${bytes[0]} is unknown, this x2 reads ${SNAPSHOT_VERSION}`);
  }
  let value: unknown;
  try {
    value = packr.unpack(bytes.subarray(1));
  } catch (error) {
    throw new X2Error('X2_ERR_FORMAT', '__x2_metrics snapshot: body is not valid msgpack', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem('(body)', value, 'a map');
  const fields = value as Fields;
  const role = text(fields, 'role', '');
  if (!(ROLES as readonly string[]).includes(role)) throw problem('role', role, ROLES.join(', '));
  const n = (name: string): number => num(fields, name, '');
  return {
    role: role as Role, nodeId: text(fields, 'nodeId', ''), host: text(fields, 'host', ''), pid: n('pid'),
    state: text(fields, 'state', ''), river: text(fields, 'river', ''), atMs: n('atMs'), startedAtMs: n('startedAtMs'),
    intervalMs: n('intervalMs'), cpuPercent: n('cpuPercent'), rssBytes: n('rssBytes'),
    heapUsedBytes: n('heapUsedBytes'),
    msgsInPerSec: n('msgsInPerSec'), bytesInPerSec: n('bytesInPerSec'), msgsOutPerSec: n('msgsOutPerSec'),
    bytesOutPerSec: n('bytesOutPerSec'), lagSeqs: n('lagSeqs'), naksTotal: n('naksTotal'),
    retransmitsTotal: n('retransmitsTotal'), epoch: n('epoch'), lastSeq: n('lastSeq'), committedSeq: n('committedSeq'),
    droppedTotal: n('droppedTotal'), ingestMsgsPerSec: n('ingestMsgsPerSec'),
    ingestBytesPerSec: n('ingestBytesPerSec'),
    egressMsgsPerSec: n('egressMsgsPerSec'), egressBytesPerSec: n('egressBytesPerSec'),
    topics: list(fields, 'topics', '', SNAPSHOT_TOPICS_MAX)
      .map((topic, index) => decodeTopic(topic, `topics[${index}].`)),
    topicsOmitted: n('topicsOmitted'),
    groups: list(fields, 'groups', '', SNAPSHOT_GROUPS_MAX)
      .map((group, index) => decodeGroup(group, `groups[${index}].`)),
    groupsOmitted: n('groupsOmitted'),
    sidecar: decodeSidecar(fields),
    latency: decodeLatency(fields),
  };
}

/** A snapshot with every figure zero: the base the publisher and tests fill in. */
export function emptySnapshot(role: Role, nodeId: string): NodeSnapshot {
  return {
    role, nodeId, host: '', pid: 0, state: 'starting', river: '', atMs: 0, startedAtMs: 0, intervalMs: 0,
    cpuPercent: 0, rssBytes: 0, heapUsedBytes: 0, msgsInPerSec: 0, bytesInPerSec: 0, msgsOutPerSec: 0,
    bytesOutPerSec: 0, lagSeqs: 0, naksTotal: 0, retransmitsTotal: 0, epoch: 0, lastSeq: 0, committedSeq: 0,
    droppedTotal: 0, ingestMsgsPerSec: 0, ingestBytesPerSec: 0, egressMsgsPerSec: 0, egressBytesPerSec: 0,
    topics: [], topicsOmitted: 0, groups: [], groupsOmitted: 0, sidecar: null, latency: null,
  };
}
