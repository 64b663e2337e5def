/**
 * Goal: a sequencer and two commits, real processes from dist/x2 on loopback, form one replicated,
 * ordered log, over both river drivers (and a mix of them) and under seeded datagram loss. Method: appenders drive
 * entries over the appender protocol until a count is acknowledged (committed), then the commits
 * are stopped and their stores read back: both hold every acknowledged entry at the seq and offset
 * the appender was told, each stream's offsets are contiguous, and the two stores are identical
 * (per-stream checksums, entry by entry). /metrics is checked for the committed seq and NAKs, and
 * for the multicast driver each process runs: native batched sendmmsg/recvmmsg (`mmsg`, the
 * default of dist/x2) or Node's dgram (`dgram`, X2_NATIVE=0), also mixed in one river.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, requireBinary, startX2 } from '../harness/x2.ts';
import { testSeed } from '../harness/seed.ts';
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

type RoleName = 'sequencer' | 'c1' | 'c2';

/** The `driver` label of x2_river_driver on a role's /metrics. */
async function driverOf(role: Role): Promise<string | null> {
  const text = await (await fetch(`http://127.0.0.1:${role.metricsPort}/metrics`)).text();
  return /^x2_river_driver\{[^}]*driver="([a-z]+)"[^}]*\} 1$/m.exec(text)?.[1] ?? null;
}

/** Roles named in `jsDriver` run with X2_NATIVE=0 (the dgram path); the others with the addon. */
async function runCluster(river: 'unicast' | 'multicast' | 'mixed', loss: number, seed: number,
  acksWanted: number, jsDriver: readonly RoleName[] = [], bigEntryBytes = 0): Promise<void> {
  const spawnAs = (name: RoleName) => (args: string[]) =>
    startX2(args, jsDriver.includes(name) ? { env: { ...process.env, X2_NATIVE: '0' } } : {});
  requireBinary();
  const dir = makeTempDir('x2-river-');
  dirs.push(dir);
  const group = `239.192.${(process.pid >> 8) & 0xff}.${(process.pid & 0xfe) + 1}:${await freePort()}`;
  const sequencer = await startRole('sequencer', ['sequencer', '--listen', '127.0.0.1:0', '--replication', '2',
    '--write-quorum', '2', '--river', river === 'unicast' ? 'unicast' : 'multicast', '--interface', '127.0.0.1',
    '--group', group], 0, spawnAs('sequencer'));
  roles.push(sequencer);
  const sequencerAddress = `127.0.0.1:${sequencer.listenPort}`;
  const commits: Role[] = [];
  for (const name of ['c1', 'c2']) {
    // mixed: c1 takes the multicast river, c2 the same frames over its TCP link.
    const commitRiver = river === 'mixed' ? (name === 'c1' ? 'multicast' : 'unicast') : river;
    const commit = await startRole(name, ['commit', '--sequencer', sequencerAddress, '--data', join(dir, name),
      '--member-id', name, '--river', commitRiver, '--interface', '127.0.0.1', '--loss', String(loss),
      '--seed', String(seed + commits.length)], 0, spawnAs(name as RoleName));
    commits.push(commit);
    roles.push(commit);
  }
  try {
    const expectedDrivers = (['sequencer', 'c1', 'c2'] as const).map((name) => {
      const multicast = river === 'multicast' || river === 'mixed' && name !== 'c2';
      return multicast ? (jsDriver.includes(name) ? 'dgram' : 'mmsg') : 'tcp';
    });
    expect(await Promise.all([sequencer, ...commits].map(driverOf))).toEqual(expectedDrivers);
    // With bigEntryBytes, 2 more appenders send entries of that size among the small ones.
    const loads = [new Load(sequencerAddress, 3, { streams: 5 })];
    if (bigEntryBytes > 0) loads.push(new Load(sequencerAddress, 2, { streams: 5, entryBytes: bigEntryBytes }));
    const load = { get acks() { return loads.flatMap((one) => one.acks); } };
    await waitFor(() => loads.every((one) => one.ackCount >= acksWanted / loads.length),
      { timeoutMs: 60_000, what: `${acksWanted} acknowledged appends` });
    for (const one of loads) await one.stop();
    expect(loads.map((one) => one.errors)).toEqual(loads.map(() => 0));
    const lastSeq = Math.max(...load.acks.map((ack) => ack.seq));
    expect(await metric(sequencer, 'x2_river_committed_seq')).toBeGreaterThanOrEqual(lastSeq);
    const naks = await metric(commits[0]!, 'x2_river_naks_sent_total') + await metric(commits[1]!,
      'x2_river_naks_sent_total');
    if (loss >= 0.05) expect(naks).toBeGreaterThan(0);
    await settleAndStop(sequencer, commits, lastSeq);
    const [first, second] = [await readCommit(join(dir, 'c1')), await readCommit(join(dir, 'c2'))];
    expect(first.lastSeq).toBe(second.lastSeq);
    expect(first.bySeq.size).toBe(first.lastSeq);
    expect(missingAcks(first, load.acks)).toEqual([]);
    expect(missingAcks(second, load.acks)).toEqual([]);
    expect([...first.streams.values()].every((s) => s.contiguous)).toBe(true);
    expect(second.streams).toEqual(first.streams);
    expect(second.bySeq).toEqual(first.bySeq);
  } catch (error) {
    for (const role of [sequencer,
      ...commits]) process.stderr.write(`--- ${role.name}\n${role.log.join('').slice(-3000)}\n`);
    throw error;
  } finally {
    await Promise.all([sequencer, ...commits].map((role) => stopRole(role)));
  }
}

describe('river on loopback: sequencer + two commits', () => {
  it('unicast TCP river', async () => {
    await runCluster('unicast', 0, 1, 3000);
  }, 180_000);

  it('mixed: one commit on multicast, one on the unicast river', async () => {
    await runCluster('mixed', 0, 1, 2000);
  }, 180_000);

  it('multicast river', async () => {
    await runCluster('multicast', 0, 1, 3000);
  }, 180_000);

  it('multicast river, 200 KiB entries among small ones (sequenced straight from the link, or kept in their '
    + 'assembly buffer or the arena when they wait; stored with the CRC the commits join from the fragments\' '
    + 'CRCs, checked when read back)', async () => {
    await runCluster('multicast', 0, 1, 3000, [], 200 * 1024);
  }, 180_000);

  it('multicast river, mixed drivers: sequencer and c1 native (mmsg), c2 with X2_NATIVE=0 (dgram)', async () => {
    await runCluster('multicast', 0, 1, 3000, ['c2']);
  }, 180_000);

  it('multicast river, mixed drivers: sequencer with X2_NATIVE=0 (dgram), commits native (mmsg)', async () => {
    await runCluster('multicast', 0, 1, 2000, ['sequencer']);
  }, 180_000);

  for (const loss of [0.01, 0.05, 0.2]) {
    it(`multicast river (mmsg) with ${loss * 100}% of datagrams dropped at each commit (seeded)`, async () => {
      const seed = testSeed(`river-loss-${loss}`);
      // Enough frames that 5 % loss surely hits one (the NAK check below): appends coalesce into
      // fewer frames on a busy machine, and 2000 gave as few as ~65 frames per commit.
      await runCluster('multicast', loss, seed, loss >= 0.05 ? 6000 : 2000);
    }, 180_000);
  }

  it('multicast river on the dgram path everywhere (X2_NATIVE=0) with 5% dropped (seeded)', async () => {
    const seed = testSeed('river-loss-dgram');
    await runCluster('multicast', 0.05, seed, 2000, ['sequencer', 'c1', 'c2']);
  }, 180_000);
});
