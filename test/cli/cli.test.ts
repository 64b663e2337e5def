/**
 * The CLI frame of the built executable. Method: run dist/x2 as a user would, from an empty
 * folder with a minimal environment (no Node, no node_modules, no PATH), and check help,
 * version, and that every usage error exits 2 with a message naming the problem and the
 * closest valid choice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runX2 } from '../harness/x2.ts';

const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const packageVersion = packageJson.version;

describe('x2 CLI (built executable, bare environment)', () => {
  it('runs the test suite itself on Node 24', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('embeds Node 24 and needs nothing from the machine', () => {
    const result = runX2(['--version'], { bare: true, env: { NODE_OPTIONS: '' } });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageVersion);
    const node = runX2(['-e', 'x'], { bare: true, env: { NODE_OPTIONS: '' } });
    // The executable is x2, not a node shell: node's flags are not accepted.
    expect(node.code).toBe(2);
  });

  it('prints help listing only working commands', () => {
    const result = runX2(['--help'], { bare: true });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: x2/);
    expect(result.stdout).toMatch(/^\s+probe\b/m);
    expect(result.stdout).toMatch(/^\s+help \[command\.\.\.\]/m);
  });

  it('x2 help <command> and x2 <command> --help agree', () => {
    const a = runX2(['help', 'probe'], { bare: true });
    const b = runX2(['probe', '--help'], { bare: true });
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/Usage: x2 probe/);
  });

  it('an unknown command exits 2 and suggests the closest one', () => {
    const result = runX2(['prob'], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'prob'/);
    expect(result.stderr).toMatch(/Did you mean probe\?/);
  });

  it('an unknown option exits 2 and suggests the closest one', () => {
    const result = runX2(['probe', '--jsn'], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--jsn'/);
    expect(result.stderr).toMatch(/Did you mean --json\?/);
  });

  it('an unexpected argument exits 2 and says so', () => {
    const result = runX2(['probe', 'extra'], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/too many arguments/);
  });

  it('help for an unknown command exits 2', () => {
    const result = runX2(['help', 'nosuch'], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nosuch/);
  });
});

describe('x2 with no command', () => {
  it('prints help and exits 2', () => {
    const result = runX2([], { bare: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Usage: x2/);
  });
});
