/**
 * Goal: bad `x2 sidecar` input gets a clear usage error (exit 2) naming the flag, the value and
 * what is allowed, before anything connects. Method: run the built executable from an empty
 * folder with each kind of bad flag and check the status and the message.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runX2 } from '../harness/x2.ts';

const BASE = ['sidecar', '--sequencer', '127.0.0.1:1', '--from', 'trades', '--to', 'out'];

describe('x2 sidecar usage errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a --where syntax error with its position', ['--where', 'value.symbol = "AAPL"'],
      /--where: a valid expression \(at character 14: unexpected character '=' \(use == to compare\)\)/],
    ['an unknown --on-error mode', ['--where', 'true', '--on-error', 'retry'],
      /--on-error: stop, skip or dead-letter:TOPIC is allowed \(got "retry"\)/],
    ['a bad dead-letter topic', ['--where', 'true', '--on-error', 'dead-letter:bad topic'],
      /--on-error dead-letter:TOPIC: a Kafka topic name is allowed/],
    ['a session timeout below 300 ms', ['--where', 'true', '--session-timeout-ms', '100'],
      /--session-timeout-ms: .*300.*\(got "100"\)/],
    ['the removed static split', ['--where', 'true', '--members', '2'], /unknown option '--members'/],
    ['no user logic', [], /exactly one of --module FILE, --exec COMMAND, --where EXPR/],
    ['two kinds of user logic', ['--where', 'true', '--exec', 'cat'],
      /--exec and --where: exactly one of --module FILE, --exec COMMAND, --where EXPR/],
    ['a missing module file', ['--module', 'nowhere.mjs'], /--module: an existing \.mjs file is allowed/],
    ['the output among the inputs', ['--where', 'true', '--to', 'trades'], /--to: a topic that is not also in --from/],
    ['a bad input topic name', ['--where', 'true', '--from', 'ok,no/slash'], /--from: a Kafka topic name is allowed/],
    ['a bad name', ['--where', 'true', '--name', 'a b'], /--name: 1-128 letters/],
  ];
  it.each(cases)('%s', (_, extra, message) => {
    const result = runX2([...BASE, ...extra], { bare: true, timeoutMs: 30_000 });
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });

  it('a missing --from is a usage error', () => {
    const result = runX2(['sidecar', '--to', 'out', '--where', 'true'], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--from <topics>.*not specified/);
  });

  it('a module without a default or batch export is refused', () => {
    const folder = makeTempDir('x2-sidecar-cli-');
    writeFileSync(join(folder, 'empty.mjs'), 'export const nothing = 1;\n');
    const result = runX2([...BASE, '--module', 'empty.mjs'], { cwd: folder, timeoutMs: 30_000 });
    rmSync(folder, { recursive: true, force: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/exports neither a default function \(per record\) nor a batch function/);
  });
});
