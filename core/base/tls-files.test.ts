/**
 * Reading and checking TLS files at start. Goals: a certificate chain loads with its leaf as the
 * gateway's certificate; every bad file is refused naming the flag, the file and the problem (an
 * encrypted key, a second certificate that does not parse, a key that is not the certificate's, a
 * certificate without its key, a client CA alone); a client's files are optional one by one; the
 * log line warns about a certificate that is expired or not valid yet.
 * Method: files made with the openssl CLI in a temp dir, read through the loaders.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, openssl } from '../../test/harness/certificates.ts';
import { makeTempDir } from '../../test/harness/x2.ts';
import { describeCertificate, loadTlsClientFiles, loadTlsServerFiles, type TlsPath } from './tls-files.ts';

const dir = makeTempDir('x2-tls-files-');
const file = (name: string): string => join(dir, name);
const path = (flag: string, name: string): TlsPath => ({ flag, path: file(name) });

beforeAll(() => {
  makeTestCertificates(dir);
  writeFileSync(file('chain.pem'), readFileSync(file('server.pem'), 'utf8') + readFileSync(file('ca.pem'), 'utf8'));
  writeFileSync(file('broken-chain.pem'), `${readFileSync(file('server.pem'), 'utf8')}-----BEGIN CERTIFICATE-----\n`
    + 'bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', 'pass:secret', '-out', 'encrypted.key']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (load: () => unknown): string => {
  try {
    load();
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'loaded';
};

describe('TLS files', () => {
  it('loads a chain; the gateway\'s certificate is its first one', () => {
    const files = loadTlsServerFiles(path('--tls-cert', 'chain.pem'), path('--tls-key', 'server.key'),
      path('--tls-client-ca', 'ca.pem'))!;
    expect(files.certificate.subject).toBe('CN=127.0.0.1');
    expect(files.clientCa).not.toBeNull();
    expect(loadTlsServerFiles(null, null, null)).toBeNull();
  });

  it('refuses bad files naming the flag, the file and the problem', () => {
    const server = (cert: string, key: string): string =>
      refusal(() => loadTlsServerFiles(path('--tls-cert', cert), path('--tls-key', key), null));
    expect(server('server.pem', 'encrypted.key')).toBe(`X2_ERR_USAGE: --tls-key "${file('encrypted.key')}": `
      + 'is encrypted; an unencrypted key is needed (x2 takes no passphrase)');
    expect(server('broken-chain.pem', 'server.key')).toMatch(new RegExp(
      `^X2_ERR_USAGE: --tls-cert "${file('broken-chain.pem')}": certificate 2 does not parse`));
    expect(server('client.pem', 'server.key')).toBe(`X2_ERR_USAGE: --tls-key "${file('server.key')}": is not the `
      + `key of the certificate in --tls-cert "${file('client.pem')}" (CN=x2 test client)`);
    expect(refusal(() => loadTlsServerFiles(null, path('--tls-key', 'server.key'), null))).toBe('X2_ERR_USAGE: '
      + `--tls-key: --tls-cert and --tls-key go together (got only --tls-key "${file('server.key')}")`);
    expect(refusal(() => loadTlsServerFiles(null, null, path('--tls-client-ca', 'ca.pem')))).toMatch(
      /^X2_ERR_USAGE: --tls-client-ca: it needs --tls-cert and --tls-key/);
  });

  it('takes a client\'s files one by one: CA only, certificate only, both, none', () => {
    expect(loadTlsClientFiles(null, null, null)).toBeNull();
    const caOnly = loadTlsClientFiles(path('--tls-ca', 'ca.pem'), null, null)!;
    expect([caOnly.ca !== null, caOnly.cert, caOnly.key]).toEqual([true, null, null]);
    const certificateOnly = loadTlsClientFiles(null, path('--tls-cert', 'client.pem'),
      path('--tls-key', 'client.key'))!;
    expect([certificateOnly.ca, certificateOnly.cert !== null]).toEqual([null, true]);
    expect(refusal(() => loadTlsClientFiles(path('--tls-ca', 'ca.pem'), path('--tls-cert', 'client.pem'), null)))
      .toMatch(/^X2_ERR_USAGE: --tls-cert: --tls-cert and --tls-key go together/);
    expect(refusal(() => loadTlsClientFiles(path('--tls-ca', 'client.key'), null, null)))
      .toMatch(/^X2_ERR_USAGE: --tls-ca ".*client\.key": is not a PEM certificate/);
  });

  it('warns in the log line about a certificate outside its validity', () => {
    const { certificate } = loadTlsServerFiles(path('--tls-cert', 'server.pem'), path('--tls-key', 'server.key'),
      null)!;
    const validToMs = Date.parse(certificate.validTo);
    expect(describeCertificate(certificate)).toMatch(/^CN=127\.0\.0\.1, valid until \S+Z$/);
    expect(describeCertificate(certificate, validToMs + 1000)).toContain('(EXPIRED: clients will refuse it)');
    expect(describeCertificate(certificate, Date.parse(certificate.validFrom) - 1000))
      .toContain('(NOT YET VALID: clients will refuse it)');
  });
});
