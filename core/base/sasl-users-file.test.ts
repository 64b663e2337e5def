/**
 * Goal: the users file is read as documented (comments, blank lines, passwords taken as written,
 * ":" and spaces included) and every bad line stops the start with the flag, the file, the line
 * number and what is wrong; a file others may read is accepted with a warning.
 * Method: files written into a temp directory, read through loadSaslUsersFile.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSaslUsersFile } from './sasl-users-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'x2-sasl-users-'));
let fileCount = 0;

function usersFile(text: string, mode = 0o600): string {
  const path = join(dir, `users-${fileCount++}`);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('users file', () => {
  it('reads users, skips comments and blank lines, keeps passwords as written', () => {
    const path = usersFile('# users of the test cluster\n\nalice:secret\n  # indented comment\n'
      + 'bob:pa ss:word # not a comment\r\ncarol:#hash\n');
    const file = loadSaslUsersFile('--sasl-users', path);
    expect([...file.users]).toEqual([['alice', 'secret'], ['bob', 'pa ss:word # not a comment'], ['carol', '#hash']]);
    expect(file.warning).toBeNull();
  });

  it('warns when group or others may read the file', () => {
    const file = loadSaslUsersFile('--sasl-users', usersFile('alice:secret\n', 0o644));
    expect(file.warning).toMatch(/--sasl-users ".*": group or others may read .* \(mode 644\); chmod 600 it/);
  });

  const bad: [string, string, RegExp][] = [
    ['no colon', 'alice:secret\nbob secret\n', /line 2: no ":" between user and password/],
    ['empty user', ':secret\n', /line 1: the user name is empty/],
    ['blank in user', 'al ice:secret\n', /line 1: the user name "al ice" contains a blank/],
    ['empty password', 'alice:\n', /line 1: user "alice" has an empty password/],
    ['duplicate', 'alice:a\n# x\nalice:b\n', /line 3: user "alice" appears a second time/],
    ['control character', 'alice:se\tcret\n', /line 1: a control character/],
    ['no users', '# nobody\n\n', /no users/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}, naming the flag, the file and the line`, () => {
      const path = usersFile(text);
      expect(() => loadSaslUsersFile('--sasl-users', path)).toThrow(message);
      expect(() => loadSaslUsersFile('--sasl-users', path)).toThrow(`--sasl-users ${JSON.stringify(path)}: `);
    });
  }

  it('refuses a missing file and a directory', () => {
    expect(() => loadSaslUsersFile('--sasl-users', join(dir, 'missing'))).toThrow(/cannot be read \(no such file\)/);
    expect(() => loadSaslUsersFile('--sasl-users', dir)).toThrow(/is a directory/);
  });
});
