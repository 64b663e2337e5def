/**
 * The Ink app of `x2 top`. Goal: given snapshots it draws the frames the pure view promises at
 * 80 and 120 columns (with and without a sidecar group), reacts to keys, says plainly when the
 * cluster is unreachable and recovers, and quits on q. Method: ink-testing-library renders the
 * app with a fake snapshot source (no cluster); keys are written to its stdin and frames read
 * with lastFrame().
 */
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { X2Error } from '../../core/base/errors.ts';
import type { NodeSnapshot } from '../../core/metrics/snapshot.ts';
import type { FeedState } from '../../core/metrics/snapshot-feed.ts';
import { waitFor } from '../../test/harness/wait-for.ts';
import { SAMPLE_AT_MS, sampleCluster, sampleSidecars } from '../../test/top/sample-cluster.ts';
import { TopApp, type SnapshotSource } from './TopApp.tsx';

/** Answers each poll from a script: snapshots, or an error (the cluster is down). */
class ScriptedSource implements SnapshotSource {
  readonly script: Array<NodeSnapshot[] | Error>;
  state: FeedState = { connected: false, gateway: '127.0.0.1:9092', problem: null };
  closed = false;

  constructor(script: Array<NodeSnapshot[] | Error>) {
    this.script = script;
  }

  async poll(maxWaitMs: number): Promise<NodeSnapshot[]> {
    const next = this.script.shift();
    if (next instanceof Error) {
      this.state = { ...this.state, connected: false, problem: next.message };
      throw next;
    }
    if (next === undefined) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, 20)));
      return [];
    }
    this.state = { ...this.state, connected: true, problem: null };
    return next;
  }

  close(): void { this.closed = true; }
}

const unmounts: Array<() => void> = [];
afterEach(() => { for (const unmount of unmounts.splice(0)) unmount(); });

/** The app on a fake terminal of `columns` (ink-testing-library's is 100 wide: widened by a resize). */
function start(source: SnapshotSource, columns: number, rows: number) {
  const app = render(createElement(TopApp, { source, columns, rows, pollWaitMs: 20, retryMs: 20,
    clock: () => SAMPLE_AT_MS + 500 }));
  Object.defineProperty(app.stdout, 'columns', { value: columns, configurable: true });
  app.stdout.emit('resize');
  unmounts.push(() => app.unmount());
  return app;
}

async function frameWith(app: ReturnType<typeof start>, text: string): Promise<string> {
  return waitFor(() => {
    const frame = app.lastFrame() ?? '';
    return frame.includes(text) ? frame : null;
  }, { timeoutMs: 10_000, what: `a frame with "${text}"` });
}

describe('x2 top app', () => {
  it('draws the sample cluster at 80x24', async () => {
    const app = start(new ScriptedSource([sampleCluster()]), 80, 24);
    const frame = await frameWith(app, 'commit-2');
    const lines = frame.split('\n');
    expect(lines).toHaveLength(24);
    expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^x2 top {2}via 127\.0\.0\.1:9092 {2}epoch 3 {2}seq 98765 {2}committed 98760/);
    expect(frame).toMatch(/ingest +262k msg\/s +26\.2 MB\/s/);
    expect(frame).toContain('▸ Nodes (5)');
    expect(frame).toMatch(/sequencer +running +mcast +42 +180M .* 0\.42\/1\.9$/m);
    expect(frame).toContain('sequencer append→commit, commit write, gateway Produce');
  });

  it('draws more columns at 120x40 and switches panes, sorts and filters with keys', async () => {
    const app = start(new ScriptedSource([sampleCluster()]), 120, 40);
    let frame = await frameWith(app, 'quotes.nasdaq');
    expect(frame).toMatch(/node +role +host +state/);
    expect(Math.max(...frame.split('\n').map((line) => [...line].length))).toBe(120);
    expect(frame).toMatch(/billing +Stable +3 +1000/);
    app.stdin.write('\t');
    frame = await frameWith(app, '▸ Topics (3) · sort name');
    app.stdin.write('s');
    frame = await frameWith(app, '▸ Topics (3) · sort rate');
    app.stdin.write('/');
    app.stdin.write('aud');
    app.stdin.write('\r');
    frame = await frameWith(app, '▸ Topics (1) · sort rate, filter "aud"');
    expect(frame).not.toMatch(/^quotes\.nasdaq/m);
    app.stdin.write('?');
    await frameWith(app, 'any key closes the help');
  });

  it('shows a sidecar group at 80x24: members with their share, the group line, tab to its pane', async () => {
    const app = start(new ScriptedSource([[...sampleCluster(), ...sampleSidecars()]]), 80, 24);
    let frame = await frameWith(app, 'aapl-filt…/4242');
    const lines = frame.split('\n');
    expect(lines).toHaveLength(24);
    expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(80);
    expect(frame).toMatch(/^aapl-filt…\/4343 +live .* 40 +1\/3 of 2$/m);
    expect(frame).toMatch(/^aapl-filter +2 +3 +12k +1\.2k +0\.1 +150 +4 +1$/m);
    for (let tab = 0; tab < 3; tab++) app.stdin.write('\t');
    frame = await frameWith(app, '▸ Sidecar groups (2) · sort name');
    expect(frame).toMatch(/^audit-copy +0\/1 +0 /m);
  });

  it('says plainly when the cluster is unreachable, then recovers', async () => {
    const source = new ScriptedSource([new X2Error('X2_ERR_IO', '127.0.0.1:9092: connect ECONNREFUSED'),
      new X2Error('X2_ERR_IO', '127.0.0.1:9092: connect ECONNREFUSED'), sampleCluster()]);
    const app = start(source, 80, 24);
    await frameWith(app, 'cluster unreachable: 127.0.0.1:9092: connect ECONNREFUSED; retrying every second');
    const frame = await frameWith(app, 'commit-1');
    expect(frame).not.toContain('cluster unreachable');
  });

  it('quits on q and closes its source', async () => {
    const source = new ScriptedSource([sampleCluster()]);
    const app = start(source, 80, 24);
    await frameWith(app, 'commit-1');
    app.stdin.write('q');
    await waitFor(() => source.closed, { what: 'the source closed after q' });
  });
});
