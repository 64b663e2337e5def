/**
 * The pure view of `x2 top`. Goal: for given snapshots the screen shows the right figures, fits
 * exactly 80x24 and 120x40, and the model merges nodes, topics, groups and sidecar groups as
 * documented. Method: a fixed sample cluster and sidecar group (test/top/sample-cluster.ts)
 * rendered without Ink; lines are compared by content and by width.
 */
import { describe, expect, it } from 'vitest';
import { SAMPLE_AT_MS, sampleCluster, sampleSidecars } from '../../../test/top/sample-cluster.ts';
import { addSnapshots, clusterView, emptyModel, HISTORY_POINTS_MAX, STALE_AFTER_MS } from './cluster-model.ts';
import { fit, formatCount, formatMBps, formatMs, formatSeconds, formatSize, sparkline } from './format.ts';
import { HELP_LINES, initialUi, renderScreen, type Connection, type UiState } from './screen.ts';
import { fitColumns, type Column } from './table.ts';

const connection: Connection = { gateway: '127.0.0.1:9092', connected: true, problem: null, clock: '12:00:00' };

function viewOf(snapshots = sampleCluster(), nowMs = SAMPLE_AT_MS + 500) {
  return clusterView(addSnapshots(emptyModel(), snapshots, nowMs), nowMs);
}

function screen(width: number, height: number, ui: UiState = initialUi(), view = viewOf()): string[] {
  const lines = renderScreen(view, ui, connection, width, height);
  expect(lines).toHaveLength(height);
  for (const line of lines) expect([...line.text]).toHaveLength(width);
  return lines.map((line) => line.text);
}

describe('format', () => {
  it('shortens counts, sizes, rates and seconds', () => {
    expect([formatCount(950), formatCount(12_345), formatCount(4_500_000), formatCount(-1)])
      .toEqual(['950', '12k', '4.5M', '-']);
    expect([formatSize(512), formatSize(150 * 1024 * 1024), formatSize(2 * 1024 ** 3)])
      .toEqual(['512B', '150M', '2.0G']);
    expect([formatMBps(26_234_500), formatMBps(123_000_000)]).toEqual(['26.2', '123']);
    expect([formatSeconds(0.25), formatSeconds(45), formatSeconds(600), formatSeconds(-1)])
      .toEqual(['0.3s', '45s', '10m', '-']);
    expect([formatMs(0.183), formatMs(3.14), formatMs(12.4), formatMs(5000), formatMs(12_500), formatMs(-1)])
      .toEqual(['0.18', '3.1', '12', '5000', '13s', '-']);
  });

  it('draws sparklines scaled to their maximum, and fits text with an ellipsis', () => {
    expect(sparkline([0, 1, 2, 4], 4)).toBe('▁▃▅█');
    expect(sparkline([0, 0], 4)).toBe('  ▁▁');
    expect(fit('quotes.nasdaq', 6)).toBe('quote…');
    expect(fit('7', 3, 'right')).toBe('  7');
    expect(fit('aapl-filter/4242', 15, 'left', 5)).toBe('aapl-filt…/4242');
    expect(fit('aapl-filter/4242', 7, 'left', 5)).toBe('aapl-f…');
  });

  it('keeps columns by priority and gives the first column the rest of the width', () => {
    const columns: Column<string>[] = [
      { title: 'name', width: 4, align: 'left', priority: 0, value: (row) => row },
      { title: 'b', width: 10, align: 'right', priority: 2, value: () => 'b' },
      { title: 'a', width: 10, align: 'right', priority: 1, value: () => 'a' },
    ];
    expect(fitColumns(columns, 20).map((column) => [column.title, column.width])).toEqual([['name', 9], ['a', 10]]);
    expect(fitColumns(columns, 30).map((column) => column.title)).toEqual(['name', 'b', 'a']);
  });
});

describe('cluster model', () => {
  it('takes the summary from the sequencer and the freshest gateway, and merges groups', () => {
    const view = viewOf();
    expect(view.summary).toMatchObject({ epoch: 3, seq: 98_765, committedSeq: 98_760, nodeCount: 5, staleCount: 0,
      ingestMsgsPerSec: 262_345, egressBytesPerSec: 20_000_000 });
    expect(view.topics.map((topic) => topic.name)).toEqual(['trades', 'quotes.nasdaq', 'audit']);
    // gateway-1 coordinates billing (it sees the members); gateway-0 holds the freshest offsets.
    expect(view.groups).toEqual([expect.objectContaining({ groupId: 'billing', state: 'Stable', members: 3,
      lagRecords: 1000 })]);
  });

  it('marks silent nodes stale, never lets an older snapshot replace a newer one, bounds history', () => {
    const snapshots = sampleCluster();
    let model = addSnapshots(emptyModel(), snapshots, SAMPLE_AT_MS);
    const older = { ...snapshots[0]!, atMs: SAMPLE_AT_MS - 1000, lastSeq: 1 };
    model = addSnapshots(model, [older], SAMPLE_AT_MS);
    expect(clusterView(model, SAMPLE_AT_MS).summary.seq).toBe(98_765);
    const later = clusterView(model, SAMPLE_AT_MS + STALE_AFTER_MS + 1);
    expect(later.summary.staleCount).toBe(5);
    for (let second = 1; second <= HISTORY_POINTS_MAX + 10; second++) {
      model = addSnapshots(model, sampleCluster(SAMPLE_AT_MS + second * 1000), SAMPLE_AT_MS + second * 1000);
    }
    expect(model.history.ingestMsgs).toHaveLength(HISTORY_POINTS_MAX);
  });
});

describe('sidecar groups', () => {
  it('sums a group over its live members and keeps a stale member\'s group by name only', () => {
    const view = viewOf([...sampleCluster(), ...sampleSidecars()]);
    expect(view.sidecarGroups).toEqual([
      { group: 'aapl-filter', members: 2, membersLive: 2, partitions: 3, msgsInPerSec: 12_000, msgsOutPerSec: 1200,
        bytesOutPerSec: 135_000, lagRecordsMax: 150, claimsTotal: 4, fencedAppendsTotal: 1 },
      { group: 'audit-copy', members: 1, membersLive: 0, partitions: 0, msgsInPerSec: 0, msgsOutPerSec: 0,
        bytesOutPerSec: 0, lagRecordsMax: 0, claimsTotal: 0, fencedAppendsTotal: 0 },
    ]);
    const member = view.nodes.find((node) => node.nodeId === 'sidecar-aapl-filter-4343-d4e5f6');
    expect(member).toMatchObject({ groupPartitions: 3, stale: false, sidecar: { ownedStreams: 1 } });
    expect(view.nodes.find((node) => node.role === 'gateway')).toMatchObject({ sidecar: null, groupPartitions: 0 });
  });

  it('80x24: members as NAME/PID with their share, and one line per group', () => {
    const lines = screen(80, 24, initialUi(), viewOf([...sampleCluster(), ...sampleSidecars()]));
    expect(lines.find((line) => line.startsWith('node'))).toMatch(/ +lag +owns$/);
    expect(lines.find((line) => line.startsWith('aapl-filt…/4242'))).toMatch(/live +ucast +12 .* 150 +2\/3 of 2$/);
    expect(lines.find((line) => line.startsWith('aapl-filt…/4343'))).toMatch(/ 40 +1\/3 of 2$/);
    expect(lines.find((line) => line.startsWith('audit-copy/77'))).toMatch(/stale .* 9 +1\/- of 1$/);
    // Nodes without sidecars keep their figures; the owns cell stays blank.
    expect(lines.find((line) => line.startsWith('sequencer'))).toMatch(/running +mcast +42 +180M +26\.0 +26\.5 +5 *$/);
    expect(lines).toContain(`  Sidecar groups (2) · sort name · 1 below${' '.repeat(38)}`);
    expect(lines.find((line) => line.startsWith('sidecar group')))
      .toMatch(/^sidecar group +members +parts +msg\/s in +msg\/s out +MB\/s out +max lag +claims +fenced$/);
    expect(lines.find((line) => line.startsWith('aapl-filter ')))
      .toMatch(/^aapl-filter +2 +3 +12k +1\.2k +0\.1 +150 +4 +1$/);
  });

  it('120x40: the whole node label and its role, and a group with no live member as 0/1; 140: every column', () => {
    const lines = screen(120, 40, initialUi(), viewOf([...sampleCluster(), ...sampleSidecars()]));
    expect(lines.find((line) => line.startsWith('node')))
      .toMatch(/node +role +state +river +cpu% +mem +MB\/s in +MB\/s out +lag +owns +p50\/p99 ms +naks +rtx$/);
    expect(lines.find((line) => line.startsWith('aapl-filter/4242 ')))
      .toMatch(/sidecar +live .* 2\/3 of 2 +- +0 +0$/);
    const wide = screen(140, 40, initialUi(), viewOf([...sampleCluster(), ...sampleSidecars()]));
    expect(wide.find((line) => line.startsWith('node'))).toMatch(
      /node +role +host +state +river +cpu% +mem +msg\/s in +MB\/s in +MB\/s out +lag +owns +p50\/p99 ms +naks +rtx$/);
    expect(wide.find((line) => line.startsWith('aapl-filter/4242 '))).toMatch(/sidecar +node-b +live /);
    expect(lines.find((line) => line.startsWith('audit-copy '))).toMatch(/^audit-copy +0\/1 +0 /);
  });

  it('without sidecars the nodes pane has no owns column; the sidecars pane sorts and filters', () => {
    expect(screen(120, 40).find((line) => line.startsWith('node'))).not.toContain('owns');
    const view = viewOf([...sampleCluster(), ...sampleSidecars()]);
    const ui: UiState = { ...initialUi(), pane: 'sidecars', sortIndex: { ...initialUi().sortIndex, sidecars: 2 } };
    const sorted = screen(100, 30, ui, view);
    expect(sorted.join('\n')).toContain('▸ Sidecar groups (2) · sort lag');
    const filtered = screen(100, 30, { ...ui, filter: { ...ui.filter, sidecars: 'audit' } }, view).join('\n');
    expect(filtered).toContain('▸ Sidecar groups (1) · sort lag, filter "audit"');
    expect(filtered).not.toMatch(/^aapl-filter /m);
    // The node filter matches the shown NAME/PID as well as the node id.
    const nodes = screen(100, 30, { ...initialUi(), filter: { ...initialUi().filter, nodes: 'filter/4343' } }, view);
    expect(nodes.join('\n')).toContain('▸ Nodes (1)');
  });
});

describe('latency column', () => {
  it('shows each node\'s p50/p99 ms, "-" without a figure, and says per role what it measures', () => {
    const lines = screen(80, 24);
    expect(lines[2]).toBe('▸ Nodes (5) · sort name · sequencer append→commit, commit write, gateway Produce');
    const cells = ['sequencer', 'commit-1', 'commit-2', 'gateway-0', 'gateway-1']
      .map((node) => lines.find((line) => line.startsWith(`${node} `))?.slice(-10));
    expect(cells).toEqual(['  0.42/1.9', ' 0.18/0.93', '    1.3/12', '  0.90/3.4', '         -']);
    // Less room: the short legend after what the title must say, or none rather than a cut one.
    expect(screen(76, 24)[2])
      .toBe('▸ Nodes (5) · sort name · seq append→commit, commit write, gw Produce'.padEnd(76));
    expect(screen(80, 16)[2])
      .toBe('▸ Nodes (5) · sort name · 3 below · seq append→commit, commit write, gw Produce'.padEnd(80));
    expect(screen(78, 16)[2]).toBe('▸ Nodes (5) · sort name · 3 below'.padEnd(78));
  });

  it('without latency figures (an older x2, or nothing observed) shows "-" and no legend', () => {
    const lines = screen(80, 24, initialUi(), viewOf(sampleCluster().map((node) => ({ ...node, latency: null }))));
    expect(lines[2]).toBe('▸ Nodes (5) · sort name'.padEnd(80));
    expect(lines.find((line) => line.startsWith('node'))).toMatch(/ +lag +p50\/p99 ms$/);
    expect(lines.filter((line) => / +-$/.test(line) && /^(sequencer|commit|gateway)/.test(line))).toHaveLength(5);
  });

  it('sorts nodes by p99, slowest first', () => {
    const ui: UiState = { ...initialUi(), sortIndex: { ...initialUi().sortIndex, nodes: 5 } };
    const order = screen(100, 30, ui).filter((line) => /^(sequencer|commit|gateway)/.test(line))
      .map((line) => line.split(' ')[0]);
    expect(order).toEqual(['commit-2', 'gateway-0', 'sequencer', 'commit-1', 'gateway-1']);
  });
});

describe('screen', () => {
  it('fits 80x24 with the summary, every node and the topics and groups panes', () => {
    const lines = screen(80, 24);
    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^x2 top {2}via 127\.0\.0\.1:9092 {2}epoch 3 {2}seq 98765 {2}committed 98760 {2}nodes 5/);
    expect(text).toMatch(/ingest +262k msg\/s +26\.2 MB\/s/);
    expect(text).toMatch(/egress +200k msg\/s +20\.0 MB\/s/);
    expect(text).toContain('▸ Nodes (5) · sort name');
    // The latency column takes the room of naks and rtx, which come back from 100 columns.
    expect(lines.find((line) => line.startsWith('node'))).toMatch(/ +lag +p50\/p99 ms$/);
    expect(lines.find((line) => line.startsWith('sequencer')))
      .toMatch(/running +mcast +42 +180M +26\.0 +26\.5 +5 +0\.42\/1\.9$/);
    expect(lines.find((line) => line.startsWith('commit-2'))).toMatch(/catching-up .* 8\.8k/);
    expect(text).toContain('Topics (3)');
    expect(text).toContain('Groups (1)');
    expect(lines[23]).toMatch(/^q quit {2}tab\/←→ pane/);
  });

  it('uses the room of 120x40: more columns (role, host) and every topic and group partition', () => {
    const lines = screen(120, 40);
    const header = lines.find((line) => line.startsWith('node'));
    // msg/s in (the least kept) makes room for the latency column.
    expect(header)
      .toMatch(/node +role +host +state +river +cpu% +mem +MB\/s in +MB\/s out +lag +p50\/p99 ms +naks +rtx$/);
    expect(lines.find((line) => line.startsWith('quotes.nasdaq'))).toMatch(/8 +250k +25\.0 +2\.0G +9000000$/);
    expect(lines.find((line) => line.startsWith('billing'))).toMatch(/Stable +3 +1000 +0\.3s$/);
    expect(lines.find((line) => line.startsWith('  trades/0'))).toMatch(/499000 +500000 +1000 +0\.3s$/);
  });

  it('sorts and filters the focused pane, shows the help and the unreachable cluster', () => {
    const ui: UiState = { ...initialUi(), pane: 'topics', sortIndex: { ...initialUi().sortIndex, topics: 1 } };
    const sorted = screen(100, 30, ui).filter((line) => /^(trades|quotes|audit)/.test(line))
      .map((line) => line.split(' ')[0]);
    expect(sorted).toEqual(['quotes.nasdaq', 'trades', 'audit']);
    const filtered = screen(100, 30, { ...ui, filter: { ...ui.filter, topics: 'tra' } }).join('\n');
    expect(filtered).toContain('▸ Topics (1) · sort rate, filter "tra"');
    expect(filtered).not.toContain('quotes.nasdaq');
    const help = screen(80, 24, { ...initialUi(), help: true }).join('\n');
    expect(help).toContain('s                sort the focused pane');
    expect(help).toContain('owns 2/6 of 3');
    for (const line of HELP_LINES) expect(line.length, line).toBeLessThanOrEqual(80);
    const down = renderScreen(viewOf([]), initialUi(), { ...connection, connected: false,
      problem: '127.0.0.1:9092: connect ECONNREFUSED' }, 80, 24).map((line) => line.text).join('\n');
    expect(down).toContain('reconnecting to 127.0.0.1:9092');
    expect(down).toContain('cluster unreachable: 127.0.0.1:9092: connect ECONNREFUSED; retrying every second');
    expect(down).toContain('(none yet)');
  });
});
