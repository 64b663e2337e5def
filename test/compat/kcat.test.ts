/**
 * kcat (librdkafka 2.0.2) against `x2 up`, started as a user would: metadata (-L), produce
 * with keys and headers in every codec librdkafka offers (none, gzip, snappy, lz4, zstd), and
 * consume back from the beginning. Method: each codec writes its own topic (auto-created by
 * Metadata), then a consumer must print exactly the records sent, in order, with their keys,
 * headers and offsets 0..n-1; a -L listing must show the gateway and the topics.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';

function kcat(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync('kcat', args, { input, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

let up: UpProcess;

beforeAll(async () => {
  up = await UpProcess.start();
}, 120_000);

afterAll(async () => {
  await up?.stop();
});

describe('kcat against x2 up', () => {
  it('x2 up prints the bootstrap address, every role and how to watch it', () => {
    expect(up.stdout).toContain(`bootstrap ${up.bootstrap}`);
    for (const role of ['sequencer', 'commit 1', 'commit 2', 'gateway 0', 'river',
      'watch']) expect(up.stdout).toContain(role);
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`produces and consumes keys and headers with ${codec}`, () => {
      const topic = `kcat-${codec}`;
      const count = 50;
      const lines = Array.from({ length: count }, (_, i) => `key-${i}:value-${codec}-${i}`).join('\n');
      const produced = kcat(['-b', up.bootstrap, '-P', '-t', topic, '-K:', '-z', codec, '-H', `codec=${codec}`,
        '-X', 'linger.ms=5'], `${lines}\n`);
      expect(produced.code, produced.stderr).toBe(0);
      const consumed = kcat(['-b', up.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%k|%s|%h|%o\\n']);
      expect(consumed.code, consumed.stderr).toBe(0);
      const expected = Array.from({ length: count }, (_, i) => `key-${i}|value-${codec}-${i}|codec=${codec}|${i}`);
      expect(consumed.stdout.trim().split('\n')).toEqual(expected);
    });
  }

  it('lists the gateway as broker and controller, and the topics, with -L', () => {
    const listed = kcat(['-b', up.bootstrap, '-L']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`broker 0 at ${up.bootstrap} (controller)`);
    expect(listed.stdout).toContain('topic "kcat-zstd" with 1 partitions');
  });
});
