/**
 * SASL flags of the Kafka port: the server side (`x2 gateway`, `x2 up`: --sasl-users,
 * --sasl-mechanisms) and the client side (`x2 bench` kafka targets, `x2 top`: --sasl-mechanism,
 * --sasl-username, --sasl-password). The users file is read and checked once the command runs
 * (core/base/sasl-users-file.ts); a password is best given in X2_SASL_PASSWORD, which ps does not show.
 */
import { Option } from 'commander';
import { usageError } from '../core/base/errors.ts';
import { loadSaslUsersFile } from '../core/base/sasl-users-file.ts';
import {
  isSaslMechanism, SASL_MECHANISMS, type SaslClientCredentials, type SaslMechanism,
} from '../core/kafka/sasl-mechanisms.ts';
import type { SaslServerOptions } from '../core/roles/gateway/sasl-users.ts';

export type SaslServerFlags = { saslUsers?: string; saslMechanisms?: SaslMechanism[] };
export type SaslClientFlags = { saslMechanism?: SaslMechanism; saslUsername?: string; saslPassword?: string };

export const SASL_MECHANISMS_DEFAULT = SASL_MECHANISMS.join(',');
const SASL_MECHANISM_DEFAULT: SaslMechanism = 'SCRAM-SHA-256';

function mechanismsParser(value: string): SaslMechanism[] {
  const names = value.split(',').map((name) => name.trim().toUpperCase()).filter((name) => name !== '');
  const unknown = names.find((name) => !isSaslMechanism(name));
  if (names.length === 0 || unknown !== undefined) {
    throw usageError('--sasl-mechanisms', value, `a comma-separated list of ${SASL_MECHANISMS.join(', ')} is allowed`
      + (unknown === undefined ? '' : ` (${JSON.stringify(unknown)} is none of them)`));
  }
  return [...new Set(names)] as SaslMechanism[];
}

function mechanismParser(value: string): SaslMechanism {
  const name = value.trim().toUpperCase();
  if (!isSaslMechanism(name)) throw usageError('--sasl-mechanism', value, `one of ${SASL_MECHANISMS.join(', ')}`);
  return name;
}

/** --sasl-users and --sasl-mechanisms with X2_SASL_USERS and X2_SASL_MECHANISMS. */
export function saslServerOptions(): Option[] {
  return [
    new Option('--sasl-users <file>', 'file of user:password lines: clients must authenticate with SASL '
      + '(Kafka\'s SASL_PLAINTEXT, or SASL_SSL with --tls-cert)').env('X2_SASL_USERS'),
    new Option('--sasl-mechanisms <list>',
      `SASL mechanisms offered with --sasl-users (default ${SASL_MECHANISMS_DEFAULT})`).env('X2_SASL_MECHANISMS')
      .argParser(mechanismsParser),
  ];
}

/**
 * --sasl-mechanism, --sasl-username, --sasl-password of a Kafka client; the password also from
 * X2_SASL_PASSWORD. `env`: top takes the other two from X2_SASL_MECHANISM and X2_SASL_USERNAME
 * too; bench takes no other environment, like its other flags.
 */
export function saslClientOptions(env: boolean): Option[] {
  const mechanism = new Option('--sasl-mechanism <name>', `SASL mechanism with --sasl-username: `
    + `${SASL_MECHANISMS.join(', ')} (default ${SASL_MECHANISM_DEFAULT})`).argParser(mechanismParser);
  const username = new Option('--sasl-username <name>', 'authenticate with SASL as this user '
    + '(Kafka\'s security.protocol=SASL_PLAINTEXT, or SASL_SSL with TLS flags)');
  const password = new Option('--sasl-password <password>', 'the user\'s password (better in X2_SASL_PASSWORD: '
    + 'a flag shows in ps)').env('X2_SASL_PASSWORD');
  if (env) {
    mechanism.env('X2_SASL_MECHANISM');
    username.env('X2_SASL_USERNAME');
  }
  return [mechanism, username, password];
}

/** The gateway's users and mechanisms, read and checked now; null without --sasl-users. */
export function serverSaslFrom(flags: SaslServerFlags): (SaslServerOptions & { path: string; warning: string | null })
| null {
  if (flags.saslUsers === undefined || flags.saslUsers === '') {
    if (flags.saslMechanisms !== undefined) {
      throw usageError('--sasl-mechanisms', flags.saslMechanisms.join(','), 'it is allowed only with --sasl-users');
    }
    return null;
  }
  const file = loadSaslUsersFile('--sasl-users', flags.saslUsers);
  return { mechanisms: flags.saslMechanisms ?? [...SASL_MECHANISMS], users: file.users, path: file.path,
    warning: file.warning };
}

/** A client's credentials; null (no SASL) without --sasl-username. */
export function clientSaslFrom(flags: SaslClientFlags): SaslClientCredentials | null {
  if (flags.saslUsername === undefined || flags.saslUsername === '') {
    if (flags.saslMechanism !== undefined) {
      throw usageError('--sasl-mechanism', flags.saslMechanism, 'it is allowed only with --sasl-username');
    }
    return null;
  }
  if (flags.saslPassword === undefined) {
    throw usageError('--sasl-username', flags.saslUsername,
      'a password goes with it: --sasl-password or X2_SASL_PASSWORD');
  }
  return { mechanism: flags.saslMechanism ?? SASL_MECHANISM_DEFAULT, username: flags.saslUsername,
    password: flags.saslPassword };
}

/** One log line: what the port asks for, and a warning where passwords cross the network in clear. */
export function describeSasl(sasl: SaslServerOptions & { path: string }, tls: boolean): string {
  return `clients must authenticate with SASL (${sasl.mechanisms.join(', ')}; ${sasl.users.size} user`
    + `${sasl.users.size === 1 ? '' : 's'} from ${sasl.path}; ${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'})`
    + (!tls && sasl.mechanisms.includes('PLAIN') ? '; PLAIN without TLS sends passwords in clear' : '');
}
