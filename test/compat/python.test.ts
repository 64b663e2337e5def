/**
 * The Python clients under Debian's /usr/bin/python3, against `x2 up`: python3-confluent-kafka
 * (librdkafka: idempotent producer, consumer group, commit and seek, admin create/list) and
 * python3-kafka 2.0.2 (fixed low API versions: produce, group consume, commit and resume,
 * offsets by time, admin create/describe/delete). Method: each client runs a small script
 * (test/compat/python/*.py) that prints one JSON line of what it saw; the test checks it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPTS = join(import.meta.dirname, 'python');

function runPython(script: string, args: string[]): Record<string, unknown> {
  const result = spawnSync(PYTHON, [join(SCRIPTS, script), ...args], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${script} exited ${result.status}: ${result.stderr}\n${result.stdout}`);
  const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(lastLine) as Record<string, unknown>;
}

let up: UpProcess;

beforeAll(async () => {
  up = await UpProcess.start();
}, 120_000);

afterAll(async () => {
  await up?.stop();
});

describe('Python clients against x2 up', () => {
  it('confluent-kafka: idempotent producer, group consume, commit and seek', () => {
    const seen = runPython('confluent_client.py', [up.bootstrap, 'py-confluent', 'py-confluent-group']);
    expect(seen).toMatchObject({ delivered: 300, consumed: 300, committed_total: 300, in_order: true, partitions: [0,
      1, 2] });
    expect(seen['reread_partition0']).toBe(seen['expected_partition0']);
  }, 150_000);

  it('kafka-python 2.0.2: produce, group consume, commit and resume, offsets by time, admin', () => {
    const seen = runPython('kafka_python_client.py', [up.bootstrap, 'py-kafka', 'py-kafka-group']);
    expect(seen['offsets']).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen['values']).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`));
    expect(seen).toMatchObject({ committed: 100, by_time: 0, resumed: 'after-commit' });
    expect(seen['config_names']).toContain('retention.ms');
  }, 150_000);
});
