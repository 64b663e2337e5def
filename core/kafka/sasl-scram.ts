/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka does them: gs2 header "n,," (no
 * channel binding; an authzid is allowed only if it is the user name), at least
 * SCRAM_ITERATIONS_MIN iterations, passwords taken as UTF-8 bytes without SASLprep (Kafka's
 * ScramFormatter does the same, so a password works alike with every client), and a client-final
 * nonce that ends with the combined nonce (Kafka's check; librdkafka repeats its own part).
 *
 * Server side (`ScramServerExchange`, one per authentication): client-first -> server-first,
 * client-final -> server-final or a failure. It sees only a credential (salt, iterations,
 * StoredKey, ServerKey: `scramCredential`, computed once per user at load), never a password.
 * An unknown user gets a made-up but stable salt and fails at the proof like a wrong password,
 * so the exchange does not say which of the two was wrong.
 * Client side (`ScramClientExchange`): x2's own clients (bench, top); it checks the server's
 * signature, so a server that does not know the password cannot pass for the gateway.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../base/assert.ts';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** RFC 7677's minimum, and Kafka's: its clients refuse fewer. */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_SALT_BYTES = 16;
/** Nonce bytes before base64 (RFC 5802 asks for unpredictable; 24 bytes give 192 bits). */
const NONCE_BYTES = 24;

const HASH_OF = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' } as const;
const HASH_BYTES_OF = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 } as const;

/** What a server keeps of a password (RFC 5802 section 3). */
export type ScramCredential = { salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer };

function hmac(mechanism: ScramMechanism, key: Buffer, text: string | Buffer): Buffer {
  return createHmac(HASH_OF[mechanism], key).update(text).digest();
}

function hash(mechanism: ScramMechanism, bytes: Buffer): Buffer {
  return createHash(HASH_OF[mechanism]).update(bytes).digest();
}

function xor(left: Buffer, right: Buffer): Buffer {
  const result = Buffer.allocUnsafe(left.length);
  for (let i = 0; i < left.length; i++) result[i] = left[i]! ^ right[i]!;
  return result;
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC. */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, HASH_BYTES_OF[mechanism], HASH_OF[mechanism]);
}

/** A server's credential for `password` (a fresh random salt unless one is given). */
export function scramCredential(mechanism: ScramMechanism, password: string,
  salt = randomBytes(SCRAM_SALT_BYTES), iterations = SCRAM_ITERATIONS_MIN): ScramCredential {
  const salted = saltedPassword(mechanism, password, salt, iterations);
  return {
    salt, iterations,
    storedKey: hash(mechanism, hmac(mechanism, salted, 'Client Key')),
    serverKey: hmac(mechanism, salted, 'Server Key'),
  };
}

/** "k=v,k=v,..." in order; null when an attribute is not a letter, "=" and a value. */
function parseAttributes(text: string): [string, string][] | null {
  const attributes: [string, string][] = [];
  for (const part of text.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) return null;
    attributes.push([part[0]!, part.slice(2)]);
  }
  return attributes;
}

/** saslname of RFC 5802: "," and "=" are sent as "=2C" and "=3D"; any other "=" is invalid. */
function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Printable ASCII except ",": what RFC 5802 allows in a nonce. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

export type ScramServerStep =
  | { kind: 'continue'; token: Buffer }
  | { kind: 'authenticated'; token: Buffer; username: string }
  | { kind: 'failed'; reason: string; username: string | null };

/** The failure every wrong user or password gets, whichever it was. */
export function invalidCredentialsReason(mechanism: string): string {
  return `Authentication failed: invalid username or password (SASL mechanism ${mechanism})`;
}

/**
 * One server-side SCRAM authentication. `credentialOf` returns null for an unknown user;
 * `fakeKey` (random per gateway) makes that user's salt stable across attempts.
 */
export class ScramServerExchange {
  readonly mechanism: ScramMechanism;
  readonly #credentialOf: (username: string) => ScramCredential | null;
  readonly #fakeKey: Buffer;
  readonly #serverNonce: string;
  #state: 'first' | 'final' | 'done' = 'first';
  #username = '';
  #known = false;
  #credential: ScramCredential | null = null;
  #gs2Header = '';
  #nonce = '';
  #clientFirstBare = '';
  #serverFirst = '';

  constructor(mechanism: ScramMechanism, credentialOf: (username: string) => ScramCredential | null,
    fakeKey: Buffer, serverNonce = randomBytes(NONCE_BYTES).toString('base64')) {
    this.mechanism = mechanism;
    this.#credentialOf = credentialOf;
    this.#fakeKey = fakeKey;
    this.#serverNonce = serverNonce;
  }

  step(token: Buffer): ScramServerStep {
    if (this.#state === 'first') return this.#first(token.toString('utf8'));
    if (this.#state === 'final') return this.#final(token.toString('utf8'));
    return this.#fail('the SCRAM exchange is over');
  }

  #fail(reason: string): ScramServerStep {
    this.#state = 'done';
    return { kind: 'failed', reason, username: this.#username === '' ? null : this.#username };
  }

  #first(message: string): ScramServerStep {
    const header = /^n,(a=[^,]*)?,/.exec(message);
    if (header === null) {
      return this.#fail('SCRAM client-first message must start with the gs2 header "n,," '
        + '(channel binding is not supported)');
    }
    this.#gs2Header = header[0];
    this.#clientFirstBare = message.slice(header[0].length);
    const attributes = parseAttributes(this.#clientFirstBare);
    if (attributes === null || attributes.length < 2 || attributes[0]![0] !== 'n' || attributes[1]![0] !== 'r') {
      return this.#fail('SCRAM client-first message must be n=<user>,r=<nonce>');
    }
    const username = decodeSaslName(attributes[0]![1]);
    const clientNonce = attributes[1]![1];
    if (username === null || username === '') return this.#fail('SCRAM user name is empty or badly escaped');
    this.#username = username;
    if (!NONCE.test(clientNonce)) return this.#fail('SCRAM client nonce is empty or not printable ASCII');
    const authzid = header[1] === undefined ? '' : decodeSaslName(header[1].slice(2));
    if (authzid !== '' && authzid !== username) {
      return this.#fail('SCRAM authorization id must be empty or the user name');
    }
    const credential = this.#credentialOf(username);
    this.#known = credential !== null;
    this.#credential = credential ?? this.#fakeCredential(username);
    this.#nonce = clientNonce + this.#serverNonce;
    this.#serverFirst = `r=${this.#nonce},s=${this.#credential.salt.toString('base64')},`
      + `i=${this.#credential.iterations}`;
    this.#state = 'final';
    return { kind: 'continue', token: Buffer.from(this.#serverFirst, 'utf8') };
  }

  /** A stable salt per (mechanism, user) and keys no password leads to. */
  #fakeCredential(username: string): ScramCredential {
    const salt = createHmac('sha256', this.#fakeKey).update(`${this.mechanism}\u0000${username}`).digest()
      .subarray(0, SCRAM_SALT_BYTES);
    const keyBytes = HASH_BYTES_OF[this.mechanism];
    return { salt, iterations: SCRAM_ITERATIONS_MIN, storedKey: randomBytes(keyBytes),
      serverKey: randomBytes(keyBytes) };
  }

  #final(message: string): ScramServerStep {
    const proofAt = message.lastIndexOf(',p=');
    const withoutProof = proofAt < 0 ? message : message.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    if (proofAt < 0 || attributes === null || attributes.length < 2 || attributes[0]![0] !== 'c'
      || attributes[1]![0] !== 'r') {
      return this.#fail('SCRAM client-final message must be c=<binding>,r=<nonce>,p=<proof>');
    }
    if (attributes[0]![1] !== Buffer.from(this.#gs2Header, 'utf8').toString('base64')) {
      return this.#fail('SCRAM channel binding does not repeat the gs2 header');
    }
    // endsWith, as Kafka checks: librdkafka 2.0.2 sends its own nonce again before the combined one.
    // The proof covers the message as sent, so it still proves this exchange.
    if (!attributes[1]![1].endsWith(this.#nonce)) return this.#fail('SCRAM nonce does not match the server\'s');
    const credential = this.#credential;
    assert(credential !== null, 'a SCRAM client-final message is read only after a client-first one');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    this.#state = 'done';
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage);
    const matches = proof.length === clientSignature.length
      && timingSafeEqual(hash(this.mechanism, xor(proof, clientSignature)), credential.storedKey);
    if (!matches || !this.#known) return this.#fail(invalidCredentialsReason(this.mechanism));
    const serverSignature = hmac(this.mechanism, credential.serverKey, authMessage);
    return { kind: 'authenticated', username: this.#username,
      token: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
  }
}

/** One client-side SCRAM authentication: first(), then final(serverFirst), then verify(serverFinal). */
export class ScramClientExchange {
  readonly mechanism: ScramMechanism;
  readonly #username: string;
  readonly #password: string;
  readonly #clientNonce: string;
  #clientFirstBare = '';
  #serverSignature: Buffer | null = null;

  constructor(mechanism: ScramMechanism, username: string, password: string,
    clientNonce = randomBytes(NONCE_BYTES).toString('base64')) {
    this.mechanism = mechanism;
    this.#username = username;
    this.#password = password;
    this.#clientNonce = clientNonce;
  }

  first(): Buffer {
    this.#clientFirstBare = `n=${encodeSaslName(this.#username)},r=${this.#clientNonce}`;
    return Buffer.from(`n,,${this.#clientFirstBare}`, 'utf8');
  }

  /** The client-final message; throws when the server-first message is not acceptable. */
  final(serverFirstToken: Buffer): Buffer {
    const serverFirst = serverFirstToken.toString('utf8');
    const attributes = new Map(parseAttributes(serverFirst) ?? []);
    const nonce = attributes.get('r') ?? '';
    const salt = Buffer.from(attributes.get('s') ?? '', 'base64');
    const iterations = Number(attributes.get('i'));
    if (!nonce.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) {
      throw new Error(`SCRAM server-first message has a nonce that does not extend ours (got ${JSON.stringify(
        serverFirst)})`);
    }
    if (salt.length === 0 || !Number.isSafeInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN) {
      throw new Error(`SCRAM server-first message needs a salt and at least ${SCRAM_ITERATIONS_MIN} iterations `
        + `(got ${JSON.stringify(serverFirst)})`);
    }
    const salted = saltedPassword(this.mechanism, this.#password, salt, iterations);
    const clientKey = hmac(this.mechanism, salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism, hash(this.mechanism, clientKey), authMessage);
    this.#serverSignature = hmac(this.mechanism, hmac(this.mechanism, salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${xor(clientKey, clientSignature).toString('base64')}`, 'utf8');
  }

  /** Throws unless the server-final message proves the server knows the credential. */
  verify(serverFinalToken: Buffer): void {
    const serverFinal = serverFinalToken.toString('utf8');
    const attributes = new Map(parseAttributes(serverFinal) ?? []);
    const error = attributes.get('e');
    if (error !== undefined) throw new Error(`SCRAM server refused the authentication: ${error}`);
    const signature = Buffer.from(attributes.get('v') ?? '', 'base64');
    if (this.#serverSignature === null || signature.length !== this.#serverSignature.length
      || !timingSafeEqual(signature, this.#serverSignature)) {
      throw new Error('SCRAM server signature is wrong: the server does not hold this user\'s credential');
    }
  }
}
