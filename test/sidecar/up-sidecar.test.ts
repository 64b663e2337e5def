/**
 * `x2 up --sidecar 'NAME:ARGS'` (issue 7 item 7): sidecars start with the cluster and are
 * supervised with it. Method: a real `x2 up` with two sidecars, one filtering JSON trades with
 * --where and one with a bad flag; produce trades with kafkajs; the filter's output holds exactly
 * the matching trades, the bad one is logged as not restarted (exit 2 is final), and both show in
 * the printed summary. Flag errors of --sidecar itself exit 2 before anything starts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { runX2 } from '../harness/x2.ts';
import { expectExactly, kafkaFor, produceTrades, readTopic, topicCount, tradeOf } from './sidecar-harness.ts';

const TRADES = 3_000;
let up: UpProcess;

beforeAll(async () => {
  up = await UpProcess.start([
    '--partitions', '2',
    '--sidecar', `aapl:--from trades --to trades.aapl --where 'value.symbol == "AAPL"'`,
    '--sidecar', 'broken:--from trades --to broken.out --where true --on-error nope',
  ]);
}, 120_000);

afterAll(async () => {
  await up?.stop();
});

describe('x2 up --sidecar', () => {
  it('starts the sidecars with the cluster and lists them', () => {
    expect(up.stdout).toMatch(/sidecar aapl {2}log .*sidecar-aapl\.log/);
    expect(up.stdout).toMatch(/sidecar broken {2}log /);
  });

  it('a started sidecar filters what producers send', async () => {
    const kafka = kafkaFor([up.bootstrap]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'trades', numPartitions: 2 }] });
    await produceTrades(kafka, 'trades', TRADES);
    const expected = Array.from({ length: TRADES }, (_, n) => tradeOf(n)).filter((t) => t.symbol === 'AAPL');
    await waitFor(async () => await topicCount(admin, 'trades.aapl') >= expected.length,
      { timeoutMs: 60_000, intervalMs: 250, what: 'the sidecar output' });
    await admin.disconnect();
    expectExactly(await readTopic(kafka, 'trades.aapl'), expected);
  }, 120_000);

  it('a sidecar that exits with a usage error is not restarted, and the log says why', async () => {
    await waitFor(() => /sidecar broken .*not restarted \(status 2 is final\)/.test(up.stderr),
      { timeoutMs: 30_000, what: 'x2 up to report the broken sidecar' });
    const log = readFileSync(join(up.dataDir, 'logs', 'sidecar-broken.log'), 'utf8');
    expect(log).toMatch(/--on-error/);
    expect(up.stderr.match(/sidecar broken \(pid/g)?.length).toBe(1);
  });
});

describe('x2 up --sidecar flag errors', () => {
  it('exit 2 naming the flag, the value and what is allowed', () => {
    for (const [value, problem] of [
      ['nocolon', /colon/],
      ['a b:--from t --to u', /NAME/],
      ['a:--from t --to u --sequencer 127.0.0.1:1', /without --sequencer/],
      [`a:--where 'open`, /closing '/],
    ] as const) {
      const result = runX2(['up', '--sidecar', value], { bare: true });
      expect(result.code, value).toBe(2);
      expect(result.stderr).toMatch(/--sidecar/);
      expect(result.stderr).toMatch(problem);
    }
    const twice = runX2(['up', '--sidecar', 'a:--from t --to u', '--sidecar', 'a:--from v --to w'], { bare: true });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/not used by another --sidecar/);
  });
});
