/**
 * The gateway's TLS listener on its own. Goals: a TLS client gets a socket that carries bytes both
 * ways; a client that never handshakes is dropped after the handshake timeout (Node would keep it)
 * and a plaintext Kafka request is dropped at once, each reported with its kind; TLS 1.1 is
 * refused; with a client CA, a client without a certificate is refused and one the CA signed gets
 * in. Method: real sockets on 127.0.0.1 and certificates made with the openssl CLI in a temp dir.
 */
import { readFileSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, type Server, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../../../test/harness/certificates.ts';
import { makeTempDir } from '../../../test/harness/x2.ts';
import { waitFor } from '../../../test/harness/wait-for.ts';
import { loadTlsServerFiles, type TlsServerFiles } from '../../base/tls-files.ts';
import { createTlsKafkaServer, type HandshakeFailure } from './tls-listener.ts';

const dir = makeTempDir('x2-tls-listener-');
const file = (name: string): string => join(dir, name);
const path = (flag: string, name: string): { flag: string; path: string } => ({ flag, path: file(name) });

let server: Server | null = null;
/** The current listener's failures and clients (a closed listener's late ones go to its own arrays). */
let failures: HandshakeFailure[] = [];
let clients: TLSSocket[] = [];

beforeAll(() => makeTestCertificates(dir));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
  server = null;
});

function serverFiles(clientCa: boolean): TlsServerFiles {
  return loadTlsServerFiles(path('--tls-cert', 'server.pem'), path('--tls-key', 'server.key'),
    clientCa ? path('--tls-client-ca', 'ca.pem') : null)!;
}

/** Listens with an echo on every accepted client; returns the port. */
async function listen(files: TlsServerFiles, handshakeTimeoutMs = 10_000): Promise<number> {
  const ownFailures: HandshakeFailure[] = [];
  const ownClients: TLSSocket[] = [];
  failures = ownFailures;
  clients = ownClients;
  server = createTlsKafkaServer(files, (socket) => {
    ownClients.push(socket);
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
  }, (failure) => ownFailures.push(failure), handshakeTimeoutMs);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return (server!.address() as AddressInfo).port;
}

/** Connects with TLS, sends `hello`, resolves with the echo or the error. */
function tlsEcho(port: number, options: { cert?: string; key?: string; maxVersion?: 'TLSv1.1' } = {}):
Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: readFileSync(file('ca.pem')),
      ...(options.cert === undefined ? {} : { cert: readFileSync(file(options.cert)) }),
      ...(options.key === undefined ? {} : { key: readFileSync(file(options.key)) }),
      // SECLEVEL 0: else this client's own OpenSSL refuses to offer TLS 1.1 and never asks the server.
      ...(options.maxVersion === undefined ? {} : { minVersion: 'TLSv1' as const, maxVersion: options.maxVersion,
        ciphers: 'DEFAULT:@SECLEVEL=0' }),
    }, () => socket.write('hello'));
    socket.on('data', (chunk: Buffer) => { socket.destroy(); resolve(chunk.toString()); });
    socket.on('error', (error: NodeJS.ErrnoException) => { socket.destroy(); resolve(`error ${error.code}`); });
    socket.on('close', () => resolve('closed'));
  });
}

/** A raw TCP client writing `bytes` (none: silent); resolves once the server closes it, with ms taken. */
function rawClient(port: number, bytes: Buffer | null): Promise<number> {
  return new Promise((resolve) => {
    const startedMs = Date.now();
    const socket = connect({ host: '127.0.0.1', port }, () => { if (bytes !== null) socket.write(bytes); });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - startedMs));
  });
}

describe('the TLS Kafka listener', () => {
  it('hands a client that completed its handshake over as a socket carrying bytes both ways', async () => {
    const port = await listen(serverFiles(false));
    expect(await tlsEcho(port)).toBe('hello');
    expect(clients[0]!.getProtocol()).toBe('TLSv1.3');
    expect(failures).toEqual([]);
  });

  it('drops a client that never handshakes after the timeout, and a plaintext request at once', async () => {
    const port = await listen(serverFiles(false), 300);
    const silentMs = await rawClient(port, null);
    expect(silentMs).toBeGreaterThanOrEqual(250);
    expect(failures).toEqual([{ kind: 'timeout', reason: 'no TLS handshake within 300 ms' }]);
    const apiVersions = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff]);
    expect(await rawClient(port, apiVersions)).toBeLessThan(250);
    await waitFor(() => failures.length === 2, { what: 'the plaintext failure' });
    expect(failures[1]!.kind).toBe('plaintext');
    expect(clients).toEqual([]);
  });

  it('refuses TLS 1.1', async () => {
    const port = await listen(serverFiles(false));
    expect(await tlsEcho(port, { maxVersion: 'TLSv1.1' })).toMatch(/^error /);
    await waitFor(() => failures.length === 1, { what: 'the refused handshake' });
    expect(failures[0]).toEqual({ kind: 'other', reason: 'unsupported protocol' });
    expect(clients).toEqual([]);
  });

  it('with a client CA: refuses a client without a certificate or with another CA\'s, serves a signed one',
    async () => {
      const port = await listen(serverFiles(true));
      expect(await tlsEcho(port)).toBe('error ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      // Node closes on a certificate that does not verify without an alert: the client just sees the end.
      expect(await tlsEcho(port, { cert: 'stranger.pem', key: 'stranger.key' })).toBe('closed');
      await waitFor(() => failures.length === 2, { what: 'two refused handshakes' });
      expect(failures).toEqual([
        { kind: 'client-certificate', reason: 'client certificate refused (peer did not return a certificate)' },
        { kind: 'client-certificate', reason: 'client certificate refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE)' },
      ]);
      expect(await tlsEcho(port, { cert: 'client.pem', key: 'client.key' })).toBe('hello');
      expect(clients.map((client) => client.authorized)).toEqual([true]);
    });
});
