/**
 * Bad flags of `x2 probe` are refused before anything runs. Goal: each gives status 2 and a
 * message naming the flag, the value and what is allowed. Method: run the built executable
 * (bare environment) with --data on a missing path, on a file, and on a directory inside a
 * read-only tmpfs this test mounts (as root a mode-0555 directory is still writable, so only
 * a read-only mount really tests it), and with out-of-range --multicast-timeout-ms values.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runX2 } from '../harness/x2.ts';

function expectUsageError(args: string[], ...mustContain: Array<string | RegExp>): void {
  const result = runX2(['probe', ...args], { bare: true });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  for (const text of mustContain) {
    if (typeof text === 'string') expect(result.stderr).toContain(text);
    else expect(result.stderr).toMatch(text);
  }
}

describe('x2 probe usage errors', () => {
  let root: string;
  let readOnlyMount: string;
  beforeAll(() => {
    root = makeTempDir('x2-probe-errors-');
    readOnlyMount = join(root, 'ro');
    mkdirSync(readOnlyMount);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'x2-probe-ro', readOnlyMount],
      { encoding: 'utf8' });
    if (mount.status !== 0) throw new Error(`mount -o ro tmpfs failed (needs root): ${mount.stderr}`);
  });
  afterAll(() => {
    spawnSync('umount', [readOnlyMount]);
    rmSync(root, { recursive: true, force: true });
  });

  it('--data on a missing path', () => {
    const missing = join(root, 'does-not-exist');
    expectUsageError(['--data', missing], '--data', JSON.stringify(missing), 'does not exist',
      'an existing directory this process can write');
  });

  it('--data on a read-only file system', () => {
    expectUsageError(['--data', readOnlyMount], '--data', JSON.stringify(readOnlyMount), 'read-only');
    expectUsageError(['--json', `--data=${readOnlyMount}`], '--data', 'read-only');
  });

  it('--data on a file', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expectUsageError(['--data', file], '--data', 'not a directory');
  });

  it('--data without a value', () => {
    expectUsageError(['--data'], "'--data <dir>' argument missing");
  });

  it('--multicast-timeout-ms out of range or not a number', () => {
    for (const value of ['0', '-5', '1.5', 'abc', '10001']) {
      expectUsageError(['--multicast-timeout-ms', value], '--multicast-timeout-ms', JSON.stringify(value),
        'from 1 to 10000');
    }
  });

  it('an unknown option names the closest one', () => {
    expectUsageError(['--jsn'], '--jsn', /--json/);
  });
});
