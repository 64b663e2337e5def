/**
 * A fixed cluster of node snapshots for the view and app tests: a sequencer, two commits, two
 * gateways (one coordinating group "billing"; no Produce through the other, so no latency), three
 * topics; and, apart, a sidecar group of two members. Times are relative to `atMs`.
 */
import { emptySnapshot, type NodeSnapshot } from '../../core/metrics/snapshot.ts';

export const SAMPLE_AT_MS = Date.UTC(2026, 10, 26, 12, 0, 0);

export function sampleCluster(atMs = SAMPLE_AT_MS): NodeSnapshot[] {
  const base = (role: NodeSnapshot['role'], nodeId: string, extra: Partial<NodeSnapshot>): NodeSnapshot => ({
    ...emptySnapshot(role, nodeId), host: 'node-a', pid: 100, river: 'multicast', atMs, startedAtMs: atMs - 60_000,
    intervalMs: 1000, ...extra,
  });
  const topics = [
    { name: 'trades', partitions: 3, highWatermark: 1_500_000, sizeBytes: 150 * 1024 * 1024, msgsPerSec: 12_345,
      bytesPerSec: 1_234_500 },
    { name: 'quotes.nasdaq', partitions: 8, highWatermark: 9_000_000, sizeBytes: 2 * 1024 ** 3, msgsPerSec: 250_000,
      bytesPerSec: 25_000_000 },
    { name: 'audit', partitions: 1, highWatermark: 42, sizeBytes: 4096, msgsPerSec: 0, bytesPerSec: 0 },
  ];
  const partitions = [
    { topic: 'trades', partition: 0, committedOffset: 499_000, highWatermark: 500_000, lagRecords: 1000,
      lagSeconds: 0.25 },
    { topic: 'trades', partition: 1, committedOffset: 500_000, highWatermark: 500_000, lagRecords: 0, lagSeconds: 0 },
  ];
  const group = { groupId: 'billing', state: 'Empty', members: 0, lagRecords: 1000, partitions, partitionsOmitted: 0 };
  return [
    base('sequencer', 'sequencer', { state: 'running', epoch: 3, lastSeq: 98_765, committedSeq: 98_760, lagSeqs: 5,
      cpuPercent: 41.6, rssBytes: 180 * 1024 * 1024, bytesInPerSec: 26_000_000, bytesOutPerSec: 26_500_000,
      naksTotal: 7, retransmitsTotal: 9,
      latency: { what: 'append→commit', count: 4120, p50Ms: 0.42, p99Ms: 1.9, maxBucketMs: 2, meanMs: 0.51 } }),
    base('commit', 'commit-1', { state: 'live', epoch: 3, lastSeq: 98_760, committedSeq: 98_760, cpuPercent: 22,
      rssBytes: 300 * 1024 * 1024, bytesInPerSec: 26_500_000,
      latency: { what: 'write', count: 3900, p50Ms: 0.18, p99Ms: 0.93, maxBucketMs: 1, meanMs: 0.22 } }),
    base('commit', 'commit-2', { state: 'catching-up', epoch: 3, lastSeq: 90_000, committedSeq: 98_760,
      lagSeqs: 8760, cpuPercent: 75, rssBytes: 310 * 1024 * 1024, bytesInPerSec: 30_000_000, naksTotal: 12,
      latency: { what: 'write', count: 5100, p50Ms: 1.3, p99Ms: 12.4, maxBucketMs: 20, meanMs: 2.1 } }),
    base('gateway', 'gateway-0', { state: 'serving', lastSeq: 98_760, committedSeq: 98_760, cpuPercent: 55,
      rssBytes: 250 * 1024 * 1024, ingestMsgsPerSec: 262_345, ingestBytesPerSec: 26_234_500,
      egressMsgsPerSec: 200_000, egressBytesPerSec: 20_000_000, topics, groups: [group],
      latency: { what: 'Produce', count: 2620, p50Ms: 0.9, p99Ms: 3.4, maxBucketMs: 5, meanMs: 1.1 } }),
    base('gateway', 'gateway-1', { state: 'serving', lastSeq: 98_700, committedSeq: 98_760, lagSeqs: 60,
      cpuPercent: 50, rssBytes: 240 * 1024 * 1024, topics, groups: [{ ...group, state: 'Stable', members: 3 }] }),
  ];
}

/**
 * Sidecar group "aapl-filter": two live members owning 2 and 1 of its 3 input partitions (the
 * group sees 2 members), and one stale member of group "audit-copy" that was killed.
 */
export function sampleSidecars(atMs = SAMPLE_AT_MS): NodeSnapshot[] {
  const member = (nodeId: string, pid: number, extra: Partial<NodeSnapshot>,
    sidecar: NonNullable<NodeSnapshot['sidecar']>): NodeSnapshot => ({
    ...emptySnapshot('sidecar', nodeId), host: 'node-b', pid, river: 'unicast', state: 'live', atMs,
    startedAtMs: atMs - 30_000, intervalMs: 1000, cpuPercent: 12, rssBytes: 90 * 1024 * 1024, ...extra, sidecar,
  });
  return [
    member('sidecar-aapl-filter-4242-a1b2c3', 4242, { msgsInPerSec: 8000, msgsOutPerSec: 800, bytesInPerSec: 800_000,
      bytesOutPerSec: 90_000 }, { group: 'aapl-filter', members: 2, ownedStreams: 2, lagRecords: 150, claimsTotal: 3,
      fencedAppendsTotal: 1 }),
    member('sidecar-aapl-filter-4343-d4e5f6', 4343, { msgsInPerSec: 4000, msgsOutPerSec: 400, bytesInPerSec: 400_000,
      bytesOutPerSec: 45_000 }, { group: 'aapl-filter', members: 2, ownedStreams: 1, lagRecords: 40, claimsTotal: 1,
      fencedAppendsTotal: 0 }),
    member('sidecar-audit-copy-77-0a0b0c', 77, { atMs: atMs - 20_000 }, { group: 'audit-copy', members: 1,
      ownedStreams: 1, lagRecords: 9, claimsTotal: 1, fencedAppendsTotal: 0 }),
  ];
}
