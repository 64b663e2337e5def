/**
 * Goal: `x2 sequencer`, `x2 commit` and `x2 bench river` refuse bad flags and X2_* variables
 * (X2_RIVER_DRIVER too) with exit 2 and a message naming the flag, the value and what is allowed, and a running
 * sequencer serves the river metrics (and the standard process and Node ones) on /metrics.
 * Method: run dist/x2 with each bad value; start a sequencer and a commit and scrape their /metrics.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, runX2 } from '../harness/x2.ts';
import { startRole, stopRole, type Role } from './cluster.ts';

const roles: Role[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(roles.map((role) => stopRole(role, 'SIGKILL')));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; flag: string; value: string }> = [
  { args: ['sequencer', '--replication', 'x'], flag: '--replication', value: 'x' },
  { args: ['sequencer', '--replication', '2', '--write-quorum', '3'], flag: '--write-quorum', value: '3' },
  { args: ['sequencer', '--river', 'carrier-pigeon'], flag: '--river', value: 'carrier-pigeon' },
  { args: ['sequencer', '--group', '10.0.0.1:7401'], flag: '--group', value: '10.0.0.1:7401' },
  { args: ['sequencer', '--interface', 'eth0'], flag: '--interface', value: 'eth0' },
  { args: ['sequencer', '--listen', 'nowhere'], flag: '--listen', value: 'nowhere' },
  { args: ['sequencer', '--ring-bytes', '10KiB'], flag: '--ring-bytes', value: '10KiB' },
  { args: ['sequencer'], env: { X2_RIVER: 'smoke' }, flag: '--river', value: 'smoke' },
  { args: ['sequencer', '--listen', '127.0.0.1:0', '--river', 'multicast', '--interface', '127.0.0.1',
    '--metrics-port', '0'], env: { X2_RIVER_DRIVER: 'fast' }, flag: 'X2_RIVER_DRIVER', value: 'fast' },
  { args: ['commit', '--data', '/tmp', '--sync', 'sometimes'], flag: '--sync', value: 'sometimes' },
  { args: ['commit', '--data', '/tmp', '--loss', '1.5'], flag: '--loss', value: '1.5' },
  { args: ['commit', '--data', '/tmp', '--page-cache-keep', 'most'], flag: '--page-cache-keep', value: 'most' },
  { args: ['commit', '--data', '/tmp', '--sequencer', 'no-port'], flag: '--sequencer', value: 'no-port' },
  { args: ['bench', 'river', '--receivers', '0'], flag: '--receivers', value: '0' },
  { args: ['bench', 'river', '--river', 'smoke'], flag: '--river', value: 'smoke' },
];

describe('river CLI', () => {
  for (const { args, env, flag, value } of cases) {
    it(`x2 ${args.join(' ')}${env ? ` with ${JSON.stringify(env)}` : ''} exits 2 naming ${flag}`, () => {
      const result = runX2(args, { env, timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).toContain(value);
    });
  }

  it('x2 commit without --data exits 2 naming it', () => {
    const result = runX2(['commit'], { timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--data');
  });

  it('X2_RIVER_DRIVER=mmsg without the native addon: x2 commit exits 2 naming the variable and why', () => {
    const dir = makeTempDir('x2-river-cli-');
    dirs.push(dir);
    const result = runX2(['commit', '--sequencer', '127.0.0.1:9', '--data', join(dir, 'c'), '--river', 'multicast',
      '--interface', '127.0.0.1', '--metrics-port', '0'],
    { env: { X2_NATIVE: '0', X2_RIVER_DRIVER: 'mmsg' }, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('X2_RIVER_DRIVER');
    expect(result.stderr).toContain('"mmsg"');
    expect(result.stderr).toContain('X2_NATIVE=0');
  });

  it('a sequencer and a commit serve the river metrics on /metrics', async () => {
    const dir = makeTempDir('x2-river-cli-');
    dirs.push(dir);
    const sequencer = await startRole('sequencer', ['sequencer', '--listen', '127.0.0.1:0', '--river', 'unicast']);
    roles.push(sequencer);
    const commit = await startRole('c1', ['commit', '--sequencer', `127.0.0.1:${sequencer.listenPort}`,
      '--data', join(dir, 'c1'), '--river', 'unicast']);
    roles.push(commit);
    const text = async (role: Role): Promise<string> =>
      (await fetch(`http://127.0.0.1:${role.metricsPort}/metrics`)).text();
    const sequencerText = await text(sequencer);
    for (const name of ['x2_river_frames_sent_total', 'x2_river_bytes_sent_total', 'x2_river_naks_received_total',
      'x2_river_naks_deferred_total', 'x2_river_link_backlog_bytes_max',
      'x2_river_retransmits_total', 'x2_river_repairs_ordered_total', 'x2_river_committed_seq',
      'x2_river_commit_lag_entries', 'x2_river_commit_durable_seq', 'x2_river_append_to_commit_seconds_bucket',
      'x2_river_driver{driver="tcp"']) {
      expect(sequencerText, name).toContain(name);
    }
    const commitText = await text(commit);
    for (const name of ['x2_river_frames_received_total', 'x2_river_bytes_received_total', 'x2_river_naks_sent_total',
      'x2_river_retransmits_received_total', 'x2_river_repaired_entries_total', 'x2_commit_durable_seq',
      'x2_river_driver{driver="tcp"', 'x2_store_fsyncs_total', 'x2_store_bytes_written_total',
      'x2_store_inline_writes_total', 'x2_store_page_cache_dropped_bytes_total', 'x2_store_write_seconds_bucket',
      'x2_store_fdatasync_seconds_bucket']) {
      expect(commitText, name).toContain(name);
    }
    // The standard process and Node metrics, labelled with the role (the man pages name them).
    for (const [role, body] of [['sequencer', sequencerText], ['commit', commitText]] as const) {
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds']) {
        expect(body, `${role} ${name}`).toMatch(new RegExp(`^${name}\\{role="${role}"\\} \\d`, 'm'));
      }
    }
    await stopRole(commit);
    await stopRole(sequencer);
  }, 120_000);
});
