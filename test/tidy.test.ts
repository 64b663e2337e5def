/**
 * Style rules as a test, so reviews argue about design, not form. Method: scan the sources
 * (git ls-files plus untracked, not ignored) and check header comments, import direction
 * (core never imports cli; a role never imports another role), banned constructs and
 * line length.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness/x2.ts';

const LINE_CHARS_MAX = 120;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: REPO_ROOT, encoding: 'utf8',
}).split('\n').filter((f) => /\.(ts|tsx)$/.test(f) && !f.startsWith('node_modules/'));

const source = (file: string): string => {
  try {
    return readFileSync(join(REPO_ROOT, file), 'utf8');
  } catch {
    return ''; // listed by git but deleted in the work tree
  }
};

const isTest = (f: string): boolean => /\.(test|bench)\.tsx?$/.test(f) || f.startsWith('test/');

describe('tidy', () => {
  it('every core module opens with a header comment', () => {
    const missing = files
      .filter((f) => f.startsWith('core/') && !isTest(f))
      .filter((f) => source(f) !== '' && !/^\s*(\/\*\*|\/\/)/.test(source(f)));
    expect(missing).toEqual([]);
  });

  it('every test file opens with a comment saying goal and method', () => {
    const missing = files
      .filter((f) => /\.test\.tsx?$/.test(f))
      .filter((f) => source(f) !== '' && !/^\s*(\/\*\*|\/\/)/.test(source(f)));
    expect(missing).toEqual([]);
  });

  it('core never imports cli, and a role never imports another role', () => {
    const bad: string[] = [];
    for (const file of files.filter((f) => f.startsWith('core/'))) {
      for (const match of source(file).matchAll(/from\s+'([^']+)'/g)) {
        const target = match[1] ?? '';
        if (!target.startsWith('.')) continue;
        const resolved = join(file, '..', target);
        if (resolved.startsWith('cli/')) bad.push(`${file} -> ${target}`);
        const role = /^core\/roles\/([^/]+)\//.exec(file)?.[1];
        const targetRole = /^core\/roles\/([^/]+)\//.exec(resolved)?.[1];
        if (targetRole && role !== targetRole) bad.push(`${file} -> ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no any, no enum, no leftover markers in sources', () => {
    const bad: string[] = [];
    for (const file of files.filter((f) => !isTest(f))) {
      source(file).split('\n').forEach((line, i) => {
        if (/(:\s*any\b|\bas any\b|<any>)/.test(line)) bad.push(`${file}:${i + 1}: any`);
        if (/^\s*(export\s+)?(const\s+)?enum\s/.test(line)) bad.push(`${file}:${i + 1}: enum`);
        if (/\b(TODO|FIXME|XXX)\b|debugger;/.test(line)) bad.push(`${file}:${i + 1}: marker`);
      });
    }
    expect(bad).toEqual([]);
  });

  it(`lines are at most ${LINE_CHARS_MAX} characters`, () => {
    const long: string[] = [];
    for (const file of files) {
      source(file).split('\n').forEach((line, i) => {
        if (line.length > LINE_CHARS_MAX) long.push(`${file}:${i + 1} (${line.length})`);
      });
    }
    expect(long).toEqual([]);
  });
});
