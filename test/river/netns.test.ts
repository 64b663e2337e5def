/**
 * Goal: the river works between hosts: real multicast across network namespaces joined by a
 * bridge, with packet loss in the network. Method: the sequencer runs in namespace n1, two commits
 * in n2 and n3 (dist/x2, multicast on their eth0 addresses), a load driver in n1 appends until a
 * count is acknowledged. Loss: this kernel has no netem qdisc (`tc qdisc ... netem` answers
 * "Specified qdisc kind is unknown"), so each commit's namespace drops 1%, 5% or 20% of its
 * incoming UDP with iptables' random statistic match, independently per commit. Then the commits
 * are stopped and their stores read back: every acknowledged entry is in both, in seq order, and
 * the two stores are identical. Every process runs the native batched driver (sendmmsg/recvmmsg,
 * checked on /metrics), except in the mixed case, where the commit in n3 runs Node's dgram path
 * (X2_NATIVE=0). Namespaces are named x2r-<pid>-* and deleted afterwards.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, type Network } from '../harness/netns.ts';
import { makeTempDir, REPO_ROOT, requireBinary, X2_BINARY } from '../harness/x2.ts';
import { missingAcks, ownPart, readCommit, startRole, stopRole, type Ack, type Role } from './cluster.ts';

let network: Network;
const dirs: string[] = [];

beforeAll(() => {
  requireBinary();
  network = createNetwork({ prefix: `x2r-${process.pid}`, hosts: 3 });
});

afterAll(() => {
  network?.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type DriverResult = {
  acks: Ack[]; errors: number; naks: number; amplification: number; drivers: string[];
  /** The driver's stderr: its phase timings. */
  phases: string;
};

/** Runs the load driver in n1; its phase lines reach this test's stderr as they come (a slow run shows where it is). */
function driver(args: string[], deadline: AbortSignal): Promise<DriverResult> {
  const child = network.spawnIn(network.hosts[0]!, process.execPath,
    ['--import', join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs'), join(REPO_ROOT,
      'test/river/netns-driver.ts'), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  const onDeadline = (): void => { child.kill('SIGKILL'); };
  deadline.addEventListener('abort', onDeadline, { once: true });
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': the exit can come before the last of stdout has been read.
    child.once('close', (code) => {
      deadline.removeEventListener('abort', onDeadline);
      if (code !== 0) {
        const why = deadline.aborted ? ' (killed at the test deadline)' : '';
        reject(new Error(`driver exited ${code}${why}: ${stderr.slice(-2000)}`));
        return;
      }
      try {
        resolve({ ...JSON.parse(stdout.trim().split('\n').at(-1)!) as DriverResult, phases: stderr });
      } catch (error) {
        reject(new Error(`driver output is not one JSON line (${stdout.length} chars): ${String(error)}`));
      }
    });
  });
}

/** Each case stops itself before vitest's timeout, so its roles are always stopped and their logs printed. */
const CASE_DEADLINE_MS = 240_000;

describe('river across network namespaces (real multicast over a bridge)', () => {
  const cases = [{ loss: 0.01, mixed: false }, { loss: 0.05, mixed: false }, { loss: 0.2, mixed: false },
    { loss: 0.05, mixed: true }];
  for (const { loss, mixed } of cases) {
    it(`${loss * 100}% of river datagrams dropped by each commit's namespace`
      + (mixed ? ', commit in n3 on the dgram path (X2_NATIVE=0)' : ''), async () => {
      const deadline = AbortSignal.timeout(CASE_DEADLINE_MS);
      const [n1, n2, n3] = network.hosts as [typeof network.hosts[0], typeof network.hosts[0], typeof network.hosts[0]];
      for (const host of [n2, n3]) {
        network.run(host!, 'iptables', ['-F', 'INPUT']);
        network.run(host!, 'iptables', ['-A', 'INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random',
          '--probability', String(loss), '-j', 'DROP']);
      }
      const dir = makeTempDir('x2-river-netns-');
      dirs.push(dir);
      const sequencerAddress = `${n1!.address}:7400`;
      const group = '239.192.77.1:7401';
      const spawnIn = (host: typeof n1) => (args: string[]) =>
        network.spawnIn(host!, X2_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'],
          env: mixed && host === n3 ? { ...process.env, X2_NATIVE: '0' } : process.env });
      const roles: Role[] = [];
      try {
        const phase = (what: string): void => { process.stderr.write(`netns test: ${what}\n`); };
        roles.push(await startRole('sequencer', ['sequencer', '--listen', sequencerAddress,
          '--replication', '2', '--river', 'multicast', '--interface', n1!.address, '--group', group,
          '--mtu-bytes', '1500'], 9400, spawnIn(n1)));
        for (const [name, host] of [['c2', n2], ['c3', n3]] as const) {
          roles.push(await startRole(name, ['commit', '--sequencer', sequencerAddress, '--data', join(dir, name),
            '--member-id', name, '--listen', `${host!.address}:7410`, '--river', 'multicast',
            '--interface', host!.address], 9400, spawnIn(host)));
        }
        phase('roles started');
        const metricsUrls = [n1, n2, n3].map((host) => `http://${host!.address}:9400/metrics`);
        const result = await driver([sequencerAddress, '1500', ...metricsUrls], deadline);
        expect(result.errors).toBe(0);
        expect(result.drivers).toEqual(['mmsg', 'mmsg', mixed ? 'dgram' : 'mmsg']);
        expect(result.acks.length).toBeGreaterThanOrEqual(1500);
        if (loss >= 0.05) expect(result.naks).toBeGreaterThan(0);
        // Multicast: one copy on the wire for both commits (unicast would send >= 2x).
        if (loss <= 0.01) expect(result.amplification).toBeLessThan(1.8);
        // The sequencer goes first; entries after the last acknowledged one (metrics snapshots the
        // roles append) may not have reached both commits, so the comparison stops at the last ack.
        for (const role of roles) await stopRole(role);
        phase('roles stopped');
        const [first, second] = [await readCommit(join(dir, 'c2')), await readCommit(join(dir, 'c3'))];
        expect(missingAcks(first, result.acks)).toEqual([]);
        expect(missingAcks(second, result.acks)).toEqual([]);
        expect(first.bySeq.size).toBe(first.lastSeq);
        expect(second.bySeq.size).toBe(second.lastSeq);
        const lastAck = Math.max(...result.acks.map((ack) => ack.seq));
        expect(ownPart(second, lastAck)).toEqual(ownPart(first, lastAck));
      } catch (error) {
        for (const role of roles) process.stderr.write(`--- ${role.name}\n${role.log.join('').slice(-3000)}\n`);
        throw error;
      } finally {
        await Promise.all(roles.map((role) => stopRole(role)));
      }
    }, 300_000);
  }
});
