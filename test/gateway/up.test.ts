/**
 * `x2 up` as a supervisor, and the usage errors of `x2 up` and `x2 gateway`. Method: start
 * x2 up on a temp data dir, kill -9 one of its commits (found by its data path) and check the
 * supervisor logs the reason and restarts it while records keep flowing; SIGTERM must stop every
 * child and exit 0; a second x2 up on the same data dir must serve the same records. Bad flags
 * must exit 2 naming the flag, the value and what is allowed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { UpProcess } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, runX2 } from '../harness/x2.ts';

function pidsUnder(path: string): number[] {
  const listed = spawnSync('pgrep', ['-f', path], { encoding: 'utf8' }).stdout.trim();
  return listed ? listed.split('\n').map(Number).filter((pid) => pid !== process.pid) : [];
}

function consumeAll(bootstrap: string, topic: string): string[] {
  const result = spawnSync('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%s\\n'],
    { encoding: 'utf8', timeout: 30_000 });
  return result.stdout.trim().split('\n').filter((line) => line.length > 0);
}

function produceLines(bootstrap: string, topic: string, lines: string[]): void {
  const result = spawnSync('kcat', ['-b', bootstrap, '-P', '-t', topic], { input: `${lines.join('\n')}\n`,
    encoding: 'utf8', timeout: 30_000 });
  expect(result.status, result.stderr).toBe(0);
}

const dataDir = makeTempDir('x2-up-supervise-');
const started: UpProcess[] = [];

afterAll(async () => {
  for (const up of started) await up.stop(false);
  spawnSync('rm', ['-rf', dataDir]);
});

describe('x2 up', () => {
  it('restarts a killed child with the reason logged, stops cleanly, and keeps data for the next start', async () => {
    const up = await UpProcess.start([], dataDir);
    started.push(up);
    // One host: the river is loopback multicast and its datagrams carry whole frames.
    expect(up.stdout).toMatch(/river +multicast \(one host: loopback multicast/);
    expect(readFileSync(`${dataDir}/logs/sequencer.log`, 'utf8'))
      .toContain('via 127.0.0.1, datagrams up to 65000 bytes');
    produceLines(up.bootstrap, 'kept', ['a', 'b', 'c']);
    const commitPath = `${dataDir}/commit-1`;
    const [victim] = pidsUnder(commitPath);
    expect(victim).toBeGreaterThan(0);
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => up.stderr.includes(`commit 1 (pid ${victim}) killed by SIGKILL`), { timeoutMs: 10_000,
      what: 'the restart log line' });
    await waitFor(() => pidsUnder(commitPath).some((pid) => pid !== victim), { timeoutMs: 10_000,
      what: 'a new commit 1' });
    produceLines(up.bootstrap, 'kept', ['d', 'e']);
    expect(consumeAll(up.bootstrap, 'kept')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await up.stop(false)).toBe(0);
    expect(pidsUnder(dataDir)).toEqual([]);

    const again = await UpProcess.start([], dataDir);
    started.push(again);
    expect(consumeAll(again.bootstrap, 'kept')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await again.stop(false)).toBe(0);
  }, 180_000);

  it('refuses a Kafka port that is in use, before starting anything', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const port = (holder.address() as AddressInfo).port;
    const busyData = makeTempDir('x2-up-busy-');
    try {
      const result = runX2(['up', '--port', String(port), '--data', busyData]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`--port: free ports are allowed; 127.0.0.1:${port} is in use`));
      expect(pidsUnder(busyData)).toEqual([]);
    } finally {
      holder.close();
      spawnSync('rm', ['-rf', busyData]);
    }
  });

  it('refuses bad flags with exit 2, naming the flag, the value and what is allowed', () => {
    const cases: Array<[string[], RegExp]> = [
      [['up', '--commits', '0'], /--commits: a whole number from 1 to 16 is allowed \(got "0"\)/],
      [['up', '--commits', '2', '--write-quorum', '3'],
        /--write-quorum: at most --commits \(2\) is allowed \(got "3"\)/],
      [['up', '--port', 'x'], /--port: .* \(got "x"\)/],
      [['gateway', '--node-id', '-1'], /--node-id: a whole number from 0 to \d+ is allowed \(got "-1"\)/],
      [['gateway', '--request-bytes-max', '12'], /--request-bytes-max: .* \(got "12"\)/],
      [['gateway', '--listen', 'nowhere'], /--listen: HOST:PORT .* \(got "nowhere"\)/],
    ];
    for (const [args, message] of cases) {
      const result = runX2(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });
});
