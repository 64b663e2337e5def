/**
 * The users file of a SASL Kafka port (`--sasl-users`), read and checked once at start: the only
 * place credentials live (x2 has no AlterUserScramCredentials; edit the file and restart).
 *
 * Format: UTF-8 text, one `user:password` per line. The user name ends at the first ":"; the
 * password is the rest of the line as it is (spaces and ":" included; a trailing CR is dropped).
 * Blank lines and lines whose first non-blank character is "#" are ignored. User names have no
 * blanks and no ":"; a user appears once. Any bad line stops the process with the file, the line
 * number and what is wrong, so a typo cannot lock a user out silently.
 * A file that group or others may read is accepted with a warning (the caller logs it): it holds
 * passwords in clear, so mode 600 is what it should have.
 */
import { readFileSync, statSync } from 'node:fs';
import { X2Error } from './errors.ts';

export const SASL_USER_BYTES_MAX = 255;
export const SASL_PASSWORD_BYTES_MAX = 1024;
/** A users file is a short list; anything bigger is a mistake (a wrong path). */
export const SASL_USERS_FILE_BYTES_MAX = 16 * 1024 * 1024;

export type SaslUsersFile = {
  path: string;
  /** Passwords by user name, in file order. */
  users: ReadonlyMap<string, string>;
  /** Set when the file's mode lets group or others read it. */
  warning: string | null;
};

function fileError(flag: string, path: string, problem: string): X2Error {
  return new X2Error('X2_ERR_USAGE', `${flag} ${JSON.stringify(path)}: ${problem}`);
}

/** Parses the text of a users file; `where` prefixes each message (flag and path). */
export function parseSaslUsers(text: string, where: (problem: string) => X2Error): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    const lineError = (problem: string): X2Error => where(`line ${index + 1}: ${problem}`);
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw lineError('no ":" between user and password (the format is user:password)');
    const user = line.slice(0, colon);
    const password = line.slice(colon + 1);
    if (user === '') throw lineError('the user name is empty');
    if (/\s/.test(user)) throw lineError(`the user name ${JSON.stringify(user)} contains a blank`);
    if (Buffer.byteLength(user) > SASL_USER_BYTES_MAX) {
      throw lineError(`the user name is longer than ${SASL_USER_BYTES_MAX} bytes`);
    }
    if (password === '') throw lineError(`user ${JSON.stringify(user)} has an empty password`);
    if (Buffer.byteLength(password) > SASL_PASSWORD_BYTES_MAX) {
      throw lineError(`the password is longer than ${SASL_PASSWORD_BYTES_MAX} bytes`);
    }
    if (/[\u0000-\u001f\u007f]/.test(user + password)) throw lineError('a control character (a tab?) is not allowed');
    if (users.has(user)) throw lineError(`user ${JSON.stringify(user)} appears a second time`);
    users.set(user, password);
  }
  if (users.size === 0) throw where('no users (every client would be refused); the format is user:password');
  return users;
}

/** Reads and checks the file named by `flag`. */
export function loadSaslUsersFile(flag: string, path: string): SaslUsersFile {
  const where = (problem: string): X2Error => fileError(flag, path, problem);
  let text: string;
  let mode: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw where('cannot be read (is a directory)');
    if (stat.size > SASL_USERS_FILE_BYTES_MAX) {
      throw where(`is ${stat.size} bytes; a users file of at most ${SASL_USERS_FILE_BYTES_MAX} is allowed`);
    }
    mode = stat.mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof X2Error) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw where(`cannot be read (${why})`);
  }
  const users = parseSaslUsers(text, where);
  const warning = (mode & 0o077) === 0 ? null : `${flag} ${JSON.stringify(path)}: group or others may read this `
    + `file of passwords (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
  return { path, users, warning };
}
