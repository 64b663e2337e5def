/**
 * Goal: x2's SCRAM is the RFC's and Kafka's: byte-exact on RFC 7677's SCRAM-SHA-256 exchange
 * (both sides), a wrong proof or an unknown user fails with one and the same message, messages
 * that break the rules (channel binding, a changed nonce, few iterations, a forged server
 * signature) are refused, and SHA-512 completes between x2's own client and server.
 * Method: fixed salt and nonces from RFC 7677 section 3; the other cases run real exchanges.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  invalidCredentialsReason, scramCredential, ScramClientExchange, ScramServerExchange, type ScramCredential,
  type ScramMechanism, type ScramServerStep,
} from './sasl-scram.ts';

// RFC 7677, section 3: user "user", password "pencil".
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = `n,,n=user,r=${CLIENT_NONCE}`;
const SERVER_FIRST = `r=${CLIENT_NONCE}${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`;
const CLIENT_FINAL = `c=biws,r=${CLIENT_NONCE}${SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

const text = (step: ScramServerStep): string => ('token' in step ? step.token.toString('utf8') : step.reason);

function server(mechanism: ScramMechanism, users: Map<string, ScramCredential>, nonce?: string): ScramServerExchange {
  return new ScramServerExchange(mechanism, (user) => users.get(user) ?? null, Buffer.alloc(32, 7), nonce);
}

function rfcServer(): ScramServerExchange {
  return server('SCRAM-SHA-256', new Map([['user', scramCredential('SCRAM-SHA-256', 'pencil', SALT, 4096)]]),
    SERVER_NONCE);
}

describe('SCRAM-SHA-256, RFC 7677 test vector', () => {
  it('the server answers the RFC client byte for byte and accepts its proof', () => {
    const exchange = rfcServer();
    const first = exchange.step(Buffer.from(CLIENT_FIRST));
    expect(first.kind).toBe('continue');
    expect(text(first)).toBe(SERVER_FIRST);
    const final = exchange.step(Buffer.from(CLIENT_FINAL));
    expect(final).toMatchObject({ kind: 'authenticated', username: 'user' });
    expect(text(final)).toBe(SERVER_FINAL);
  });

  it('the client sends the RFC messages and accepts the RFC server signature', () => {
    const client = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pencil', CLIENT_NONCE);
    expect(client.first().toString()).toBe(CLIENT_FIRST);
    expect(client.final(Buffer.from(SERVER_FIRST)).toString()).toBe(CLIENT_FINAL);
    expect(() => client.verify(Buffer.from(SERVER_FINAL))).not.toThrow();
  });

  it('a wrong proof fails, with the message an unknown user gets too', () => {
    const exchange = rfcServer();
    exchange.step(Buffer.from(CLIENT_FIRST));
    const wrong = CLIENT_FINAL.replace('p=dHzb', 'p=dHzc');
    const failed = exchange.step(Buffer.from(wrong));
    expect(failed).toMatchObject({ kind: 'failed', reason: invalidCredentialsReason('SCRAM-SHA-256'),
      username: 'user' });
    const client = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pencil2', CLIENT_NONCE);
    const other = rfcServer();
    const serverFirst = other.step(client.first());
    expect(other.step(client.final((serverFirst as { token: Buffer }).token))).toMatchObject({ kind: 'failed',
      reason: invalidCredentialsReason('SCRAM-SHA-256') });
  });

  it('the client refuses a forged server signature', () => {
    const client = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pencil', CLIENT_NONCE);
    client.first();
    client.final(Buffer.from(SERVER_FIRST));
    expect(() => client.verify(Buffer.from('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).toThrow(/signature/);
    expect(() => client.verify(Buffer.from('e=invalid-proof'))).toThrow(/invalid-proof/);
  });
});

describe('SCRAM rules', () => {
  const users = new Map([['alice', scramCredential('SCRAM-SHA-512', 'secret')]]);

  it('SHA-512 completes between the client and the server', () => {
    const client = new ScramClientExchange('SCRAM-SHA-512', 'alice', 'secret');
    const exchange = server('SCRAM-SHA-512', users);
    const first = exchange.step(client.first());
    const final = exchange.step(client.final((first as { token: Buffer }).token));
    expect(final.kind).toBe('authenticated');
    expect(() => client.verify((final as { token: Buffer }).token)).not.toThrow();
  });

  it('an unknown user gets a normal-looking, stable salt and fails only at the proof', () => {
    const salts = [0, 1].map(() => {
      const first = server('SCRAM-SHA-512', users).step(Buffer.from('n,,n=mallory,r=abc'));
      expect(first.kind).toBe('continue');
      return /s=([^,]+)/.exec(text(first))![1];
    });
    expect(salts[0]).toBe(salts[1]);
    expect(Buffer.from(salts[0]!, 'base64').length).toBe(users.get('alice')!.salt.length);
    const client = new ScramClientExchange('SCRAM-SHA-512', 'mallory', 'secret');
    const exchange = server('SCRAM-SHA-512', users);
    const first = exchange.step(client.first());
    expect(exchange.step(client.final((first as { token: Buffer }).token))).toMatchObject({ kind: 'failed',
      reason: invalidCredentialsReason('SCRAM-SHA-512') });
  });

  it('refuses channel binding, a bad first message, a changed nonce and a proof before the first message', () => {
    for (const bad of ['p=tls-unique,,n=alice,r=abc', 'y,,n=alice,r=abc', 'n,,r=abc,n=alice', 'n,,n=alice,r=a,b',
      'n,a=bob,n=alice,r=abc', 'n,,n=al=ice,r=abc']) {
      expect(server('SCRAM-SHA-512', users).step(Buffer.from(bad)).kind, bad).toBe('failed');
    }
    const exchange = server('SCRAM-SHA-512', users, 'SERVER');
    exchange.step(Buffer.from('n,,n=alice,r=abc'));
    expect(text(exchange.step(Buffer.from('c=biws,r=abcOTHER,p=AAAA')))).toMatch(/nonce/);
    expect(exchange.step(Buffer.from('c=biws,r=abcSERVER,p=AAAA')).kind).toBe('failed'); // over after a failure
  });

  it('the client refuses fewer than 4096 iterations and a nonce that is not its own', () => {
    const client = new ScramClientExchange('SCRAM-SHA-256', 'user', 'pencil', 'abc');
    client.first();
    const salt = randomBytes(16).toString('base64');
    expect(() => client.final(Buffer.from(`r=abcdef,s=${salt},i=4095`))).toThrow(/4096 iterations/);
    expect(() => client.final(Buffer.from(`r=xyzdef,s=${salt},i=4096`))).toThrow(/nonce/);
  });
});
