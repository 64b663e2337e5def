/**
 * The metrics publisher of one node: once a second it builds the node's snapshot
 * (core/metrics/snapshot.ts) from its registry (on sidecars also their group figures) and, on
 * gateways, the cluster view, appends it to `__x2_metrics` (streamId 3) through its own
 * AppendClient to the sequencer, and keeps it as the answer to GET /status on the node's
 * metrics server.
 *
 * Never on the data path: it runs on a timer, appends at most PUBLISH_INFLIGHT_MAX snapshots at
 * a time on a separate link, and drops a snapshot (counted in `droppedTotal`) rather than wait
 * when the link is down or the appends are not yet acknowledged. A tick that is still building
 * when the next is due is skipped. One wiring call per role: `startMetricsPublisher(options)`,
 * and `close()` on shutdown (the timer is unref'd; the link is closed).
 *
 * Rates are deltas of totals over the measured interval; the first snapshot has rates 0. The
 * latency figure is the delta of the role's latency histogram over the same interval
 * (core/metrics/interval-latency.ts); the first snapshot has none.
 */
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { INTERNAL_TOPICS } from '../control/topic-name.ts';
import { RecordBatchWriter } from '../records/record-batch-writer.ts';
import { AppendClient } from '../river/append-client.ts';
import { intervalLatency, type HistogramReading } from './interval-latency.ts';
import { serveStatus } from './metrics.ts';
import {
  emptySnapshot, encodeSnapshot, SNAPSHOT_GROUP_PARTITIONS_MAX, type GroupSnapshot, type NodeSnapshot, type Role,
  type TopicSnapshot,
} from './snapshot.ts';
import {
  histogramReading, LATENCY_SOURCES, riverFigures, sidecarFigures, type ClusterFigures, type RiverFigures,
} from './snapshot-sources.ts';

export const METRICS_STREAM_ID = INTERNAL_TOPICS[2].streamId;
export const PUBLISH_INTERVAL_MS = 1000;
export const PUBLISH_INFLIGHT_MAX = 4;
const SNAPSHOT_BYTES_MAX = 4 * 1024 * 1024;

export type PublisherOptions = {
  role: Role;
  nodeId: string;
  /** River driver of this node (multicast or unicast). */
  river: string;
  /** The sequencer's control address, host:port (a sequencer gives its own). */
  sequencer: string;
  registry: Registry;
  /** What the node is doing now; default "running". */
  state?: () => string;
  /** Gateways: the cluster view (topics and groups). */
  cluster?: () => ClusterFigures;
  intervalMs?: number;
};

type Totals = { atMs: number; cpuMicros: number; river: RiverFigures; ingestMsgs: number; ingestBytes: number;
  egressMsgs: number; egressBytes: number; topics: Map<string, { msgs: number; bytes: number }>;
  latency: HistogramReading | null };

export class MetricsPublisher {
  readonly options: PublisherOptions;
  readonly #client: AppendClient;
  readonly #timer: NodeJS.Timeout;
  readonly #writer = new RecordBatchWriter(SNAPSHOT_BYTES_MAX, 16 * 1024);
  readonly #startedAtMs = Date.now();
  #previous: Totals | null = null;
  #latest: NodeSnapshot;
  #building = false;
  #closed = false;
  droppedTotal = 0;
  publishedTotal = 0;

  constructor(options: PublisherOptions) {
    this.options = options;
    this.#latest = emptySnapshot(options.role, options.nodeId);
    // One append a second: no need to hear of every other commit on the river.
    this.#client = new AppendClient(options.sequencer, { inflightMax: PUBLISH_INFLIGHT_MAX,
      committedNotices: 'own' });
    this.#timer = setInterval(() => this.#tick(), options.intervalMs ?? PUBLISH_INTERVAL_MS);
    this.#timer.unref();
    serveStatus(options.registry, () => this.#latest);
  }

  /** The last snapshot built (what GET /status answers). */
  get latest(): NodeSnapshot { return this.#latest; }

  /** Builds a snapshot now (also used by the timer); exposed for tests. */
  async build(): Promise<NodeSnapshot> {
    const options = this.options;
    const nowMs = Date.now();
    const usage = process.cpuUsage();
    const memory = process.memoryUsage();
    const river = await riverFigures(options.registry, options.role);
    const cluster = options.cluster?.();
    const sidecar = options.role === 'sidecar' ? await sidecarFigures(options.registry, options.nodeId) : null;
    const latencySource = LATENCY_SOURCES[options.role];
    const latencyReading = latencySource === null ? null
      : await histogramReading(options.registry, latencySource.metric, latencySource.labels);
    const totals: Totals = { atMs: nowMs, cpuMicros: usage.user + usage.system, river, ingestMsgs: 0, ingestBytes: 0,
      egressMsgs: 0, egressBytes: 0, topics: new Map(), latency: latencyReading };
    const previous = this.#previous;
    const intervalMs = previous === null ? 0 : Math.max(1, nowMs - previous.atMs);
    const perSec = (now: number, before: number | undefined): number =>
      previous === null || before === undefined ? 0 : Math.max(0, (now - before) * 1000 / intervalMs);
    const topics: TopicSnapshot[] = [];
    const groups: GroupSnapshot[] = [];
    const topicRate = new Map<string, number>();
    if (cluster !== undefined) {
      for (const topic of cluster.topics) {
        let msgs = 0;
        let bytes = 0;
        for (const partition of topic.partitions) {
          msgs += partition.highWatermark;
          bytes += partition.sizeBytes;
        }
        totals.topics.set(topic.name, { msgs, bytes });
        totals.ingestMsgs += msgs;
        totals.ingestBytes += bytes;
        const before = previous?.topics.get(topic.name);
        const msgsPerSec = perSec(msgs, before?.msgs);
        topicRate.set(topic.name, msgsPerSec / Math.max(1, topic.partitions.length));
        topics.push({ name: topic.name, partitions: topic.partitions.length, highWatermark: msgs, sizeBytes: bytes,
          msgsPerSec, bytesPerSec: perSec(bytes, before?.bytes) });
      }
      for (const group of cluster.groups) {
        let lagRecords = 0;
        const partitions: GroupSnapshot['partitions'] = [];
        for (const partition of group.partitions) {
          const lag = Math.max(0, partition.highWatermark - partition.committedOffset);
          lagRecords += lag;
          totals.egressMsgs += partition.committedOffset;
          totals.egressBytes += partition.consumedBytes;
          if (partitions.length >= SNAPSHOT_GROUP_PARTITIONS_MAX) continue;
          const rate = topicRate.get(partition.topic) ?? 0;
          partitions.push({ topic: partition.topic, partition: partition.partition,
            committedOffset: partition.committedOffset, highWatermark: partition.highWatermark, lagRecords: lag,
            lagSeconds: lag === 0 ? 0 : rate > 0 ? lag / rate : -1 });
        }
        groups.push({ groupId: group.groupId, state: group.state, members: group.members, lagRecords, partitions,
          partitionsOmitted: group.partitions.length - partitions.length });
      }
    }
    const snapshot: NodeSnapshot = {
      role: options.role, nodeId: options.nodeId, host: hostname(), pid: process.pid,
      state: options.state?.() ?? 'running', river: options.river, atMs: nowMs, startedAtMs: this.#startedAtMs,
      intervalMs, cpuPercent: previous === null ? 0 : (totals.cpuMicros - previous.cpuMicros) / 10 / intervalMs,
      rssBytes: memory.rss, heapUsedBytes: memory.heapUsed,
      msgsInPerSec: perSec(river.msgsInTotal, previous?.river.msgsInTotal),
      bytesInPerSec: perSec(river.bytesInTotal, previous?.river.bytesInTotal),
      msgsOutPerSec: perSec(river.msgsOutTotal, previous?.river.msgsOutTotal),
      bytesOutPerSec: perSec(river.bytesOutTotal, previous?.river.bytesOutTotal),
      lagSeqs: river.lagSeqs, naksTotal: river.naksTotal, retransmitsTotal: river.retransmitsTotal,
      epoch: river.epoch, lastSeq: river.lastSeq, committedSeq: river.committedSeq, droppedTotal: this.droppedTotal,
      ingestMsgsPerSec: perSec(totals.ingestMsgs, previous?.ingestMsgs),
      ingestBytesPerSec: perSec(totals.ingestBytes, previous?.ingestBytes),
      egressMsgsPerSec: perSec(totals.egressMsgs, previous?.egressMsgs),
      egressBytesPerSec: perSec(totals.egressBytes, previous?.egressBytes),
      topics, topicsOmitted: cluster?.topicsOmitted ?? 0, groups, groupsOmitted: cluster?.groupsOmitted ?? 0,
      sidecar,
      latency: previous === null || latencySource === null ? null
        : intervalLatency(latencySource.what, previous.latency, latencyReading),
    };
    this.#previous = totals;
    this.#latest = snapshot;
    return snapshot;
  }

  /** Appends one snapshot; false (and counted as dropped) when the link cannot take it now. */
  publish(snapshot: NodeSnapshot): boolean {
    const writer = this.#writer;
    writer.reset();
    if (!writer.add({ key: null, value: encodeSnapshot(snapshot), headers: [], timestampMs: snapshot.atMs })) {
      this.droppedTotal += 1;
      return false;
    }
    // The writer's buffer is reused by the next snapshot, so the append gets its own copy.
    const batch = Buffer.from(writer.finish());
    const accepted = this.#client.append([{ streamId: METRICS_STREAM_ID, recordCount: 1, batch }], {
      onAppended: () => undefined,
      onCommitted: () => { this.publishedTotal += 1; },
      onError: () => { this.droppedTotal += 1; },
    });
    if (!accepted) this.droppedTotal += 1;
    return accepted;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#client.close();
  }

  #tick(): void {
    if (this.#building || this.#closed) return;
    this.#building = true;
    this.build().then((snapshot) => {
      if (!this.#closed) this.publish(snapshot);
    }, () => { this.droppedTotal += 1; }).finally(() => { this.#building = false; });
  }
}

/** The one call a role makes to publish its snapshots and serve /status. */
export function startMetricsPublisher(options: PublisherOptions): MetricsPublisher {
  return new MetricsPublisher(options);
}
