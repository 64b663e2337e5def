/**
 * `x2 top` with a real sidecar group. Goal: two `x2 sidecar` processes with one --name show on
 * the screen as a group of 2 that splits the 4 input partitions 2 and 2 (nodes pane "2/4 of 2",
 * one line in the Sidecar groups pane), in an 80x24 terminal; `--json` carries the same figures;
 * when one member leaves (SIGTERM), the other takes its partitions and the screen says so
 * ("4/4 of 1", a group of 1 owning 4).
 * Method: a cluster of dist/x2 processes (sequencer, 2 commits, a gateway); kafkajs creates the
 * input topic and produces trades; the sidecars filter with --where; top runs in a detached tmux
 * session (named x2topsc-<pid>, killed in afterAll) read with capture-pane.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { runX2, X2_BINARY } from '../harness/x2.ts';
import {
  kafkaFor, produceTrades, startSidecar, stopSidecar, tradeOf, type SidecarProcess,
} from '../sidecar/sidecar-harness.ts';

const SESSION = `x2topsc-${process.pid}`;
const INPUT = 'top-trades';
const GROUP = 'top-watch';
const PARTITIONS = 4;
const TRADES = 2000;
const AAPL_TRADES = Array.from({ length: TRADES }, (_, n) => tradeOf(n)).filter((t) => t.symbol === 'AAPL').length;

type SidecarGroupJson = { group: string; members: number; membersLive: number; partitions: number;
  msgsInPerSec: number; claimsTotal: number };
type TopJson = {
  nodes: Array<{ nodeId: string; role: string; stale: boolean; sidecar: { group: string; members: number;
    ownedStreams: number; lagRecords: number } | null }>;
  sidecarGroups: SidecarGroupJson[];
  topics: Array<{ name: string; highWatermark: number }>;
};

let cluster: Cluster;
let admin: Admin;
let tmuxStarted = false;
const members: SidecarProcess[] = [];

function pane(): string {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', SESSION], { encoding: 'utf8' });
}

function member(): SidecarProcess {
  const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', INPUT, '--to', 'top-aapl',
    '--where', 'value.symbol == "AAPL"', '--name', GROUP, '--session-timeout-ms', '3000']);
  members.push(sidecar);
  return sidecar;
}

/** Waits for a screen that `check` accepts; on timeout the error shows the last screen. */
async function screenWhere(check: (screen: string) => boolean, what: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(() => {
      last = pane();
      return check(last) ? last : null;
    }, { timeoutMs: 60_000, intervalMs: 250, what });
  } catch (error) {
    throw new Error(`${(error as Error).message}; last screen:\n${last}`);
  }
}

beforeAll(async () => {
  cluster = await Cluster.start();
  await cluster.ready();
  try {
    admin = kafkaFor(cluster.brokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: INPUT, numPartitions: PARTITIONS }] });
    await produceTrades(kafkaFor(cluster.brokers), INPUT, TRADES);
  } catch (error) {
    // Seen once in a full run: kafkajs "Closed connection" on every retry. The roles' logs say why.
    for (const file of readdirSync(cluster.dataDir).filter((name) => name.endsWith('.log'))) {
      const lines = readFileSync(join(cluster.dataDir, file), 'utf8').trimEnd().split('\n');
      process.stderr.write(`--- ${file} (last 40 lines)\n${lines.slice(-40).join('\n')}\n`);
    }
    throw error;
  }
  execFileSync('tmux', ['new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24',
    `${X2_BINARY} top --bootstrap ${cluster.brokers[0]!}; echo TOP-EXIT=$?; sleep 600`]);
  tmuxStarted = true;
}, 180_000);

afterAll(async () => {
  if (tmuxStarted) spawnSync('tmux', ['kill-session', '-t', SESSION]);
  for (const sidecar of members) await stopSidecar(sidecar, 'SIGKILL');
  await admin?.disconnect();
  await cluster?.stop();
});

describe('x2 top with a sidecar group', () => {
  it('shows two members of one --name as a group of 2 splitting 4 partitions, at 80x24', async () => {
    member();
    member();
    const memberLine = /^top-w\S*\/\d+ +live .* 2\/4 of 2$/gm;
    const screen = await screenWhere((text) => (text.match(memberLine)?.length ?? 0) === 2
      && /^top-watch +2 +4 /m.test(text), 'two members owning 2/4 each and the group line "top-watch 2 4"');
    process.stderr.write(`[top sidecar group] the 80x24 screen:\n${screen}\n`);
    expect(screen).toMatch(/^node +state .* lag +owns$/m);
    expect(screen).toContain('Sidecar groups (1)');
    expect(Math.max(...screen.split('\n').map((line) => [...line].length))).toBeLessThanOrEqual(80);

    // --json once every input record is processed: both members report lag 0 and the output
    // topic holds every AAPL trade (so lag 0 means done, not "never started").
    const view = await waitFor(() => {
      const json = runX2(['top', '--bootstrap', cluster.brokers[0]!, '--json', '--wait-ms', '2500']);
      expect(json.code, json.stderr).toBe(0);
      const candidate = JSON.parse(json.stdout) as TopJson;
      const lags = candidate.nodes.filter((node) => node.sidecar !== null).map((node) => node.sidecar!.lagRecords);
      const output = candidate.topics.find((topic) => topic.name === 'top-aapl')?.highWatermark;
      return lags.length === 2 && lags.every((lag) => lag === 0) && output === AAPL_TRADES ? candidate : null;
    }, { timeoutMs: 60_000, what: `both members with lag 0 and ${AAPL_TRADES} records in top-aapl (top --json)` });
    expect(view.sidecarGroups).toEqual([expect.objectContaining({ group: GROUP, members: 2, membersLive: 2,
      partitions: PARTITIONS })]);
    const sidecars = view.nodes.filter((node) => node.role === 'sidecar');
    expect(sidecars.map((node) => node.sidecar)).toEqual([
      { group: GROUP, members: 2, ownedStreams: 2, lagRecords: 0, claimsTotal: expect.any(Number),
        fencedAppendsTotal: expect.any(Number) },
      { group: GROUP, members: 2, ownedStreams: 2, lagRecords: 0, claimsTotal: expect.any(Number),
        fencedAppendsTotal: expect.any(Number) },
    ]);
    // Every partition was claimed at least once (4 claims at the start, more if a handover came).
    expect(view.sidecarGroups[0]!.claimsTotal).toBeGreaterThanOrEqual(PARTITIONS);
    // --once prints every pane, the sidecar group's line included (120 columns on a pipe).
    const once = runX2(['top', '--bootstrap', cluster.brokers[0]!, '--once', '--wait-ms', '2500']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/^top-watch +2 +4 /m);
    expect(once.stdout).toMatch(/^top-watch\/\d+ +sidecar .* 2\/4 of 2 /m);
  });

  it('when a member leaves, the other owns all 4 and the group line says 1 member', async () => {
    expect(await stopSidecar(members[0]!)).toBe(0);
    const screen = await screenWhere((text) => /^top-w\S*\/\d+ +live .* 4\/4 of 1$/m.test(text)
      && /^top-watch +1 +4 /m.test(text), 'the remaining member owning 4/4 in a group of 1');
    expect(screen).toContain('Sidecar groups (1)');
    execFileSync('tmux', ['send-keys', '-t', SESSION, 'q']);
    await waitFor(() => pane().includes('TOP-EXIT=0'), { timeoutMs: 10_000, what: 'top to exit 0 on q' });
  });
});
