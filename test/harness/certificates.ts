/**
 * Test certificates made with the openssl CLI, as an operator would: a CA (`ca`), a server
 * certificate for IP 127.0.0.1 (`server`, subjectAltName IP:127.0.0.1), a client certificate
 * (`client`) signed by the CA, and a client certificate of another CA (`stranger`, signed by
 * `other-ca`). Each NAME has NAME.pem and NAME.key in the directory; RSA 2048, valid 2 days.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A self-signed CA certificate NAME.pem with its key NAME.key. */
export function makeCa(dir: string, name: string, days = 2): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-days', String(days), '-subj', `/CN=x2 test ${name}`]);
}

/** A key NAME.key and a certificate NAME.pem signed by `ca` (with `extension`, one line of x509v3 config). */
export function makeSignedCertificate(dir: string, name: string, subject: string, ca: string, serial: number,
  extension?: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj',
    subject]);
  const extensionArgs: string[] = [];
  if (extension !== undefined) {
    writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
    extensionArgs.push('-extfile', `${name}.ext`);
  }
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial',
    String(serial), '-days', '2', '-out', `${name}.pem`, ...extensionArgs]);
}

/** ca, other-ca, server (IP 127.0.0.1), client (by ca) and stranger (by other-ca) in `dir`. */
export function makeTestCertificates(dir: string): void {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeSignedCertificate(dir, 'server', '/CN=127.0.0.1', 'ca', 1, 'subjectAltName=IP:127.0.0.1');
  makeSignedCertificate(dir, 'client', '/CN=x2 test client', 'ca', 2);
  makeSignedCertificate(dir, 'stranger', '/CN=x2 test stranger', 'other-ca', 3);
}
