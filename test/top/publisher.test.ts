/**
 * The metrics publisher. Goal: a node's snapshot carries its registry's figures as rates and
 * levels (a sidecar's group figures under the names core/roles/sidecar registers; a gateway's
 * Produce latency of the interval under the name its RequestLatency registers), reaches
 * `__x2_metrics` through the sequencer, answers GET /status, and is dropped (counted, never
 * queued without bound) when the sequencer cannot take it. Method: a real
 * in-process sequencer (replication 0, so appends commit at once) and a real metrics server;
 * counters are plain numbers read by the registry, as in the roles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../core/base/log.ts';
import { Sequencer } from '../../core/roles/sequencer/sequencer.ts';
import { counterFrom, createRegistry, gaugeFrom, serveMetrics } from '../../core/metrics/metrics.ts';
import { MetricsPublisher, startMetricsPublisher } from '../../core/metrics/publisher.ts';
import { decodeSnapshot, encodeSnapshot } from '../../core/metrics/snapshot.ts';
import { sidecarGroupOf } from '../../core/metrics/snapshot-sources.ts';
import { RequestLatency } from '../../core/roles/gateway/request-latency.ts';
import { SidecarMetrics } from '../../core/roles/sidecar/sidecar-metrics.ts';
import { waitFor } from '../harness/wait-for.ts';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const cleanup of cleanups.splice(0)) cleanup(); });

async function startSequencer(): Promise<Sequencer> {
  const sequencer = await Sequencer.start({
    listenHost: '127.0.0.1', listenPort: 0, replication: 0, writeQuorum: 0, group: null, groupPort: 0,
    interfaceAddress: null, mtuBytes: 1500, ringBytes: 4 * 1024 * 1024, riverId: 1, heartbeatMs: 50,
    log: new Log('sequencer', 'error'), registry: createRegistry('sequencer'),
  });
  cleanups.push(() => sequencer.close());
  return sequencer;
}

describe('metrics publisher', () => {
  it('turns counters into rates over the measured interval and keeps levels as they are', async () => {
    const registry = createRegistry('commit');
    const figures = { framesIn: 0, bytesIn: 0, naks: 3, durable: 40, committed: 50 };
    counterFrom(registry, 'x2_river_frames_received_total', 'x', () => figures.framesIn);
    counterFrom(registry, 'x2_river_bytes_received_total', 'x', () => figures.bytesIn);
    counterFrom(registry, 'x2_river_naks_sent_total', 'x', () => figures.naks);
    gaugeFrom(registry, 'x2_commit_durable_seq', 'x', () => figures.durable);
    gaugeFrom(registry, 'x2_river_committed_seq', 'x', () => figures.committed);
    gaugeFrom(registry, 'x2_river_epoch', 'x', () => 2);
    const publisher = new MetricsPublisher({ role: 'commit', nodeId: 'commit-1', river: 'unicast',
      sequencer: '127.0.0.1:1', registry, state: () => 'live', intervalMs: 3_600_000 });
    cleanups.push(() => publisher.close());
    const first = await publisher.build();
    expect(first).toMatchObject({ role: 'commit', nodeId: 'commit-1', state: 'live', river: 'unicast', epoch: 2,
      lastSeq: 40, committedSeq: 50, lagSeqs: 10, naksTotal: 3, msgsInPerSec: 0, intervalMs: 0, pid: process.pid });
    figures.framesIn += 500;
    figures.bytesIn += 1_000_000;
    await waitFor(() => Date.now() - first.atMs >= 20);
    const second = await publisher.build();
    expect(second.intervalMs).toBeGreaterThanOrEqual(20);
    expect(second.msgsInPerSec).toBeCloseTo(500 * 1000 / second.intervalMs, 6);
    expect(second.bytesInPerSec).toBeCloseTo(1_000_000 * 1000 / second.intervalMs, 6);
    expect(second.rssBytes).toBeGreaterThan(0);
    expect(second.cpuPercent).toBeGreaterThanOrEqual(0);
  });

  it('a sidecar\'s snapshot carries its group, members, owned partitions, lag, claims and fenced appends', async () => {
    const registry = createRegistry('sidecar');
    const metrics = new SidecarMetrics(registry);
    Object.assign(metrics, { members: 3, ownedStreams: 2, lagRecords: 17, claims: 4, fencedAppends: 1 });
    const publisher = new MetricsPublisher({ role: 'sidecar', nodeId: 'sidecar-aapl.filter-v2-4242-a1b2c3',
      river: 'unicast', sequencer: '127.0.0.1:1', registry, intervalMs: 3_600_000 });
    cleanups.push(() => publisher.close());
    const snapshot = await publisher.build();
    expect(snapshot.sidecar).toEqual({ group: 'aapl.filter-v2', members: 3, ownedStreams: 2, lagRecords: 17,
      claimsTotal: 4, fencedAppendsTotal: 1 });
    expect(decodeSnapshot(encodeSnapshot(snapshot)).sidecar).toEqual(snapshot.sidecar);
    const commit = new MetricsPublisher({ role: 'commit', nodeId: 'commit-1', river: 'unicast',
      sequencer: '127.0.0.1:1', registry: createRegistry('commit'), intervalMs: 3_600_000 });
    cleanups.push(() => commit.close());
    expect((await commit.build()).sidecar).toBeNull();
    // An id not made by x2 sidecar is shown whole rather than guessed at.
    expect(sidecarGroupOf('sidecar-solo')).toBe('sidecar-solo');
  });

  it('a gateway\'s snapshot carries the Produce latency of its interval only, null when nothing was produced',
    async () => {
      const registry = createRegistry('gateway');
      const requests = new RequestLatency(registry);
      const publisher = new MetricsPublisher({ role: 'gateway', nodeId: 'gateway-0', river: 'unicast',
        sequencer: '127.0.0.1:1', registry, intervalMs: 3_600_000 });
      cleanups.push(() => publisher.close());
      const PRODUCE = 0;
      const FETCH = 1;
      requests.observe(PRODUCE, performance.now() - 300);
      expect((await publisher.build()).latency).toBeNull();
      // 3 Produce requests of 1.5 ms, in the bucket (1, 2] ms; a slow Fetch is not counted.
      for (let i = 0; i < 3; i++) requests.observe(PRODUCE, performance.now() - 1.5);
      requests.observe(FETCH, performance.now() - 400);
      const second = await publisher.build();
      expect(second.latency).toEqual({ what: 'Produce', count: 3, p50Ms: 1.5, p99Ms: 1.99, maxBucketMs: 2,
        meanMs: expect.closeTo(1.5, 1) });
      expect(decodeSnapshot(encodeSnapshot(second)).latency).toEqual(second.latency);
      expect((await publisher.build()).latency).toBeNull();
      const sidecar = new MetricsPublisher({ role: 'sidecar', nodeId: 'sidecar-f-1-ab', river: 'unicast',
        sequencer: '127.0.0.1:1', registry: createRegistry('sidecar'), intervalMs: 3_600_000 });
      cleanups.push(() => sidecar.close());
      await sidecar.build();
      expect((await sidecar.build()).latency).toBeNull();
    });

  it('appends snapshots to streamId 3 through the sequencer and serves the latest on /status', async () => {
    const sequencer = await startSequencer();
    const registry = createRegistry('gateway');
    const metrics = await serveMetrics(registry, 0, '127.0.0.1');
    cleanups.push(() => metrics.server.close());
    const publisher = startMetricsPublisher({ role: 'gateway', nodeId: 'gateway-7', river: 'unicast',
      sequencer: `127.0.0.1:${sequencer.port}`, registry, intervalMs: 50,
      cluster: () => ({ topics: [{ name: 'trades', partitions: [{ highWatermark: 12, sizeBytes: 900 }] }],
        topicsOmitted: 0, groups: [], groupsOmitted: 0 }) });
    cleanups.push(() => publisher.close());
    await waitFor(() => publisher.publishedTotal >= 3, { timeoutMs: 20_000, what: 'three published snapshots' });
    const response = await fetch(`http://127.0.0.1:${metrics.port}/status`);
    expect(response.status).toBe(200);
    const status = await response.json() as ReturnType<typeof decodeSnapshot>;
    expect(status).toMatchObject({ role: 'gateway', nodeId: 'gateway-7', state: 'running' });
    expect(status.topics).toEqual([expect.objectContaining({ name: 'trades', highWatermark: 12, sizeBytes: 900 })]);
    expect((await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).status).toBe(200);
  });

  it('drops snapshots, counted, when the sequencer is unreachable', async () => {
    const registry = createRegistry('sequencer');
    const publisher = new MetricsPublisher({ role: 'sequencer', nodeId: 'sequencer', river: 'unicast',
      sequencer: '127.0.0.1:1', registry, intervalMs: 3_600_000 });
    cleanups.push(() => publisher.close());
    const snapshot = await publisher.build();
    expect(publisher.publish(snapshot)).toBe(false);
    expect(publisher.publish(snapshot)).toBe(false);
    expect(publisher.droppedTotal).toBe(2);
  });
});
