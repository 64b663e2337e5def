/**
 * The gateway's SaslHandshake (17) and SaslAuthenticate (36) handlers and the raw tokens that
 * follow a SaslHandshake v0: each feeds the connection's SaslSession (sasl-session.ts), answers,
 * counts the outcome (x2_gateway_sasl_authentications_total, x2_gateway_sasl_failures_total),
 * logs failures rate-limited with the peer and the claimed user (never a password), and closes
 * the connection after the answer when the session says so. On a port without SASL both APIs
 * get ILLEGAL_SASL_STATE, as Kafka answers them on a PLAINTEXT listener.
 */
import { saslAuthenticate, type SaslAuthenticateRequest } from '../../kafka/api/36-sasl-authenticate.ts';
import { saslHandshake, type SaslHandshakeRequest } from '../../kafka/api/17-sasl-handshake.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import type { Connection, RequestContext } from './connection.ts';
import type { Gateway } from './gateway.ts';
import type { TokenAnswer } from './sasl-session.ts';

const EMPTY = Buffer.alloc(0);

export function handleSaslHandshake(gateway: Gateway, context: RequestContext, request: SaslHandshakeRequest): void {
  const session = context.connection.sasl;
  if (session === null) {
    return context.respond(saslHandshake, { errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE, mechanisms: [] });
  }
  const answer = session.handshake(request.mechanism, context.apiVersion);
  context.respond(saslHandshake, { errorCode: answer.errorCode, mechanisms: answer.mechanisms });
  if (answer.errorCode === KAFKA_ERROR.UNSUPPORTED_SASL_MECHANISM) {
    gateway.saslFailures += 1;
    gateway.log.limited('warn', 'sasl-mechanism', `closing connection from ${context.connection.clientHost}: SASL `
      + `mechanism ${JSON.stringify(request.mechanism)} is not enabled (enabled: ${answer.mechanisms.join(', ')})`);
  }
  if (answer.close) context.connection.endAfterAnswers();
}

export function handleSaslAuthenticate(gateway: Gateway, context: RequestContext,
  request: SaslAuthenticateRequest): void {
  const session = context.connection.sasl;
  if (session === null) {
    return context.respond(saslAuthenticate, { errorCode: KAFKA_ERROR.ILLEGAL_SASL_STATE,
      errorMessage: 'this port does not use SASL', authBytes: EMPTY, sessionLifetimeMs: 0 });
  }
  const answer = session.authenticate(request.authBytes);
  context.respond(saslAuthenticate, { errorCode: answer.errorCode, errorMessage: answer.errorMessage,
    authBytes: answer.token, sessionLifetimeMs: 0 });
  settle(gateway, context.connection, answer);
}

/** A raw token after SaslHandshake v0: the answer is a raw token too; a failure only closes (as Kafka does). */
export function handleRawSaslToken(gateway: Gateway, connection: Connection, token: Buffer): void {
  const session = connection.sasl;
  if (session === null) return;
  const answer = session.authenticate(token);
  if (answer.outcome === 'continue' || answer.outcome === 'authenticated') connection.respondRawToken(answer.token);
  settle(gateway, connection, answer);
}

function settle(gateway: Gateway, connection: Connection, answer: TokenAnswer): void {
  if (answer.outcome === 'authenticated') {
    gateway.saslAuthentications += 1;
    connection.onAuthenticated();
    return;
  }
  if (answer.outcome === 'failed') {
    gateway.saslFailures += 1;
    const user = answer.username === null ? '' : ` as user ${JSON.stringify(answer.username)}`;
    gateway.log.limited('warn', 'sasl-failed', `closing connection from ${connection.clientHost}: SASL `
      + `${connection.sasl?.mechanism ?? ''} authentication${user} failed: ${answer.errorMessage ?? ''}`);
  } else if (answer.outcome === 'illegal-state') {
    gateway.log.limited('warn', 'sasl-state', `${answer.close ? 'closing connection from' : 'answering'} `
      + `${connection.clientHost}: ${answer.errorMessage ?? ''}`);
  }
  if (answer.close) connection.endAfterAnswers();
}
