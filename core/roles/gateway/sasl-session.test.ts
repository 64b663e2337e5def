/**
 * Goal: a connection's SASL state machine follows its table (sasl-session.ts): only ApiVersions
 * and the SASL APIs pass before authentication; an unknown mechanism gets 33 with the enabled
 * list; a token out of sequence 34; wrong credentials 58 with one message whether the user or
 * the password was wrong, each closing; PLAIN and SCRAM succeed; v0 handshakes switch to raw tokens.
 * Method: sessions over a SaslUsers table built from two users, driven call by call.
 */
import { describe, expect, it } from 'vitest';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import { encodePlainToken } from '../../kafka/sasl-plain.ts';
import { ScramClientExchange } from '../../kafka/sasl-scram.ts';
import { SaslSession } from './sasl-session.ts';
import { SaslUsers } from './sasl-users.ts';

const USERS = new SaslUsers({ mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
  users: new Map([['alice', 'secret'], ['bob', 'hunter2']]) });

describe('SaslSession', () => {
  it('allows only ApiVersions, SaslHandshake and SaslAuthenticate before authentication', () => {
    const session = new SaslSession(USERS);
    expect([18, 17, 36].map((key) => session.allows(key))).toEqual([true, true, true]);
    expect([0, 1, 3, 10, 19].map((key) => session.allows(key))).toEqual([false, false, false, false, false]);
  });

  it('PLAIN: the right password authenticates, then every API is allowed and SASL is illegal', () => {
    const session = new SaslSession(USERS);
    expect(session.handshake('PLAIN', 1)).toEqual({ errorCode: 0, close: false,
      mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
    expect(session.expectsRawToken).toBe(false);
    const answer = session.authenticate(encodePlainToken('alice', 'secret'));
    expect(answer).toMatchObject({ outcome: 'authenticated', errorCode: 0, close: false, username: 'alice' });
    expect(session.user).toBe('alice');
    expect(session.allows(0)).toBe(true);
    expect(session.authenticate(encodePlainToken('alice', 'secret'))).toMatchObject({
      outcome: 'illegal-state', errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, close: false });
    expect(session.handshake('PLAIN', 1)).toMatchObject({ errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, close: false });
  });

  it('a wrong password and an unknown user fail alike (58, closed); nothing is allowed after', () => {
    const messages = [['alice', 'wrong'], ['mallory', 'secret']].map(([user, password]) => {
      const session = new SaslSession(USERS);
      session.handshake('PLAIN', 1);
      const answer = session.authenticate(encodePlainToken(user!, password!));
      expect(answer).toMatchObject({ outcome: 'failed', errorCode: KAFKA_ERROR.SASL_AUTHENTICATION_FAILED,
        close: true });
      expect(session.allows(3)).toBe(false);
      return answer.errorMessage;
    });
    expect(messages[0]).toBe(messages[1]);
    expect(messages[0]).toMatch(/invalid username or password/);
  });

  it('an unknown or disabled mechanism gets 33 with the enabled ones, and closes', () => {
    expect(new SaslSession(USERS).handshake('GSSAPI', 1)).toEqual({ errorCode: KAFKA_ERROR.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], close: true });
    const scramOnly = new SaslUsers({ mechanisms: ['SCRAM-SHA-512'], users: new Map([['alice', 'secret']]) });
    expect(new SaslSession(scramOnly).handshake('PLAIN', 1)).toEqual({
      errorCode: KAFKA_ERROR.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['SCRAM-SHA-512'], close: true });
  });

  it('a token before the handshake or a second handshake is out of sequence (34, closed)', () => {
    expect(new SaslSession(USERS).authenticate(encodePlainToken('alice', 'secret'))).toMatchObject({
      outcome: 'illegal-state', errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, close: true });
    const session = new SaslSession(USERS);
    session.handshake('PLAIN', 1);
    expect(session.handshake('PLAIN', 1)).toMatchObject({ errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, close: true });
  });

  it('SCRAM-SHA-256 over a v0 handshake: raw tokens until authenticated', () => {
    const session = new SaslSession(USERS);
    session.handshake('SCRAM-SHA-256', 0);
    expect(session.expectsRawToken).toBe(true);
    const client = new ScramClientExchange('SCRAM-SHA-256', 'bob', 'hunter2');
    const first = session.authenticate(client.first());
    expect(first).toMatchObject({ outcome: 'continue', errorCode: 0 });
    const final = session.authenticate(client.final(first.token));
    expect(final).toMatchObject({ outcome: 'authenticated', username: 'bob' });
    expect(() => client.verify(final.token)).not.toThrow();
    expect(session.expectsRawToken).toBe(false);
  });

  it('refuses a token over 64 KiB and a malformed PLAIN token', () => {
    const session = new SaslSession(USERS);
    session.handshake('PLAIN', 1);
    expect(session.authenticate(Buffer.alloc(64 * 1024 + 1))).toMatchObject({ outcome: 'failed', close: true,
      errorMessage: expect.stringMatching(/over the limit/) });
    const other = new SaslSession(USERS);
    other.handshake('PLAIN', 1);
    expect(other.authenticate(Buffer.from('alice:secret'))).toMatchObject({ outcome: 'failed', close: true });
  });
});
