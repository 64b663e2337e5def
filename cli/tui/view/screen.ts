/**
 * The whole `x2 top` screen as styled text lines for a given width and height: a summary
 * (epoch, seqs, ingest and egress with sparklines), then the nodes, topics, groups and sidecar
 * groups panes, then a key line (or the help, or the filter being typed). Pure: the Ink app
 * (cli/tui/TopApp.tsx) only colours these lines, `x2 top --once` prints them, and the tests read
 * them.
 *
 * Layout: every pane gets a title, a header and at least one row; then the focused pane gets
 * the rows it needs, then the others; the rest stays blank below. Fits 80x24; wider screens get
 * more columns (priorities in each table), taller ones more rows. The nodes pane has an "owns"
 * column only while sidecars are on screen, so a cluster without them keeps its columns. Its
 * "p50/p99 ms" column is each node's latency over its last second, which measures something
 * else per role: the pane title says what when there is room (the help always does).
 */
import type { ClusterView, NodeRow, SidecarGroupView } from './cluster-model.ts';
import { fit, formatCount, formatMBps, formatMs, formatSeconds, formatSize, sparkline } from './format.ts';
import { fitColumns, headerLine, rowLine, type Column } from './table.ts';
import type { GroupSnapshot, Role, TopicSnapshot } from '../../../core/metrics/snapshot.ts';

export const PANES = ['nodes', 'topics', 'groups', 'sidecars'] as const;
export type Pane = typeof PANES[number];

export const SORTS: Record<Pane, readonly string[]> = {
  nodes: ['name', 'cpu', 'memory', 'in', 'lag', 'p99'],
  topics: ['name', 'rate', 'size', 'hwm'],
  groups: ['name', 'lag'],
  sidecars: ['name', 'rate', 'lag'],
};

export type LineStyle = 'title' | 'summary' | 'paneTitle' | 'paneTitleFocused' | 'header' | 'row' | 'stale' | 'warn'
  | 'keys' | 'help';
export type Line = { text: string; style: LineStyle };

export type UiState = {
  pane: Pane;
  sortIndex: Record<Pane, number>;
  filter: Record<Pane, string>;
  /** Text being typed after "/", or null when not filtering. */
  filterDraft: string | null;
  scroll: Record<Pane, number>;
  help: boolean;
};

export type Connection = { gateway: string; connected: boolean; problem: string | null; clock: string };

export function initialUi(): UiState {
  return { pane: 'nodes', sortIndex: { nodes: 0, topics: 0, groups: 0, sidecars: 0 },
    filter: { nodes: '', topics: '', groups: '', sidecars: '' }, filterDraft: null,
    scroll: { nodes: 0, topics: 0, groups: 0, sidecars: 0 }, help: false };
}

export const HELP_LINES = [
  'x2 top: the whole cluster, read from __x2_metrics through a gateway',
  '',
  '  q, Ctrl-C        quit',
  '  tab, right, left switch pane (nodes, topics, groups, sidecars)',
  '  up, down         scroll the focused pane',
  '  s                sort the focused pane by the next key',
  '  /                filter the focused pane by name (Enter keeps, Esc clears)',
  '  ?                this help (any key closes it)',
  '',
  'nodes: cpu% of one core, memory = resident set, in/out = MB/s through the node,',
  'lag = seqs behind (sequencer: not yet durable), naks/rtx = NAKs and retransmits.',
  'p50/p99 ms = latency over the node\'s last second, estimated from histogram',
  'buckets: gateway Produce requests (read to answered), commit store writes (with',
  'the flush), sequencer append→commit (frame sent to write quorum durable).',
  'A sidecar is NAME/PID; its lag is input records not yet processed; owns 2/6 of 3',
  '= it has 2 partitions, its group\'s live members 6, the group 3 members.',
  'groups: lag in records (committed offset to high watermark) and in seconds at',
  'the current produce rate ("-" when nothing is produced).',
  'sidecars: one line per --name: members, partitions, records/s, max lag, claims',
  '(partitions taken over) and fenced (appends refused after another\'s claim).',
];

const RIVER_SHORT: Record<string, string> = { multicast: 'mcast', unicast: 'ucast' };

/** What the node column shows: a sidecar's NAME/PID (its id sidecar-NAME-PID-HEX is too wide at 80 columns). */
export function nodeLabel(n: NodeRow): string {
  return n.sidecar === null ? n.nodeId : `${n.sidecar.group}/${n.pid}`;
}

/**
 * A sidecar's share: "2/6 of 3" = owns 2 of the 6 partitions its group's live members own, in a
 * group of 3 members; a stale member's share of its group is unknown ("2/- of 3").
 */
function ownsText(n: NodeRow): string {
  if (n.sidecar === null) return '';
  return `${n.sidecar.ownedStreams}/${n.stale ? '-' : n.groupPartitions} of ${n.sidecar.members}`;
}

/** "0.42/1.9": p50/p99 ms of the node's last interval; "-" when it has none. */
function latencyText(n: NodeRow): string {
  return n.latency === null ? '-' : `${formatMs(n.latency.p50Ms)}/${formatMs(n.latency.p99Ms)}`;
}

const ROLE_ORDER: readonly Role[] = ['sequencer', 'commit', 'gateway', 'sidecar'];
const ROLE_SHORT: Record<Role, string> = { sequencer: 'seq', commit: 'commit', gateway: 'gw', sidecar: 'sidecar' };

/**
 * What the latency column measures for the roles of `rows`, longest first ("sequencer
 * append→commit, commit write, gateway Produce", then with short role names); none when no row
 * has a latency.
 */
function latencyLegends(rows: readonly NodeRow[]): string[] {
  const whatOf = new Map<Role, string>();
  for (const row of rows) if (row.latency !== null && !whatOf.has(row.role)) whatOf.set(row.role, row.latency.what);
  const roles = ROLE_ORDER.filter((role) => whatOf.has(role));
  if (roles.length === 0) return [];
  return [roles.map((role) => `${role} ${whatOf.get(role)}`).join(', '),
    roles.map((role) => `${ROLE_SHORT[role]} ${whatOf.get(role)}`).join(', ')];
}

const NODE_COLUMNS: Column<NodeRow>[] = [
  { title: 'node', width: 12, align: 'left', priority: 0, value: nodeLabel,
    keepEnd: (n) => (n.sidecar === null ? 0 : String(n.pid).length + 1) },
  { title: 'role', width: 9, align: 'left', priority: 8, value: (n) => n.role },
  { title: 'host', width: 12, align: 'left', priority: 9, value: (n) => n.host },
  { title: 'state', width: 11, align: 'left', priority: 1, value: (n) => (n.stale ? 'stale' : n.state) },
  { title: 'river', width: 5, align: 'left', priority: 6, value: (n) => RIVER_SHORT[n.river] ?? n.river },
  { title: 'cpu%', width: 5, align: 'right', priority: 2, value: (n) => n.cpuPercent.toFixed(0) },
  { title: 'mem', width: 6, align: 'right', priority: 3, value: (n) => formatSize(n.rssBytes) },
  { title: 'msg/s in', width: 8, align: 'right', priority: 10, value: (n) => formatCount(n.msgsInPerSec) },
  { title: 'MB/s in', width: 7, align: 'right', priority: 4, value: (n) => formatMBps(n.bytesInPerSec) },
  { title: 'MB/s out', width: 8, align: 'right', priority: 5, value: (n) => formatMBps(n.bytesOutPerSec) },
  { title: 'lag', width: 6, align: 'right', priority: 2, value: (n) => formatCount(lagOf(n)) },
  { title: 'p50/p99 ms', width: 10, align: 'right', priority: 5, value: latencyText },
  { title: 'naks', width: 5, align: 'right', priority: 7, value: (n) => formatCount(n.naksTotal) },
  { title: 'rtx', width: 5, align: 'right', priority: 7, value: (n) => formatCount(n.retransmitsTotal) },
];

/**
 * The node columns while sidecars are on screen: "owns" after "lag", and a node column of at
 * least 15 for NAME/PID (what 80 columns give it), so narrow columns of low priority do not take
 * the room a whole label would get.
 */
const NODE_COLUMNS_WITH_OWNS: Column<NodeRow>[] = NODE_COLUMNS.flatMap((column) => {
  if (column.title === 'node') return [{ ...column, width: 15 }];
  if (column.title !== 'lag') return [column];
  return [column, { title: 'owns', width: 9, align: 'right', priority: 5, value: ownsText }];
});

const TOPIC_COLUMNS: Column<TopicSnapshot>[] = [
  { title: 'topic', width: 16, align: 'left', priority: 0, value: (t) => t.name },
  { title: 'parts', width: 5, align: 'right', priority: 4, value: (t) => String(t.partitions) },
  { title: 'msg/s', width: 7, align: 'right', priority: 1, value: (t) => formatCount(t.msgsPerSec) },
  { title: 'MB/s', width: 6, align: 'right', priority: 2, value: (t) => formatMBps(t.bytesPerSec) },
  { title: 'size', width: 7, align: 'right', priority: 3, value: (t) => formatSize(t.sizeBytes) },
  { title: 'high watermark', width: 14, align: 'right', priority: 1, value: (t) => String(t.highWatermark) },
];

const SIDECAR_COLUMNS: Column<SidecarGroupView>[] = [
  { title: 'sidecar group', width: 16, align: 'left', priority: 0, value: (g) => g.group },
  { title: 'members', width: 7, align: 'right', priority: 1,
    value: (g) => (g.membersLive === g.members ? String(g.members) : `${g.membersLive}/${g.members}`) },
  { title: 'parts', width: 5, align: 'right', priority: 1, value: (g) => String(g.partitions) },
  { title: 'msg/s in', width: 8, align: 'right', priority: 2, value: (g) => formatCount(g.msgsInPerSec) },
  { title: 'msg/s out', width: 9, align: 'right', priority: 3, value: (g) => formatCount(g.msgsOutPerSec) },
  { title: 'MB/s out', width: 8, align: 'right', priority: 6, value: (g) => formatMBps(g.bytesOutPerSec) },
  { title: 'max lag', width: 7, align: 'right', priority: 1, value: (g) => formatCount(g.lagRecordsMax) },
  { title: 'claims', width: 6, align: 'right', priority: 4, value: (g) => formatCount(g.claimsTotal) },
  { title: 'fenced', width: 6, align: 'right', priority: 4, value: (g) => formatCount(g.fencedAppendsTotal) },
];

type GroupLine = { name: string; state: string; members: string; committed: string; hwm: string; lag: string;
  lagSeconds: string };

const GROUP_COLUMNS: Column<GroupLine>[] = [
  { title: 'group / partition', width: 18, align: 'left', priority: 0, value: (g) => g.name },
  { title: 'state', width: 11, align: 'left', priority: 2, value: (g) => g.state },
  { title: 'members', width: 7, align: 'right', priority: 1, value: (g) => g.members },
  { title: 'committed', width: 10, align: 'right', priority: 5, value: (g) => g.committed },
  { title: 'hwm', width: 10, align: 'right', priority: 4, value: (g) => g.hwm },
  { title: 'lag', width: 8, align: 'right', priority: 1, value: (g) => g.lag },
  { title: 'lag s', width: 6, align: 'right', priority: 1, value: (g) => g.lagSeconds },
];

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Seqs behind for the river roles; for a sidecar, input records not yet processed (it has no seq lag). */
function lagOf(n: NodeRow): number {
  return n.sidecar === null ? n.lagSeqs : n.sidecar.lagRecords;
}

function sortedNodes(nodes: readonly NodeRow[], sort: string): NodeRow[] {
  const key: Record<string, (n: NodeRow) => number> = {
    cpu: (n) => n.cpuPercent, memory: (n) => n.rssBytes, in: (n) => n.bytesInPerSec, lag: lagOf,
    p99: (n) => n.latency?.p99Ms ?? -1,
  };
  const rank = (n: NodeRow): number => ['sequencer', 'commit', 'gateway', 'sidecar'].indexOf(n.role);
  const read = key[sort];
  return [...nodes].sort((a, b) => (read ? read(b) - read(a) : 0) || rank(a) - rank(b) || byName(a.nodeId, b.nodeId));
}

function sortedTopics(topics: readonly TopicSnapshot[], sort: string): TopicSnapshot[] {
  const key: Record<string, (t: TopicSnapshot) => number> = {
    rate: (t) => t.msgsPerSec, size: (t) => t.sizeBytes, hwm: (t) => t.highWatermark,
  };
  const read = key[sort];
  return [...topics].sort((a, b) => (read ? read(b) - read(a) : 0) || byName(a.name, b.name));
}

function sortedSidecarGroups(groups: readonly SidecarGroupView[], sort: string): SidecarGroupView[] {
  const key: Record<string, (g: SidecarGroupView) => number> = {
    rate: (g) => g.msgsInPerSec, lag: (g) => g.lagRecordsMax,
  };
  const read = key[sort];
  return [...groups].sort((a, b) => (read ? read(b) - read(a) : 0) || byName(a.group, b.group));
}

function groupLines(groups: readonly GroupSnapshot[], sort: string): GroupLine[] {
  const ordered = [...groups].sort((a, b) => (sort === 'lag' ? b.lagRecords - a.lagRecords : 0)
    || byName(a.groupId, b.groupId));
  const lines: GroupLine[] = [];
  for (const group of ordered) {
    let worstSeconds = 0;
    for (const partition of group.partitions) {
      if (partition.lagSeconds < 0 && partition.lagRecords > 0) worstSeconds = -1;
      else if (worstSeconds >= 0) worstSeconds = Math.max(worstSeconds, partition.lagSeconds);
    }
    lines.push({ name: group.groupId, state: group.state, members: String(group.members), committed: '', hwm: '',
      lag: String(group.lagRecords), lagSeconds: formatSeconds(worstSeconds) });
    for (const partition of group.partitions) {
      lines.push({ name: `  ${partition.topic}/${partition.partition}`, state: '', members: '',
        committed: String(partition.committedOffset), hwm: String(partition.highWatermark),
        lag: String(partition.lagRecords), lagSeconds: formatSeconds(partition.lagSeconds) });
    }
    if (group.partitionsOmitted > 0) {
      lines.push({ name: `  … ${group.partitionsOmitted} more partitions`, state: '', members: '', committed: '',
        hwm: '', lag: '', lagSeconds: '' });
    }
  }
  return lines;
}

/** `legends`: what the title may add after " · ", the first that fits (longest first). */
type PaneBody = { title: string; header: string; rows: Array<{ text: string; stale: boolean }>; legends: string[] };

function paneBody(pane: Pane, view: ClusterView, ui: UiState, width: number): PaneBody {
  const sort = SORTS[pane][ui.sortIndex[pane] % SORTS[pane].length] ?? 'name';
  const filter = ui.filter[pane].toLowerCase();
  const keep = (name: string): boolean => filter === '' || name.toLowerCase().includes(filter);
  const suffix = `sort ${sort}${filter === '' ? '' : `, filter "${ui.filter[pane]}"`}`;
  if (pane === 'nodes') {
    const withSidecars = view.nodes.some((n) => n.sidecar !== null);
    const columns = fitColumns(withSidecars ? NODE_COLUMNS_WITH_OWNS : NODE_COLUMNS, width);
    const rows = sortedNodes(view.nodes, sort).filter((n) => keep(n.nodeId) || keep(nodeLabel(n)));
    const legends = columns.some((column) => column.value === latencyText) ? latencyLegends(rows) : [];
    return { title: `Nodes (${rows.length}) · ${suffix}`, header: headerLine(columns),
      rows: rows.map((n) => ({ text: rowLine(columns, n), stale: n.stale })), legends };
  }
  if (pane === 'topics') {
    const columns = fitColumns(TOPIC_COLUMNS, width);
    const rows = sortedTopics(view.topics, sort).filter((t) => keep(t.name));
    return { title: `Topics (${rows.length}) · ${suffix}`, header: headerLine(columns),
      rows: rows.map((t) => ({ text: rowLine(columns, t), stale: false })), legends: [] };
  }
  if (pane === 'sidecars') {
    const columns = fitColumns(SIDECAR_COLUMNS, width);
    const rows = sortedSidecarGroups(view.sidecarGroups, sort).filter((g) => keep(g.group));
    return { title: `Sidecar groups (${rows.length}) · ${suffix}`, header: headerLine(columns),
      rows: rows.map((g) => ({ text: rowLine(columns, g), stale: g.membersLive === 0 })), legends: [] };
  }
  const columns = fitColumns(GROUP_COLUMNS, width);
  const groups = view.groups.filter((g) => keep(g.groupId));
  return { title: `Groups (${groups.length}) · ${suffix}`, header: headerLine(columns),
    rows: groupLines(groups, sort).map((g) => ({ text: rowLine(columns, g), stale: false })), legends: [] };
}

function summaryLines(view: ClusterView, connection: Connection, width: number): Line[] {
  const s = view.summary;
  const where = connection.connected ? `via ${connection.gateway}` : `reconnecting to ${connection.gateway}`;
  const title = `x2 top  ${where}  epoch ${s.epoch}  seq ${s.seq}  committed ${s.committedSeq}  ` +
    `nodes ${s.nodeCount}${s.staleCount > 0 ? ` (${s.staleCount} stale)` : ''}`;
  const clocked = title.length + connection.clock.length + 2 <= width
    ? `${title.padEnd(width - connection.clock.length)}${connection.clock}` : title;
  const flow = (label: string, msgs: number, bytes: number, msgsHistory: number[], bytesHistory: number[]): string => {
    const figures = `${label} ${formatCount(msgs).padStart(5)} msg/s ${formatMBps(bytes).padStart(5)} MB/s`;
    const room = Math.max(0, Math.floor((width - 2 * figures.length - 6) / 2));
    const spark = Math.min(room, 30);
    return `${figures} ${sparkline(msgsHistory.length > 0 ? msgsHistory : bytesHistory, spark)}`;
  };
  const ingest = flow('ingest', s.ingestMsgsPerSec, s.ingestBytesPerSec, view.history.ingestMsgs,
    view.history.ingestBytes);
  const egress = flow('egress', s.egressMsgsPerSec, s.egressBytesPerSec, view.history.egressMsgs,
    view.history.egressBytes);
  const lines: Line[] = [{ text: fit(clocked, width), style: 'title' }];
  if (ingest.length + 2 + egress.length <= width) {
    lines.push({ text: fit(`${ingest}  ${egress}`, width), style: 'summary' });
  } else {
    lines.push({ text: fit(ingest, width), style: 'summary' });
    lines.push({ text: fit(egress, width), style: 'summary' });
  }
  if (!connection.connected && connection.problem !== null) {
    const text = `cluster unreachable: ${connection.problem}; retrying every second`;
    lines.push({ text: fit(text, width), style: 'warn' });
  }
  return lines;
}

/** The screen at `width` x `height` (both at least 20 x 10 are assumed; smaller still renders, cut). */
export function renderScreen(view: ClusterView, ui: UiState, connection: Connection, width: number,
  height: number): Line[] {
  const top = summaryLines(view, connection, width);
  const keys = ui.filterDraft !== null
    ? `filter ${ui.pane}: ${ui.filterDraft}▏  (Enter keeps, Esc clears)`
    : 'q quit  tab/←→ pane  ↑↓ scroll  s sort  / filter  ? help';
  const bottom: Line = { text: fit(keys, width), style: 'keys' };
  const room = Math.max(0, height - top.length - 1);
  if (ui.help) {
    const help = HELP_LINES.slice(0, room).map((text): Line => ({ text: fit(text, width), style: 'help' }));
    const filler = Array.from({ length: room - help.length }, (): Line => ({ text: ' '.repeat(width), style: 'row' }));
    return [...top, ...help, ...filler, { text: fit('any key closes the help', width), style: 'keys' }];
  }
  const bodies = PANES.map((pane) => ({ pane, body: paneBody(pane, view, ui, width) }));
  // Rows per pane: 1 at least, then the focused pane what it needs, then the others in order;
  // what is left stays blank below the panes.
  let left = Math.max(0, room - 2 * PANES.length - PANES.length);
  const given = new Map<Pane, number>(PANES.map((pane) => [pane, 1]));
  const ordered = [...bodies].sort((a, b) => Number(b.pane === ui.pane) - Number(a.pane === ui.pane));
  for (const { pane, body } of ordered) {
    const extra = Math.min(left, Math.max(0, body.rows.length - 1));
    given.set(pane, 1 + extra);
    left -= extra;
  }
  const lines: Line[] = [...top];
  for (const { pane, body } of bodies) {
    const rows = given.get(pane) ?? 1;
    const focused = pane === ui.pane;
    const scroll = focused ? Math.min(ui.scroll[pane], Math.max(0, body.rows.length - rows)) : 0;
    const shown = body.rows.slice(scroll, scroll + rows);
    const hidden = body.rows.length - scroll - shown.length;
    const more = hidden > 0 || scroll > 0 ? ` · ${scroll > 0 ? `${scroll} above, ` : ''}${hidden} below` : '';
    const title = `${focused ? '▸ ' : '  '}${body.title}${more}`;
    const legend = body.legends.find((text) => title.length + 3 + text.length <= width);
    lines.push({ text: fit(legend === undefined ? title : `${title} · ${legend}`, width),
      style: focused ? 'paneTitleFocused' : 'paneTitle' });
    lines.push({ text: fit(body.header, width), style: 'header' });
    for (const row of shown) lines.push({ text: fit(row.text, width), style: row.stale ? 'stale' : 'row' });
    for (let i = shown.length; i < rows; i++) {
      lines.push({ text: fit(i === 0 && body.rows.length === 0 ? '  (none yet)' : '', width), style: 'row' });
    }
  }
  while (lines.length < height - 1) lines.push({ text: ' '.repeat(width), style: 'row' });
  return [...lines.slice(0, Math.max(0, height - 1)), bottom];
}
