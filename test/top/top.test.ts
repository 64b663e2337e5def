/**
 * `x2 top` against a real `x2 up` (sequencer, 2 commits, a gateway), as an operator runs it.
 * Goals: the figures are the cluster's real ones (after producing N records to a new topic its
 * high watermark is N; a group that committed them all has lag 0), the interactive screen works
 * in a real terminal with real keys (tmux: the screen first says the cluster is unreachable,
 * then reconnects once `x2 up` serves on that port; tab switches panes; q exits 0), a non-TTY
 * stdin does not crash it, bad input is refused with exit 2, when its gateway dies it goes
 * on through another one that Metadata named, and every node's GET /status carries its latency of
 * the last second (the gateway's Produce only while something is produced).
 * Method: dist/x2 processes; kafkajs produces and commits; `x2 top --once --json` is parsed;
 * the terminal is a detached tmux session read with capture-pane (named x2top-<pid>, killed in
 * afterAll).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, freePort, UpProcess } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { runX2, startX2, X2_BINARY } from '../harness/x2.ts';

const TOPIC = 'top-check';
const GROUP = 'top-readers';
const RECORDS = 250;
const SESSION = `x2top-${process.pid}`;
/** Produced to by the latency check only, after the tests that count TOPIC's records and topics. */
const LATENCY_TOPIC = 'top-latency';

type StatusJson = { role: string; latency: { what: string; count: number; p50Ms: number; p99Ms: number;
  maxBucketMs: number } | null };

type TopJson = {
  summary: { epoch: number; seq: number; committedSeq: number; nodeCount: number };
  nodes: Array<{ nodeId: string; role: string; state: string; river: string; stale: boolean; rssBytes: number }>;
  topics: Array<{ name: string; partitions: number; highWatermark: number; sizeBytes: number }>;
  groups: Array<{ groupId: string; lagRecords: number; partitions: Array<{ topic: string; committedOffset: number;
    highWatermark: number; lagRecords: number }> }>;
};

let up: UpProcess;
let port: number;
let tmuxStarted = false;

function pane(): string {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', SESSION], { encoding: 'utf8' });
}

/**
 * The environment for top with its output on a pipe: without CI and CONTINUOUS_INTEGRATION, which
 * make Ink draw only a final frame (CI sets CI=true; these tests read the live frames).
 */
function liveFrameEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['CI'];
  delete env['CONTINUOUS_INTEGRATION'];
  return env;
}

function keys(...names: string[]): void {
  execFileSync('tmux', ['send-keys', '-t', SESSION, ...names]);
}

function topJson(): TopJson {
  const result = runX2(['top', '--bootstrap', `127.0.0.1:${port}`, '--json', '--wait-ms', '2500']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as TopJson;
}

beforeAll(async () => {
  port = await freePort();
  // The terminal starts before the cluster: top must say it is unreachable, then reconnect.
  execFileSync('tmux', ['new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30',
    `${X2_BINARY} top --bootstrap 127.0.0.1:${port}; echo TOP-EXIT=$?; sleep 600`]);
  tmuxStarted = true;
  await waitFor(() => pane().includes('cluster unreachable'), { timeoutMs: 30_000, what: 'top to say unreachable' });
  up = await UpProcess.start(['--port', String(port)]);
}, 120_000);

afterAll(async () => {
  if (tmuxStarted) spawnSync('tmux', ['kill-session', '-t', SESSION]);
  await up?.stop();
});

describe('x2 top against x2 up', () => {
  it('--once --json shows every node and the figures the test produced', async () => {
    const kafka = new Kafka({ clientId: 'x2-top-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    for (let sent = 0; sent < RECORDS; sent += 50) {
      await producer.send({ topic: TOPIC, acks: -1,
        messages: Array.from({ length: 50 }, (_, i) => ({ value: `record ${sent + i}` })) });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: GROUP });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let consumed = 0;
    await consumer.run({ eachMessage: async () => { consumed += 1; } });
    await waitFor(() => consumed >= RECORDS, { timeoutMs: 60_000, what: `${RECORDS} records consumed` });
    await consumer.commitOffsets([{ topic: TOPIC, partition: 0, offset: String(RECORDS) }]);
    await consumer.disconnect();

    const view = await waitFor(() => {
      const candidate = topJson();
      const topic = candidate.topics.find((t) => t.name === TOPIC);
      const group = candidate.groups.find((g) => g.groupId === GROUP);
      return topic?.highWatermark === RECORDS && group?.partitions[0]?.committedOffset === RECORDS ? candidate : null;
    }, { timeoutMs: 60_000, intervalMs: 500, what: `top to show ${TOPIC} at ${RECORDS} and ${GROUP} caught up` });
    expect(view.nodes.map((node) => node.nodeId).sort()).toEqual(['commit-1', 'commit-2', 'gateway-0', 'sequencer']);
    expect(view.nodes.every((node) => !node.stale && node.rssBytes > 0 && node.river !== '')).toBe(true);
    expect(view.nodes.find((node) => node.role === 'sequencer')?.state).toBe('running');
    expect(view.summary.epoch).toBeGreaterThanOrEqual(1);
    expect(view.summary.committedSeq).toBeGreaterThan(0);
    expect(view.summary.seq).toBeGreaterThanOrEqual(view.summary.committedSeq);
    const topic = view.topics.find((t) => t.name === TOPIC)!;
    expect(topic.partitions).toBe(1);
    expect(topic.sizeBytes).toBeGreaterThan(RECORDS * 'record 0'.length);
    const group = view.groups.find((g) => g.groupId === GROUP)!;
    expect(group.lagRecords).toBe(0);
    expect(group.partitions[0]).toMatchObject({ topic: TOPIC, highWatermark: RECORDS, lagRecords: 0 });

    const text = runX2(['top', '--bootstrap', `127.0.0.1:${port}`, '--once', '--wait-ms', '2500']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${TOPIC} +1 .* ${RECORDS}$`, 'm'));
    expect(text.stdout).toMatch(/^sequencer +sequencer .* running/m);
    expect(text.stdout).toMatch(/^node +role .* lag +p50\/p99 ms +naks +rtx$/m);
  });

  it('in a real terminal: reconnected on its own, shows the cluster, tab switches panes, q exits 0', async () => {
    const screen = await waitFor(() => {
      const text = pane();
      return text.includes('gateway-0') && text.includes(TOPIC) && !text.includes('cluster unreachable') ? text : null;
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'top to reconnect and show the cluster' });
    expect(screen).toMatch(/^x2 top {2}via 127\.0\.0\.1:\d+ {2}epoch \d+ {2}seq \d+ {2}committed \d+ {2}nodes 4/m);
    expect(screen).toContain('▸ Nodes (4)');
    expect(screen).toMatch(new RegExp(`^${TOPIC} .* ${RECORDS}$`, 'm'));
    keys('Tab');
    await waitFor(() => pane().includes('▸ Topics (1)'), { timeoutMs: 10_000, what: 'the topics pane focused' });
    keys('s');
    await waitFor(() => pane().includes('▸ Topics (1) · sort rate'), { timeoutMs: 10_000, what: 'sorted by rate' });
    keys('?');
    await waitFor(() => pane().includes('any key closes the help'), { timeoutMs: 10_000, what: 'the help' });
    keys('x');
    await waitFor(() => pane().includes('▸ Topics (1)'), { timeoutMs: 10_000, what: 'the help closed' });
    keys('q');
    await waitFor(() => pane().includes('TOP-EXIT=0'), { timeoutMs: 10_000, what: 'top to exit 0 on q' });
  });

  it('every node\'s /status has its latency of the last second; the gateway\'s is Produce while producing',
    async () => {
      const statusOf = async (name: string): Promise<StatusJson> => {
        const url = new RegExp(`^ {2}${name} .* metrics (http://\\S+)/metrics$`, 'm').exec(up.stdout)?.[1];
        if (url === undefined) throw new Error(`no metrics address of ${name} in the output of x2 up`);
        return await (await fetch(`${url}/status`)).json() as StatusJson;
      };
      const kafka = new Kafka({ clientId: 'x2-top-latency', brokers: [`127.0.0.1:${port}`],
        logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      let producing = true;
      const sending = (async () => {
        while (producing) {
          await producer.send({ topic: LATENCY_TOPIC, acks: -1, messages: [{ value: 'tick' }] });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      let figures: StatusJson[];
      try {
        figures = await waitFor(async () => {
          const all = await Promise.all(['sequencer', 'commit 1', 'gateway 0'].map(statusOf));
          return all.every((status) => (status.latency?.count ?? 0) > 0) ? all : null;
        }, { timeoutMs: 30_000, intervalMs: 250, what: 'a latency figure on /status of sequencer, commit, gateway' });
      } finally {
        producing = false;
        await sending;
        await producer.disconnect();
      }
      expect(figures.map((status) => [status.role, status.latency?.what]))
        .toEqual([['sequencer', 'append→commit'], ['commit', 'write'], ['gateway', 'Produce']]);
      for (const { latency } of figures) {
        expect(latency!.p50Ms).toBeGreaterThan(0);
        expect(latency!.p50Ms).toBeLessThanOrEqual(latency!.p99Ms);
        if (latency!.maxBucketMs !== -1) expect(latency!.p99Ms).toBeLessThanOrEqual(latency!.maxBucketMs);
      }
      // The last second only: once nothing is produced the gateway's figure goes away.
      await waitFor(async () => (await statusOf('gateway 0')).latency === null,
        { timeoutMs: 10_000, intervalMs: 250, what: 'the gateway\'s latency to be null a second after producing' });
    }, 60_000);

  it('with stdin not a terminal it draws without raw mode and stops on SIGTERM', async () => {
    const child = startX2(['top', '--bootstrap', `127.0.0.1:${port}`],
      { stdio: ['pipe', 'pipe', 'pipe'], env: liveFrameEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    await waitFor(() => stdout.includes('gateway-0'), { timeoutMs: 30_000, what: 'a screen on a pipe' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Raw mode/);
  });

  it('refuses a bad --bootstrap with exit 2, and --once says plainly when nothing answers', async () => {
    const bad = runX2(['top', '--bootstrap', 'localhost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bootstrap: HOST:PORT.*is allowed.*got "localhost"/);
    const badWait = runX2(['top', '--once', '--wait-ms', '5']);
    expect(badWait.code).toBe(2);
    expect(badWait.stderr).toMatch(/--wait-ms: a whole number from 100 to 600000 is allowed.*got "5"/);
    const nobody = runX2(['top', '--once', '--bootstrap', `127.0.0.1:${await freePort()}`, '--wait-ms', '500']);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toMatch(/the cluster is unreachable: cannot read __x2_metrics from 127\.0\.0\.1:\d+/);
  });
});

describe('x2 top when its gateway dies', () => {
  it('goes on through the other gateway it learned from Metadata', async () => {
    const cluster = await Cluster.start({ gateways: 2 });
    try {
      await cluster.ready();
      const [first, second] = cluster.brokers;
      const child = startX2(['top', '--bootstrap', first!], { stdio: ['pipe', 'pipe', 'pipe'], env: liveFrameEnv() });
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
      const latest = (): string => stdout.slice(stdout.lastIndexOf('x2 top  '));
      try {
        // Both gateways must be on screen before one dies: a node top never saw cannot turn stale.
        await waitFor(() => latest().includes(`via ${first}`) && /^gateway-0 +serving/m.test(latest())
          && /^gateway-1 +serving/m.test(latest()), { timeoutMs: 30_000, what: 'both gateways on the screen' });
        await cluster.kill('gateway-0');
        const screen = await waitFor(() => {
          const text = latest();
          return text.includes(`via ${second}`) && /^gateway-0 +stale/m.test(text) ? text : null;
        }, { timeoutMs: 60_000, intervalMs: 200, what: `top to read through ${second}` }).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; last screen:\n${latest()}`);
        });
        // 80 columns on a pipe: node, state, river, ...
        expect(screen).toMatch(/^gateway-1 +serving +ucast/m);
        expect(screen).toMatch(/^sequencer +running +ucast/m);
      } finally {
        child.kill('SIGTERM');
      }
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
