/**
 * Man pages stay true to the CLI. Method: walk the built executable's own help (`x2 --help`,
 * then `x2 <command> [<sub>] --help`), and check that every command has a page
 * man/x2-<command>.1 that documents every long option it prints, that x2(1) lists every
 * command, that every page renders with `man -l`, and that man/x2-errors.7 lists exactly the
 * codes of core/base/error-codes.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../core/base/error-codes.ts';
import { REPO_ROOT, runX2 } from '../harness/x2.ts';

const MAN_DIR = join(REPO_ROOT, 'man');

function helpOf(path: string[]): string {
  const result = runX2([...path, '--help']);
  expect(result.code, `x2 ${path.join(' ')} --help`).toBe(0);
  return result.stdout;
}

/** Names listed under "Commands:" in a help text (excluding help itself). */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const match = /^ {2}([a-z][a-z0-9-]*)/.exec(line);
    if (match?.[1] && match[1] !== 'help') names.push(match[1]);
  }
  return names;
}

function longOptionsIn(help: string): string[] {
  const section = (help.split(/^Options:$/m)[1] ?? '').split(/^Commands:$/m)[0] ?? '';
  const options = new Set<string>();
  for (const line of section.split('\n')) {
    const match = /^ {2}(?:-[a-zA-Z], )?(--[a-z0-9][a-z0-9-]*)/.exec(line);
    if (match?.[1] && match[1] !== '--help') options.add(match[1]);
  }
  return [...options];
}

/** roff escapes hyphens as \- ; compare on plain text. */
function manText(file: string): string {
  return readFileSync(file, 'utf8').replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '');
}

const topCommands = commandsIn(helpOf([]));

describe('man pages', () => {
  it('x2(1) lists every command', () => {
    const page = manText(join(MAN_DIR, 'x2.1'));
    expect(topCommands.length).toBeGreaterThan(0);
    for (const name of topCommands) expect(page, `x2.1 mentions ${name}`).toMatch(new RegExp(`\\.B ${name}\\b`));
  });

  for (const name of topCommands) {
    it(`man/x2-${name}.1 documents every option of x2 ${name}`, () => {
      const file = join(MAN_DIR, `x2-${name}.1`);
      expect(existsSync(file), `${file} exists`).toBe(true);
      const page = manText(file);
      const paths: string[][] = [[name]];
      for (const sub of commandsIn(helpOf([name]))) paths.push([name, sub]);
      for (const path of paths) {
        for (const option of longOptionsIn(helpOf(path))) {
          expect(page.includes(option), `${option} of x2 ${path.join(' ')} in x2-${name}.1`).toBe(true);
        }
      }
    });
  }

  it('every page renders with man -l', () => {
    for (const file of readdirSync(MAN_DIR)) {
      const result = spawnSync('man', ['-l', join(MAN_DIR, file)], {
        encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' },
      });
      expect(result.status, `man -l ${file}: ${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/NAME/);
    }
  });

  it('x2-errors(7) lists exactly the error codes', () => {
    const page = manText(join(MAN_DIR, 'x2-errors.7'));
    const documented = new Set(page.match(/X2_ERR_[A-Z0-9_]+/g) ?? []);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
