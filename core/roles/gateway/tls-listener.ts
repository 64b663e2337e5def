/**
 * The gateway's Kafka port with TLS (Kafka's SSL listener): a node:tls server that hands each
 * client whose handshake succeeded to the gateway as a socket, exactly like a plaintext one.
 *
 * Protocols: TLS 1.2 and 1.3 (TLS_VERSION_MIN, also Node's default minimum). With a client CA,
 * a client must present a certificate that CA signed, else the handshake fails (Kafka's
 * ssl.client.auth=required); without one no certificate is asked for.
 * Bounds: a handshake not finished within TLS_HANDSHAKE_TIMEOUT_MS is dropped, so half-open
 * handshakes cannot pile up (Node's default is 120 s). A failed handshake closes the socket (Node
 * does not close it after a timeout) and is counted and logged by the caller, which gets a short
 * reason: a plaintext Kafka client on this port says "not TLS".
 * The gateway then reads a client's decrypted bytes into a reused buffer (readTlsWithBuffer in
 * reused-read-buffer.ts), as it reads plaintext ones.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { reasonOf, TLS_VERSION_MIN, type TlsServerFiles } from '../../base/tls-files.ts';

export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export type HandshakeFailure = { kind: 'plaintext' | 'timeout' | 'client-certificate' | 'other'; reason: string };

/** OpenSSL codes of a first record that is not TLS at all (a Kafka frame starts 00 00 ...). */
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LENGTH_MISMATCH', 'ERR_SSL_UNKNOWN_PROTOCOL']);
const CLIENT_CERTIFICATE_CODES = new Set(['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
  'ERR_SSL_CERTIFICATE_VERIFY_FAILED', 'ERR_SSL_NO_CERTIFICATE_RETURNED']);

/**
 * `authorizationError`: Node's verdict on a client certificate, set when one was presented and did
 * not verify; Node then closes the socket itself (no alert), so the error is only a hang-up.
 */
export function classifyHandshakeFailure(error: Error, authorizationError: unknown,
  handshakeTimeoutMs = TLS_HANDSHAKE_TIMEOUT_MS): HandshakeFailure {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (typeof authorizationError === 'string' && authorizationError !== '') {
    return { kind: 'client-certificate', reason: `client certificate refused (${authorizationError})` };
  }
  if (NOT_TLS_CODES.has(code)) {
    return { kind: 'plaintext', reason: 'not TLS (a plaintext client? this port needs security.protocol=SSL)' };
  }
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return { kind: 'timeout', reason: `no TLS handshake within ${handshakeTimeoutMs} ms` };
  }
  if (CLIENT_CERTIFICATE_CODES.has(code)) {
    return { kind: 'client-certificate', reason: `client certificate refused (${reasonOf(error)})` };
  }
  return { kind: 'other', reason: reasonOf(error) };
}

export function createTlsKafkaServer(files: TlsServerFiles, onClient: (socket: TLSSocket) => void,
  onFailure: (failure: HandshakeFailure, remoteAddress: string) => void,
  handshakeTimeoutMs = TLS_HANDSHAKE_TIMEOUT_MS): Server {
  const server = createServer({
    cert: files.cert, key: files.key, minVersion: TLS_VERSION_MIN, handshakeTimeout: handshakeTimeoutMs,
    noDelay: true,
    ...(files.clientCa === null ? {} : { ca: files.clientCa, requestCert: true, rejectUnauthorized: true }),
  }, onClient);
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    onFailure(classifyHandshakeFailure(error, socket.authorizationError, handshakeTimeoutMs),
      socket.remoteAddress ?? 'a client that hung up');
    socket.destroy();
  });
  return server;
}
