/**
 * Goal: the two append options of the appender protocol work between real processes: conditional
 * appends (a fence: two writers racing on one expected offset, exactly one wins; a refused entry set
 * leaves every stream untouched; the condition holds across a kill -9 and restart of the sequencer,
 * because stream offsets are recovered from the commits) and `ack: 'one'` (answered once one commit
 * has the entry on disk, while `ack: 'quorum'` waits for the write quorum). Method: `x2 sequencer`
 * and two `x2 commit` from dist/x2 on loopback (unicast river), driven with the AppendClient; a
 * commit is frozen with SIGSTOP to tell one durable copy from two. A malformed append queued
 * behind good ones is refused in its turn (answers keep request order, the link stays up). An
 * appender that asks for its own committed notices only is told nothing while it has none waiting.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { pack } from 'msgpackr';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppendClient, AppendConditionError, type AppendHandler } from '../../core/river/append-client.ts';
import { BENCH_STREAM_BASE, benchBatch } from '../../core/river/delivery-check.ts';
import { X2Error } from '../../core/base/errors.ts';
import { crc32c } from '../../native/index.ts';
import { MESSAGE } from '../../core/river/messages.ts';
import { makeTempDir, requireBinary } from '../harness/x2.ts';
import { waitFor } from '../harness/wait-for.ts';
import { freePort, metric, readCommit, settleAndStop, startRole, stopRole, type Role } from './cluster.ts';

const roles: Role[] = [];
const clients: AppendClient[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  for (const role of roles) role.child.kill('SIGCONT');
  await Promise.all(roles.map((role) => stopRole(role, 'SIGKILL')));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Cluster = { dir: string; address: string; sequencerArgs: string[]; sequencer: Role; commits: Role[] };

async function startCluster(): Promise<Cluster> {
  requireBinary();
  const dir = makeTempDir('x2-append-options-');
  dirs.push(dir);
  const address = `127.0.0.1:${await freePort()}`;
  const sequencerArgs = ['sequencer', '--listen', address, '--replication', '2', '--write-quorum', '2',
    '--river', 'unicast'];
  const sequencer = await startRole('sequencer', sequencerArgs);
  roles.push(sequencer);
  const commits: Role[] = [];
  for (const name of ['c1', 'c2']) {
    const commit = await startRole(name, ['commit', '--sequencer', address, '--data', join(dir, name),
      '--member-id', name, '--river', 'unicast']);
    commits.push(commit);
    roles.push(commit);
  }
  return { dir, address, sequencerArgs, sequencer, commits };
}

function client(address: string): AppendClient {
  const made = new AppendClient(address, { inflightMax: 64 });
  clients.push(made);
  return made;
}

const entry = (streamId: number, tag: number): { streamId: number; recordCount: number; batch: Buffer } =>
  ({ streamId, recordCount: 1, batch: benchBatch(100, tag) });

/** The outcome of one append: its base offsets once committed, or the error. */
async function outcome(promise: Promise<{ baseOffsets: readonly number[]; committed: Promise<number> }>):
  Promise<{ baseOffsets: readonly number[] } | { error: X2Error }> {
  try {
    const result = await promise;
    await result.committed;
    return { baseOffsets: result.baseOffsets };
  } catch (error) {
    return { error: error as X2Error };
  }
}

describe('appender protocol options, real sequencer and commits', () => {
  it('conditional appends fence racing writers, refuse whole sets, and survive a sequencer restart', async () => {
    const cluster = await startCluster();
    const fenced = BENCH_STREAM_BASE + 7;
    const other = BENCH_STREAM_BASE + 8;
    try {
      const writerA = client(cluster.address);
      const writerB = client(cluster.address);
      // Unconditional history: offsets 0..2.
      for (let i = 0; i < 3; i++) await (await writerA.appendAsync([entry(fenced, i)])).committed;

      // Both expect offset 3: the sequencer takes exactly one of them.
      const race = await Promise.all([writerA, writerB].map((writer, i) =>
        outcome(writer.appendAsync([entry(fenced, 100 + i)], { expect: [{ streamId: fenced, nextOffset: 3 }] }))));
      const winners = race.filter((r) => 'baseOffsets' in r);
      const losers = race.filter((r): r is { error: X2Error } => 'error' in r);
      expect(winners).toEqual([{ baseOffsets: [3] }]);
      expect(losers).toHaveLength(1);
      const refused = losers[0]!.error;
      expect(refused).toBeInstanceOf(AppendConditionError);
      expect(refused.code).toBe('X2_ERR_APPEND_CONDITION');
      expect(refused.message).toContain(`stream ${fenced} is at offset 4, the append expected 3`);
      expect((refused as AppendConditionError).actualNextOffsets).toEqual([{ streamId: fenced, nextOffset: 4 }]);

      // A refused set is refused whole: `other` gets nothing although its own entry was fine.
      const whole = await outcome(writerB.appendAsync([entry(other, 1), entry(fenced, 2)],
        { expect: [{ streamId: other, nextOffset: 0 }, { streamId: fenced, nextOffset: 3 }] }));
      expect('error' in whole && whole.error.code).toBe('X2_ERR_APPEND_CONDITION');
      const next = await outcome(writerB.appendAsync([entry(other, 3)],
        { expect: [{ streamId: other, nextOffset: 0 }] }));
      expect(next).toEqual({ baseOffsets: [0] });
      expect(await metric(cluster.sequencer, 'x2_river_append_conditions_failed_total')).toBe(2);

      // kill -9 and restart the sequencer: it recovers stream offsets from the commits.
      await stopRole(cluster.sequencer, 'SIGKILL');
      const restarted = await startRole('sequencer', cluster.sequencerArgs);
      roles.push(restarted);
      await waitFor(() => writerA.connected && writerB.connected,
        { timeoutMs: 60_000, what: 'appenders to reconnect' });
      const stale = await outcome(writerA.appendAsync([entry(fenced, 200)],
        { expect: [{ streamId: fenced, nextOffset: 3 }] }));
      expect('error' in stale && stale.error.code).toBe('X2_ERR_APPEND_CONDITION');
      const current = await outcome(writerA.appendAsync([entry(fenced, 201)],
        { expect: [{ streamId: fenced, nextOffset: 4 }] }));
      expect(current).toEqual({ baseOffsets: [4] });

      // What the commits hold: offsets 0..4 of `fenced` (one racing winner), 0 of `other`, once each.
      const lastSeq = await metric(restarted, 'x2_river_committed_seq');
      await settleAndStop(restarted, cluster.commits, lastSeq);
      for (const name of ['c1', 'c2']) {
        const stored = await readCommit(join(cluster.dir, name));
        expect(stored.streams.get(fenced)).toMatchObject({ records: 5, contiguous: true });
        expect(stored.streams.get(other)).toMatchObject({ records: 1, contiguous: true });
      }
    } finally {
      await Promise.all(roles.map((role) => stopRole(role)));
    }
  }, 180_000);

  it("ack 'one' answers with one durable copy; ack 'quorum' waits for the write quorum", async () => {
    const cluster = await startCluster();
    const streamId = BENCH_STREAM_BASE + 1;
    try {
      const writer = client(cluster.address);
      await (await writer.appendAsync([entry(streamId, 0)])).committed;
      const frozen = cluster.commits[1]!;
      frozen.child.kill('SIGSTOP');
      const one = await writer.appendAsync([entry(streamId, 1)], { ack: 'one' });
      const quorum = await writer.appendAsync([entry(streamId, 2)], { ack: 'quorum' });
      let quorumDone = false;
      void quorum.committed.then(() => { quorumDone = true; });
      expect(await one.committed).toBeGreaterThanOrEqual(one.firstSeq);
      expect(writer.committedSeq).toBeLessThan(one.firstSeq);
      await waitFor(() => writer.durableOneSeq >= quorum.firstSeq, { timeoutMs: 30_000, what: 'one durable copy' });
      // The quorum append cannot be answered while its second copy is frozen.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(quorumDone).toBe(false);
      expect(await metric(cluster.sequencer, 'x2_river_committed_seq')).toBeLessThan(one.firstSeq);
      frozen.child.kill('SIGCONT');
      expect(await quorum.committed).toBeGreaterThanOrEqual(quorum.firstSeq);
      expect(writer.committedSeq).toBeGreaterThanOrEqual(quorum.firstSeq);
    } finally {
      cluster.commits[1]!.child.kill('SIGCONT');
      await Promise.all(roles.map((role) => stopRole(role)));
    }
  }, 120_000);

  it('a malformed append behind good ones is refused in its turn; the link stays up', async () => {
    const cluster = await startCluster();
    const streamId = BENCH_STREAM_BASE + 2;
    try {
      const writer = client(cluster.address);
      await writer.whenConnected();
      const bad = benchBatch(100, 9);
      bad[16] = 1; // magic 1: not a RecordBatch v2
      const answers: string[] = [];
      const handler = (name: string): AppendHandler => ({
        onAppended: () => answers.push(`${name} sequenced`), onCommitted: () => undefined,
        onError: (error) => answers.push(`${name} ${error.code}`),
      });
      expect(writer.append([entry(streamId, 1)], handler('first'))).toBe(true);
      expect(writer.append([{ streamId, recordCount: 1, batch: bad }], handler('bad'))).toBe(true);
      expect(writer.append([entry(streamId, 2)], handler('last'))).toBe(true);
      await waitFor(() => answers.length === 3, { timeoutMs: 30_000, what: 'three answers' });
      expect(answers).toEqual(['first sequenced', 'bad X2_ERR_APPEND_REJECTED', 'last sequenced']);
      expect(writer.connected).toBe(true);
      expect(await metric(cluster.sequencer, 'x2_river_appends_rejected_total')).toBe(1);
    } finally {
      await Promise.all(roles.map((role) => stopRole(role)));
    }
  }, 120_000);

  it("committedNotices 'own': an idle appender hears nothing of others' appends, its own still commit", async () => {
    const cluster = await startCluster();
    try {
      const busy = client(cluster.address);
      const quiet = new AppendClient(cluster.address, { inflightMax: 64, committedNotices: 'own' });
      clients.push(quiet);
      const first = await quiet.appendAsync([entry(BENCH_STREAM_BASE + 20, 1)]);
      const firstCommitted = await first.committed;
      expect(firstCommitted).toBeGreaterThanOrEqual(first.firstSeq);
      let lastBusySeq = 0;
      for (let i = 0; i < 50; i++) {
        const result = await busy.appendAsync([entry(BENCH_STREAM_BASE + 21, i)]);
        await result.committed;
        lastBusySeq = result.firstSeq;
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // any late notice would arrive by now
      expect(busy.committedSeq).toBeGreaterThanOrEqual(lastBusySeq);
      expect(quiet.committedSeq).toBe(firstCommitted); // told nothing of the 50 others
      const second = await quiet.appendAsync([entry(BENCH_STREAM_BASE + 20, 2)]);
      expect(await second.committed).toBeGreaterThanOrEqual(second.firstSeq);
      expect(second.firstSeq).toBeGreaterThan(lastBusySeq);
    } finally {
      await Promise.all(roles.map((role) => stopRole(role)));
    }
  }, 120_000);

  it('a malformed APPEND while appends are queued costs only its link; nothing stored changes', async () => {
    const cluster = await startCluster();
    try {
      const writer = client(cluster.address);
      await writer.whenConnected();
      // Hundreds of 20 KB appends fired at once queue in the sequencer (its append arena) ...
      const sent = new Map<number, Buffer>(); // seq -> batch
      const results = Array.from({ length: 300 }, (_, i) => {
        const batch = benchBatch(20_000, i);
        return writer.appendAsync([{ streamId: BENCH_STREAM_BASE + 30 + (i % 3), recordCount: 1, batch }])
          .then(async (result) => { sent.set(result.firstSeq, batch); await result.committed; });
      });
      // ... while another appender sends a HELLO, then an APPEND whose entry count lies.
      const raw = connect({ host: '127.0.0.1', port: Number(cluster.address.split(':')[1]) });
      await once(raw, 'connect');
      const message = (type: number, payload: Buffer): Buffer => {
        const head = Buffer.alloc(5);
        head.writeUInt32LE(1 + payload.length, 0);
        head[4] = type;
        return Buffer.concat([head, payload]);
      };
      const lying = Buffer.alloc(4 + 2 + 40, 7);
      lying.writeUInt16LE(5, 4); // five entries announced, none there
      raw.write(Buffer.concat([message(MESSAGE.hello, pack({ role: 'appender', memberId: 'liar' })),
        message(MESSAGE.append, lying)]));
      const closed = once(raw, 'close');
      await Promise.all(results);
      await closed; // the sequencer dropped that link
      const lastSeq = Math.max(...sent.keys());
      await settleAndStop(cluster.sequencer, cluster.commits, lastSeq);
      for (const name of ['c1', 'c2']) {
        const stored = await readCommit(join(cluster.dir, name));
        for (const [seq, batch] of sent) {
          expect(stored.bySeq.get(seq)?.[2], `${name} seq ${seq}`).toBe(crc32c(batch, 0, 16, batch.length));
        }
      }
    } finally {
      await Promise.all(roles.map((role) => stopRole(role)));
    }
  }, 120_000);
});
