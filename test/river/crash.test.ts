/**
 * Goal: kill -9 of any river process under load loses nothing acknowledged and leaves identical
 * replicas. Method: real processes from dist/x2 on loopback (multicast river), appenders running
 * throughout. (1) kill -9 one commit of R=2/W=1, keep appending, restart it on the same data: it
 * catches up (NAK/retransmit or peer repair) with no gap; with a ring far smaller than what it
 * missed, it repairs from the peer commit. (2) kill -9 the sequencer of R=2/W=2
 * twice under load and restart it: it recovers from the commits with a higher epoch each time,
 * appenders reconnect, every acknowledged entry is stored at the seq and offset the appender was
 * told, and the two commits hold identical content (compared per stream by checksum and entry by
 * entry).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, requireBinary } from '../harness/x2.ts';
import { waitFor } from '../harness/wait-for.ts';
import {
  freePort, Load, metric, missingAcks, readCommit, settleAndStop, startRole, stopRole, type Role,
} from './cluster.ts';

const roles: Role[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(roles.map((role) => stopRole(role, 'SIGKILL')));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Cluster = { dir: string; sequencerAddress: string; sequencerArgs: string[]; sequencer: Role; commits: Role[];
  commitArgs: (name: string) => string[] };

async function startCluster(replication: number, writeQuorum: number, extra: string[] = []): Promise<Cluster> {
  requireBinary();
  const dir = makeTempDir('x2-river-crash-');
  dirs.push(dir);
  const group = `239.192.${(process.pid >> 8) & 0xff}.${(process.pid & 0xfe) + 1}:${await freePort()}`;
  const common = ['--replication', String(replication), '--write-quorum', String(writeQuorum), '--river', 'multicast',
    '--interface', '127.0.0.1', '--group', group, ...extra];
  const sequencer = await startRole('sequencer', ['sequencer', '--listen', '127.0.0.1:0', ...common]);
  roles.push(sequencer);
  const sequencerAddress = `127.0.0.1:${sequencer.listenPort}`;
  // A restarted sequencer takes the same address: the commits and appenders reconnect to it.
  const sequencerArgs = ['sequencer', '--listen', sequencerAddress, ...common];
  const commitArgs = (name: string): string[] => ['commit', '--sequencer', sequencerAddress, '--data', join(dir, name),
    '--member-id', name, '--river', 'multicast', '--interface', '127.0.0.1'];
  const commits: Role[] = [];
  for (const name of ['c1', 'c2']) {
    const commit = await startRole(name, commitArgs(name));
    commits.push(commit);
    roles.push(commit);
  }
  return { dir, sequencerAddress, sequencerArgs, sequencer, commits, commitArgs };
}

function dumpLogs(cluster: Cluster): void {
  for (const role of [cluster.sequencer, ...cluster.commits]) {
    process.stderr.write(`--- ${role.name}\n${role.log.join('').slice(-4000)}\n`);
  }
}

async function checkReplicas(cluster: Cluster, load: Load): Promise<void> {
  const lastSeq = Math.max(...load.acks.map((ack) => ack.seq));
  await settleAndStop(cluster.sequencer, cluster.commits, lastSeq);
  const [first, second] = [await readCommit(join(cluster.dir, 'c1')), await readCommit(join(cluster.dir, 'c2'))];
  expect(missingAcks(first, load.acks)).toEqual([]);
  expect(missingAcks(second, load.acks)).toEqual([]);
  expect(first.bySeq.size).toBe(first.lastSeq);
  expect([...first.streams.values()].every((s) => s.contiguous)).toBe(true);
  expect(second.lastSeq).toBe(first.lastSeq);
  expect(second.streams).toEqual(first.streams);
  expect(second.bySeq).toEqual(first.bySeq);
}

describe('river under kill -9', () => {
  it('a killed commit restarts and catches up with no gap', async () => {
    const cluster = await startCluster(2, 1);
    try {
      const load = new Load(cluster.sequencerAddress, 2);
      await waitFor(() => load.ackCount >= 1000, { timeoutMs: 40_000, what: 'load before the kill' });
      await stopRole(cluster.commits[1]!, 'SIGKILL');
      const acksAtKill = load.ackCount;
      await waitFor(() => load.ackCount >= acksAtKill + 2000, { timeoutMs: 40_000, what: 'load while c2 is down' });
      const restarted = await startRole('c2', cluster.commitArgs('c2'));
      roles.push(restarted);
      cluster.commits[1] = restarted;
      const acksAtRestart = load.ackCount;
      await waitFor(() => load.ackCount >= acksAtRestart + 1000, { timeoutMs: 40_000, what: 'load after the restart' });
      await load.stop();
      expect(load.errors).toBe(0);
      await checkReplicas(cluster, load);
    } catch (error) {
      dumpLogs(cluster);
      throw error;
    } finally {
      await Promise.all([cluster.sequencer, ...cluster.commits].map((role) => stopRole(role)));
    }
  }, 240_000);

  it('a commit that fell behind the retransmit ring repairs from its peer', async () => {
    // A 1 MiB ring holds a few thousand 200-byte entries; c2 misses many more while it is down.
    const cluster = await startCluster(2, 1, ['--ring-bytes', '1MiB']);
    try {
      const load = new Load(cluster.sequencerAddress, 2);
      await waitFor(() => load.ackCount >= 500, { timeoutMs: 40_000, what: 'load before the kill' });
      await stopRole(cluster.commits[1]!, 'SIGKILL');
      const acksAtKill = load.ackCount;
      await waitFor(() => load.ackCount >= acksAtKill + 12_000, { timeoutMs: 90_000, what: 'load while c2 is down' });
      await load.stop();
      const restarted = await startRole('c2', cluster.commitArgs('c2'));
      roles.push(restarted);
      cluster.commits[1] = restarted;
      await waitFor(async () => await metric(restarted, 'x2_river_repaired_entries_total') > 0,
        { timeoutMs: 40_000, what: 'c2 to repair from c1' });
      await checkReplicas(cluster, load);
    } catch (error) {
      dumpLogs(cluster);
      throw error;
    } finally {
      await Promise.all([cluster.sequencer, ...cluster.commits].map((role) => stopRole(role)));
    }
  }, 240_000);

  it('a killed sequencer restarts with a higher epoch; every acknowledged entry survives', async () => {
    const cluster = await startCluster(2, 2);
    try {
      const load = new Load(cluster.sequencerAddress, 2);
      const epochs: number[] = [];
      for (let round = 0; round < 2; round++) {
        const acksBefore = load.ackCount;
        await waitFor(() => load.ackCount >= acksBefore + 1000, { timeoutMs: 40_000, what: `load in round ${round}` });
        epochs.push(await metric(cluster.sequencer, 'x2_river_epoch'));
        await stopRole(cluster.sequencer, 'SIGKILL');
        cluster.sequencer = await startRole('sequencer', cluster.sequencerArgs);
        roles.push(cluster.sequencer);
      }
      const acksAfter = load.ackCount;
      await waitFor(() => load.ackCount >= acksAfter + 1000, { timeoutMs: 40_000,
        what: 'load after the last restart' });
      epochs.push(await metric(cluster.sequencer, 'x2_river_epoch'));
      expect(epochs[1]).toBeGreaterThan(epochs[0]!);
      expect(epochs[2]).toBeGreaterThan(epochs[1]!);
      await load.stop();
      await checkReplicas(cluster, load);
    } catch (error) {
      dumpLogs(cluster);
      throw error;
    } finally {
      await Promise.all([cluster.sequencer, ...cluster.commits].map((role) => stopRole(role)));
    }
  }, 240_000);
});
