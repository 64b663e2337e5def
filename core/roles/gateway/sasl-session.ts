/**
 * One connection's SASL state on a SASL Kafka port, as Kafka's SaslServerAuthenticator keeps it.
 * Pure: no socket and no clock; connection.ts asks it what may pass and the gateway's
 * SaslHandshake/SaslAuthenticate handlers feed it. Created with the connection, dropped with it.
 *
 * | state         | ApiVersions | SaslHandshake              | SaslAuthenticate or raw token      | other    |
 * |---------------|-------------|----------------------------|------------------------------------|----------|
 * | handshake     | answered    | enabled: -> token; else 33 | 34, closed                         | closed   |
 * | token         | answered    | 34, closed                 | next step; last -> authenticated;  | closed   |
 * |               |             |                            | wrong credentials: 58, closed      |          |
 * | authenticated | answered    | 34                         | 34                                 | served   |
 *
 * "Closed" is after the answer is written (Kafka closes after a failed authentication; a client
 * out of sequence cannot recover). A v0 handshake makes the next frames raw tokens (no request
 * header) until the exchange ends: `expectsRawToken`. Bounds: a token at most SASL_TOKEN_BYTES_MAX.
 */
import { assert } from '../../base/assert.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { decodePlainToken } from '../../kafka/sasl-plain.ts';
import { isSaslMechanism, SASL_TOKEN_BYTES_MAX, type SaslMechanism } from '../../kafka/sasl-mechanisms.ts';
import { invalidCredentialsReason, ScramServerExchange } from '../../kafka/sasl-scram.ts';
import type { SaslUsers } from './sasl-users.ts';

export type SaslState = 'handshake' | 'token' | 'authenticated';

/** API keys answered before authentication: ApiVersions, SaslHandshake, SaslAuthenticate. */
const BEFORE_AUTHENTICATION = new Set([18, 17, 36]);

/** The answer to a SaslHandshake. `close`: the connection is closed once it is written. */
export type HandshakeAnswer = { errorCode: number; mechanisms: string[]; close: boolean };

/**
 * The answer to one token. `continue`: send `token` and wait for the next; `authenticated`: send
 * `token`, the connection may now use every API; `failed` and `illegal-state`: send the error
 * (`errorCode`, `errorMessage`), then close, unless already authenticated (`close` says).
 */
export type TokenAnswer = {
  outcome: 'continue' | 'authenticated' | 'failed' | 'illegal-state';
  errorCode: number; errorMessage: string | null; token: Buffer; close: boolean;
  /** The user the client claimed, when it got that far (for the log line). */
  username: string | null;
};

const EMPTY = Buffer.alloc(0);

export class SaslSession {
  readonly #users: SaslUsers;
  #state: SaslState = 'handshake';
  #rawTokens = false;
  #mechanism: SaslMechanism | null = null;
  #scram: ScramServerExchange | null = null;
  /** The authenticated user. */
  user: string | null = null;

  constructor(users: SaslUsers) {
    this.#users = users;
  }

  get state(): SaslState { return this.#state; }
  get mechanism(): SaslMechanism | null { return this.#mechanism; }

  /** Whether the next frame is a raw SASL token (after a SaslHandshake v0), not a request. */
  get expectsRawToken(): boolean { return this.#rawTokens && this.#state === 'token'; }

  /** Whether a request with this key may be answered now; any other closes the connection. */
  allows(apiKey: number): boolean {
    return this.#state === 'authenticated' || BEFORE_AUTHENTICATION.has(apiKey);
  }

  handshake(mechanism: string, version: number): HandshakeAnswer {
    const enabled = [...this.#users.mechanisms];
    if (this.#state === 'authenticated') {
      return { errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, mechanisms: enabled, close: false };
    }
    if (this.#state !== 'handshake') {
      return { errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, mechanisms: enabled, close: true };
    }
    if (!isSaslMechanism(mechanism) || !this.#users.mechanisms.includes(mechanism)) {
      return { errorCode: KAFKA_ERROR.UNSUPPORTED_SASL_MECHANISM, mechanisms: enabled, close: true };
    }
    this.#mechanism = mechanism;
    this.#rawTokens = version === 0;
    this.#state = 'token';
    if (mechanism !== 'PLAIN') {
      this.#scram = new ScramServerExchange(mechanism, (user) => this.#users.scramCredential(mechanism, user),
        this.#users.fakeKey);
    }
    return { errorCode: KAFKA_ERROR.NONE, mechanisms: enabled, close: false };
  }

  /** One client token, from a SaslAuthenticate request or a raw frame. */
  authenticate(token: Buffer): TokenAnswer {
    if (this.#state !== 'token') {
      const after = this.#state === 'authenticated';
      return this.#answer('illegal-state', KAFKA_ERROR.ILLEGAL_SASL_STATE, after
        ? 'SaslAuthenticate after a successful authentication' : 'SaslAuthenticate before a SaslHandshake', !after);
    }
    const mechanism = this.#mechanism;
    assert(mechanism !== null, 'a mechanism is chosen on the way to the token state');
    if (token.length > SASL_TOKEN_BYTES_MAX) {
      return this.#fail(`Authentication failed: a SASL token of ${token.length} bytes is over the limit of `
        + `${SASL_TOKEN_BYTES_MAX}`, null);
    }
    if (this.#scram === null) {
      const plain = decodePlainToken(token);
      if ('problem' in plain) return this.#fail(`Authentication failed: ${plain.problem}`, null);
      if (!this.#users.plainMatches(plain.username, plain.password)) {
        return this.#fail(invalidCredentialsReason(mechanism), plain.username);
      }
      return this.#authenticated(plain.username, EMPTY);
    }
    const step = this.#scram.step(token);
    if (step.kind === 'failed') {
      const reason = step.reason.startsWith('Authentication failed') ? step.reason
        : `Authentication failed: ${step.reason}`;
      return this.#fail(reason, step.username);
    }
    if (step.kind === 'authenticated') return this.#authenticated(step.username, step.token);
    return { outcome: 'continue', errorCode: KAFKA_ERROR.NONE, errorMessage: null, token: step.token, close: false,
      username: null };
  }

  #authenticated(username: string, token: Buffer): TokenAnswer {
    this.#state = 'authenticated';
    this.#scram = null;
    this.user = username;
    return { outcome: 'authenticated', errorCode: KAFKA_ERROR.NONE, errorMessage: null, token, close: false,
      username };
  }

  #fail(reason: string, username: string | null): TokenAnswer {
    this.#state = 'handshake';
    this.#scram = null;
    return { ...this.#answer('failed', KAFKA_ERROR.SASL_AUTHENTICATION_FAILED, reason, true), username };
  }

  #answer(outcome: TokenAnswer['outcome'], errorCode: number, errorMessage: string, close: boolean): TokenAnswer {
    return { outcome, errorCode, errorMessage, token: EMPTY, close, username: null };
  }
}
