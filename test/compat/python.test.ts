/**
 * The Python clients under Debian's /usr/bin/python3, against `x2 up`: python3-confluent-kafka
 * (librdkafka: idempotent producer, consumer group, commit and seek, admin create/list, alter
 * and describe configs) and python3-kafka 2.0.2 (fixed low API versions: produce, group
 * consume, commit and resume, offsets by time, admin create/describe/delete; and, told
 * api_version=(0, 10, 0), end/beginning offsets and seeks through ListOffsets v0). Method: each
 * client runs a small script (test/compat/python/*.py) that prints one JSON line of what it
 * saw; the test checks it.
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

  it('confluent-kafka: alter_configs replaces a topic\'s configs, validate_only changes nothing, errors named', () => {
    const seen = runPython('confluent_alter_configs.py', [up.bootstrap, 'py-alter']);
    const created = { 'retention.ms': ['3600000', false], 'retention.bytes': ['1000000', false],
      'max.message.bytes': ['1048588', true] };
    const altered = { 'retention.ms': ['60000', false], 'retention.bytes': ['-1', true],
      'max.message.bytes': ['2048', false] };
    expect(seen).toEqual({
      created, validate_only_error: null, after_validate_only: created,
      alter_error: null, altered,
      bad_value_error: ['INVALID_CONFIG', 'retention.ms: "soon" is not an integer in [-1, 9007199254740991]'],
      unknown_topic_error: ['UNKNOWN_TOPIC_OR_PART', 'topic "py-alter-missing" does not exist'],
      after_errors: altered,
    });
  }, 150_000);

  it('confluent-kafka: a LogAppendTime topic stamps each batch with the append time, also after alter_configs',
    () => {
      const seen = runPython('confluent_log_append_time.py', [up.bootstrap, 'py-lat']) as {
        before_ms: number; after_ms: number; delivered: Array<[number, number]>;
        append: Array<[string, string, number]>; create: Array<[string, string, number]>;
      };
      const isAppendTime = (timestampMs: number): boolean =>
        timestampMs >= seen.before_ms && timestampMs <= seen.after_ms;
      // The producer sent 1000 (1970) each time: only the CreateTime record keeps it.
      expect(seen.append).toHaveLength(1);
      expect(seen.append[0]!.slice(0, 2)).toEqual(['old', 'LogAppendTime']);
      expect(isAppendTime(seen.append[0]![2])).toBe(true);
      expect(seen.create).toHaveLength(2);
      expect(seen.create[0]).toEqual(['old', 'CreateTime', 1000]);
      expect(seen.create[1]!.slice(0, 2)).toEqual(['after-alter', 'LogAppendTime']);
      expect(isAppendTime(seen.create[1]![2])).toBe(true);
      // The produce response carries the append time too (librdkafka reports it on delivery).
      expect(seen.delivered.map(([type]) => type)).toEqual([2, 1, 2]);
      expect(isAppendTime(seen.delivered[0]![1])).toBe(true);
      expect(seen.delivered[1]![1]).toBe(1000);
    }, 150_000);

  it('kafka-python 2.0.2: produce, group consume, commit and resume, offsets by time, admin', () => {
    const seen = runPython('kafka_python_client.py', [up.bootstrap, 'py-kafka', 'py-kafka-group']);
    expect(seen['offsets']).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen['values']).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`));
    expect(seen).toMatchObject({ committed: 100, by_time: 0, resumed: 'after-commit' });
    expect(seen['config_names']).toContain('retention.ms');
  }, 150_000);

  it('kafka-python 2.0.2 at api_version 0.10.0: end/beginning offsets and seeks use ListOffsets v0', () => {
    const seen = runPython('kafka_python_v0.py', [up.bootstrap, 'py-kafka-v0']);
    expect(seen).toMatchObject({ end: 10, beginning: 0, position_end: 10, position_beginning: 0, versions: [0],
      by_time_refused: true });
    expect(seen['requests']).toBeGreaterThanOrEqual(4); // at least one built per lookup
  }, 150_000);
});
