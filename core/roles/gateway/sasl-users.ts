/**
 * The gateway's SASL users: built once at start from the users file, what each enabled
 * mechanism needs to check a client, and no password in clear: PLAIN keeps a SHA-256 digest
 * of each password (compared in constant time), SCRAM a credential per mechanism (PBKDF2 with
 * 4096 iterations once per user and mechanism, ~5 ms each, at start only).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SaslMechanism } from '../../kafka/sasl-mechanisms.ts';
import { scramCredential, type ScramCredential, type ScramMechanism } from '../../kafka/sasl-scram.ts';

/** What the gateway's options carry: the enabled mechanisms and the file's users. */
export type SaslServerOptions = { mechanisms: readonly SaslMechanism[]; users: ReadonlyMap<string, string> };

function digest(password: string): Buffer {
  return createHash('sha256').update(password, 'utf8').digest();
}

export class SaslUsers {
  readonly mechanisms: readonly SaslMechanism[];
  readonly #plain = new Map<string, Buffer>();
  readonly #scram = new Map<ScramMechanism, Map<string, ScramCredential>>();
  /** Salts of unknown SCRAM users derive from it, so they look stable (sasl-scram.ts). */
  readonly fakeKey = randomBytes(32);

  constructor(options: SaslServerOptions) {
    this.mechanisms = options.mechanisms;
    for (const mechanism of options.mechanisms) {
      if (mechanism === 'PLAIN') {
        for (const [user, password] of options.users) this.#plain.set(user, digest(password));
        continue;
      }
      const credentials = new Map<string, ScramCredential>();
      for (const [user, password] of options.users) credentials.set(user, scramCredential(mechanism, password));
      this.#scram.set(mechanism, credentials);
    }
  }

  /** Whether PLAIN is enabled and `password` is the user's; the same work for an unknown user. */
  plainMatches(user: string, password: string): boolean {
    const expected = this.#plain.get(user);
    const matches = timingSafeEqual(digest(password), expected ?? this.fakeKey);
    return expected !== undefined && matches;
  }

  scramCredential(mechanism: ScramMechanism, user: string): ScramCredential | null {
    return this.#scram.get(mechanism)?.get(user) ?? null;
  }
}
