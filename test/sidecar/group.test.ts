/**
 * Goal: sidecars with one --name share the input partitions like a consumer group, hand them over
 * on join, clean leave and failure, and never write an output twice: a stale member's appends are
 * refused by the sequencer (the fence). Method: a real cluster from dist/x2; pass-through module
 * sidecars (started from the built executable, session timeout 3 s) over a 6-partition input of
 * keyed trades produced with kafkajs. Each scenario reads the output topic back and compares it
 * with the input by trade number: every trade exactly once, in order per key. The assignment is
 * read from each member's own /metrics (x2_sidecar_members, x2_sidecar_owned_streams).
 * Scenarios: three members split; kill -9 of one mid-run (the others take over within the session
 * timeout); a member joins mid-run; a member paused with SIGSTOP past the session timeout, then
 * SIGCONT; a member whose user logic stalls past the session timeout (its late append is refused);
 * kill -9 of the sequencer (members restart their instances and claim again).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir } from '../harness/x2.ts';
import {
  expectExactly, kafkaFor, produceTrades, readTopic, sidecarMetrics, startSidecar, stopSidecar, topicCount, tradeOf,
  type SidecarProcess,
} from './sidecar-harness.ts';

const SESSION_TIMEOUT_MS = 3000;
const PARTITIONS = 6;

let cluster: Cluster;
let kafka: Kafka;
let admin: Admin;
let folder: string;
const running: SidecarProcess[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ river: 'unicast', readyTimeoutMs: 180_000 });
  kafka = kafkaFor(cluster.brokers);
  admin = kafka.admin();
  await admin.connect();
  folder = makeTempDir('x2-sidecar-group-');
  writeFileSync(join(folder, 'pass.mjs'), 'export default (record) => ({ key: record.key, value: record.value });\n');
  // Stalls the whole process (like a long GC pause) on its first record once the file "stall" exists,
  // when started with X2_TEST_STALL_MS: the append built from that record is sent after the stall.
  writeFileSync(join(folder, 'stall.mjs'), [
    "import { existsSync } from 'node:fs';",
    'const stallMs = Number(process.env.X2_TEST_STALL_MS ?? 0);',
    'let stalled = false;',
    'export default (record) => {',
    "  if (stallMs > 0 && !stalled && existsSync('stall')) {",
    '    stalled = true;',
    '    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);',
    '  }',
    '  return { key: record.key, value: record.value };',
    '};',
    '',
  ].join('\n'));
  // Slow on purpose (1 ms every 20 records), so a run lasts long enough to be interrupted.
  writeFileSync(join(folder, 'slow.mjs'), [
    'const pause = new Int32Array(new SharedArrayBuffer(4));',
    'let count = 0;',
    'export default (record) => {',
    '  if (++count % 20 === 0) Atomics.wait(pause, 0, 0, 1);',
    '  return { key: record.key, value: record.value };',
    '};',
    '',
  ].join('\n'));
}, 300_000);

afterAll(async () => {
  for (const sidecar of running) {
    if (sidecar.child.exitCode === null && sidecar.child.signalCode === null) {
      sidecar.child.kill('SIGCONT');
      sidecar.child.kill('SIGKILL');
    }
  }
  await admin?.disconnect();
  await cluster?.stop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function createInput(topic: string): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
}

function member(input: string, output: string, module = 'pass.mjs', env?: NodeJS.ProcessEnv): SidecarProcess {
  const sidecar = startSidecar(['--sequencer', cluster.sequencerAddress, '--from', input, '--to', output,
    '--partitions', '3', '--module', module, '--name', `group-${output}`,
    '--session-timeout-ms', String(SESSION_TIMEOUT_MS)], folder, env);
  running.push(sidecar);
  return sidecar;
}

/** Waits until the live members report `count` members and own the partitions as `owned` says. */
async function waitForSplit(members: SidecarProcess[], owned: (counts: number[]) => boolean,
  what: string): Promise<number[]> {
  let last = '';
  try {
    return await waitFor(async () => {
      const metrics = await Promise.all(members.map((sidecar) => sidecarMetrics(sidecar)));
      const counts = metrics.map((values) => values.get('x2_sidecar_owned_streams') ?? -1);
      const sizes = metrics.map((values) => values.get('x2_sidecar_members') ?? -1);
      last = `owned ${counts.join(', ')}; members seen ${sizes.join(', ')}`;
      const agreed = sizes.every((size) => size === members.length);
      return agreed && owned(counts) && counts.reduce((sum, n) => sum + n, 0) === PARTITIONS ? counts : null;
    }, { timeoutMs: 60_000, intervalMs: 100, what });
  } catch (error) {
    const logs = members.map((sidecar, i) => `--- member ${i}:\n${sidecar.output().slice(-6000)}`).join('\n');
    throw new Error(`${(error as Error).message} (${last})\n${logs}`);
  }
}

const even = (counts: number[]): boolean => counts.every((n) => n === PARTITIONS / counts.length);

async function waitForCount(topic: string, count: number, members: SidecarProcess[]): Promise<void> {
  const exits = members.map((sidecar) => sidecar.exited.then((code) => {
    throw new Error(`sidecar exited ${code}: ${sidecar.output()}`);
  }));
  await Promise.race([...exits, waitFor(async () => await topicCount(admin, topic) >= count,
    { timeoutMs: 120_000, intervalMs: 250, what: `${count} records in ${topic}` })]);
}

async function expectOutput(topic: string, count: number): Promise<void> {
  expectExactly(await readTopic(kafka, topic), Array.from({ length: count }, (_, n) => tradeOf(n)));
}

describe('x2 sidecar groups', () => {
  it('three members with one name split six partitions and write each output once', async () => {
    await createInput('g-split');
    await produceTrades(kafka, 'g-split', 20_000);
    const members = [member('g-split', 'g-split-out'), member('g-split', 'g-split-out'),
      member('g-split', 'g-split-out')];
    await waitForSplit(members, even, 'two partitions each');
    await waitForCount('g-split-out', 20_000, members);
    for (const sidecar of members) expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    await expectOutput('g-split-out', 20_000);
  }, 120_000);

  it('kill -9 of a member mid-run: the others take its partitions within the session timeout', async () => {
    await createInput('g-kill');
    const producing = produceTrades(kafka, 'g-kill', 40_000, 0, 500);
    const members = [member('g-kill', 'g-kill-out'), member('g-kill', 'g-kill-out'), member('g-kill', 'g-kill-out')];
    await waitForSplit(members, even, 'two partitions each');
    await waitFor(async () => await topicCount(admin, 'g-kill-out') > 0, { timeoutMs: 60_000, what: 'first output' });
    expect(await stopSidecar(members[2]!, 'SIGKILL')).toBe(null);
    const killedAtMs = Date.now();
    const survivors = members.slice(0, 2);
    await waitForSplit(survivors, even, 'three partitions each after the kill');
    const handoverMs = Date.now() - killedAtMs;
    process.stderr.write(`[sidecar group kill -9] partitions taken over ${handoverMs} ms after the kill ` +
      `(session timeout ${SESSION_TIMEOUT_MS} ms)\n`);
    expect(handoverMs).toBeLessThan(SESSION_TIMEOUT_MS + 10_000);
    await producing;
    await waitForCount('g-kill-out', 40_000, survivors);
    for (const sidecar of survivors) expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    await expectOutput('g-kill-out', 40_000);
  }, 120_000);

  it('a member joining mid-run takes half of the partitions; a clean leave hands them back', async () => {
    await createInput('g-join');
    const producing = produceTrades(kafka, 'g-join', 40_000, 0, 500);
    const first = member('g-join', 'g-join-out');
    await waitForSplit([first], even, 'all partitions on the first member');
    await waitFor(async () => await topicCount(admin, 'g-join-out') > 0, { timeoutMs: 60_000, what: 'first output' });
    const second = member('g-join', 'g-join-out');
    await waitForSplit([first, second], even, 'three partitions each after the join');
    expect(await stopSidecar(second), second.output()).toBe(0);
    const leftAtMs = Date.now();
    await waitForSplit([first], even, 'all partitions back on the first member after the leave');
    // A leave record hands over at once, without waiting for the session timeout.
    const handoverMs = Date.now() - leftAtMs;
    process.stderr.write(`[sidecar group leave] partitions back on the first member ${handoverMs} ms after the ` +
      'second one exited\n');
    expect(handoverMs).toBeLessThan(SESSION_TIMEOUT_MS);
    await producing;
    await waitForCount('g-join-out', 40_000, [first]);
    expect(await stopSidecar(first), first.output()).toBe(0);
    await expectOutput('g-join-out', 40_000);
  }, 120_000);

  it('a member paused (SIGSTOP) past the session timeout is replaced and, resumed, writes no duplicate', async () => {
    await createInput('g-stop');
    const producing = produceTrades(kafka, 'g-stop', 40_000, 0, 500);
    const members = [member('g-stop', 'g-stop-out'), member('g-stop', 'g-stop-out')];
    await waitForSplit(members, even, 'three partitions each');
    await waitFor(async () => await topicCount(admin, 'g-stop-out') > 0, { timeoutMs: 60_000, what: 'first output' });
    const [awake, paused] = members as [SidecarProcess, SidecarProcess];
    paused.child.kill('SIGSTOP');
    await waitForSplit([awake], even, 'all partitions on the awake member');
    paused.child.kill('SIGCONT');
    // The resumed member learns it was expelled, joins again and gets half of the partitions back.
    await waitForSplit(members, even, 'three partitions each after the resume');
    expect(paused.output()).toMatch(/expelled from "group-g-stop-out"/);
    await producing;
    await waitForCount('g-stop-out', 40_000, members);
    const fenced = (await sidecarMetrics(paused)).get('x2_sidecar_fenced_appends_total') ?? 0;
    process.stderr.write(`[sidecar group SIGSTOP] appends of the resumed member refused by the fence: ${fenced}\n`);
    for (const sidecar of members) expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    await expectOutput('g-stop-out', 40_000);
  }, 120_000);

  it('a member whose user logic stalls past the session timeout has its late append refused', async () => {
    await createInput('g-stall');
    await produceTrades(kafka, 'g-stall', 6000, 0, 500);
    const steady = member('g-stall', 'g-stall-out', 'stall.mjs');
    const staller = member('g-stall', 'g-stall-out', 'stall.mjs', { X2_TEST_STALL_MS: String(3 * SESSION_TIMEOUT_MS) });
    await waitForSplit([steady, staller], even, 'three partitions each');
    await waitForCount('g-stall-out', 6000, [steady, staller]);
    // The next record the staller processes stalls it; the steady member expels it meanwhile and
    // claims its partitions, so the append built from that record is refused when it goes out.
    writeFileSync(join(folder, 'stall'), '');
    const producing = produceTrades(kafka, 'g-stall', 24_000, 6000, 500);
    await waitFor(() => /is silent past its session timeout: expelling it/.test(steady.output()),
      { timeoutMs: 60_000, what: 'the steady member expelling the staller' });
    await waitFor(async () => ((await sidecarMetrics(staller)).get('x2_sidecar_fenced_appends_total') ?? 0) >= 1,
      { timeoutMs: 60_000, what: `a refused append on the staller: ${staller.output()}` });
    expect(staller.output()).toMatch(/an append was refused \(stream \d+ is at offset \d+/);
    await producing;
    await waitForCount('g-stall-out', 30_000, [steady, staller]);
    for (const sidecar of [steady, staller]) expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    await expectOutput('g-stall-out', 30_000);
  }, 120_000);

  // Last: it restarts the shared cluster's sequencer.
  it('kill -9 of the sequencer mid-run: members reconnect, claim again and write each output once', async () => {
    await createInput('g-seq');
    await produceTrades(kafka, 'g-seq', 40_000, 0, 500);
    const members = [member('g-seq', 'g-seq-out', 'slow.mjs'), member('g-seq', 'g-seq-out', 'slow.mjs')];
    await waitForSplit(members, even, 'three partitions each');
    await waitFor(async () => await topicCount(admin, 'g-seq-out') > 0, { timeoutMs: 60_000, what: 'first output' });
    const atKill = await topicCount(admin, 'g-seq-out');
    await cluster.kill('sequencer');
    cluster.restart('sequencer');
    process.stderr.write(`[sidecar group sequencer kill -9] ${atKill} of 40000 outputs before the kill\n`);
    // A member with appends pending when the link broke cannot know their outcome: it restarts its
    // instance and claims again. One with nothing pending reconnects and carries on.
    await waitForCount('g-seq-out', 40_000, members);
    await produceTrades(kafka, 'g-seq', 10_000, 40_000, 500);
    await waitForCount('g-seq-out', 50_000, members);
    const restarted = members.filter((sidecar) => /restarting: /.test(sidecar.output())).length;
    process.stderr.write(`[sidecar group sequencer kill -9] members that restarted their instance: ${restarted}\n`);
    for (const sidecar of members) expect(await stopSidecar(sidecar), sidecar.output()).toBe(0);
    await expectOutput('g-seq-out', 50_000);
  }, 120_000);
});
