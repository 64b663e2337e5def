/**
 * PEM files for TLS on the Kafka port, read and checked once at start: a gateway's certificate,
 * key and optional client CA (`--tls-cert`, `--tls-key`, `--tls-client-ca`), and a client's CA
 * and optional certificate (`--tls-ca`, `--tls-cert`, `--tls-key` of bench and top).
 *
 * Why at start: a missing file, a file that is not PEM, an encrypted key or a key that does not
 * belong to the certificate would otherwise surface at the first connection, as a handshake
 * failure a client reports vaguely. Every problem is an X2_ERR_USAGE naming the flag, the file and
 * what is wrong. Node builds one secure context from the same bytes as a last check, so whatever
 * it would refuse later is refused here.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X2Error } from './errors.ts';

/** The oldest protocol served and spoken (Node's default minimum too; set so a runtime flag cannot lower it). */
export const TLS_VERSION_MIN = 'TLSv1.2';

/** A gateway's TLS material. `clientCa` set: clients must present a certificate it signed. */
export type TlsServerFiles = {
  cert: Buffer; key: Buffer; clientCa: Buffer | null;
  /** The first certificate of `cert` (the gateway's own), for log lines and identity checks. */
  certificate: X509Certificate;
};

/** A client's TLS material: `ca` null trusts Node's bundled CAs; `cert`/`key` null sends no certificate. */
export type TlsClientFiles = { ca: Buffer | null; cert: Buffer | null; key: Buffer | null };

/** File paths as given, with the flags that named them (for the messages). */
export type TlsPath = { flag: string; path: string };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function fileError(file: TlsPath, problem: string): X2Error {
  return new X2Error('X2_ERR_USAGE', `${file.flag} ${JSON.stringify(file.path)}: ${problem}`);
}

function readBytes(file: TlsPath): Buffer {
  try {
    return readFileSync(file.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied'
      : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw fileError(file, `cannot be read (${why})`);
  }
}

/** The certificates of a PEM file, first one first; at least one, each one parsed. */
export function readCertificates(file: TlsPath): { bytes: Buffer; certificates: X509Certificate[] } {
  const bytes = readBytes(file);
  const blocks = bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw fileError(file, 'is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)');
  }
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw fileError(file, `certificate ${index + 1} does not parse (${reasonOf(error)})`);
    }
  });
  return { bytes, certificates };
}

/** An unencrypted PEM private key. */
export function readPrivateKey(file: TlsPath): { bytes: Buffer; key: KeyObject } {
  const bytes = readBytes(file);
  const text = bytes.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw fileError(file, 'is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----" block)');
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw fileError(file, 'is encrypted; an unencrypted key is needed (x2 takes no passphrase)');
  }
  try {
    return { bytes, key: createPrivateKey(bytes) };
  } catch (error) {
    throw fileError(file, `does not parse as a private key (${reasonOf(error)})`);
  }
}

/** OpenSSL's short reason when there is one ("key values mismatch"), else the message. */
export function reasonOf(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : (error as Error).message;
}

/** A certificate and its key: both PEM, and the key is the certificate's. */
function readCertificateAndKey(certFile: TlsPath, keyFile: TlsPath): { cert: Buffer; key: Buffer;
  certificate: X509Certificate; } {
  const { bytes: cert, certificates } = readCertificates(certFile);
  const { bytes: key, key: keyObject } = readPrivateKey(keyFile);
  const certificate = certificates[0]!;
  if (!certificate.checkPrivateKey(keyObject)) {
    throw fileError(keyFile, `is not the key of the certificate in ${certFile.flag} ${JSON.stringify(certFile.path)}`
      + ` (${certificate.subject.replace(/\n/g, ', ')})`);
  }
  return { cert, key, certificate };
}

function bothOrNeither(cert: TlsPath | null, key: TlsPath | null, certFlag: string, keyFlag: string): void {
  if ((cert === null) === (key === null)) return;
  const given = (cert ?? key)!;
  throw new X2Error('X2_ERR_USAGE', `${given.flag}: ${certFlag} and ${keyFlag} go together `
    + `(got only ${given.flag} ${JSON.stringify(given.path)})`);
}

/** A last check by Node itself, with the flags named: what it refuses here it would refuse per connection. */
function checkSecureContext(options: { cert?: Buffer; key?: Buffer; ca?: Buffer }, files: TlsPath[]): void {
  try {
    createSecureContext(options);
  } catch (error) {
    const named = files.map((file) => `${file.flag} ${JSON.stringify(file.path)}`).join(', ');
    throw new X2Error('X2_ERR_USAGE', `${named}: TLS refuses these files (${reasonOf(error)})`);
  }
}

/** A gateway's files; null when no TLS flag is given. `clientCa` alone is a usage error. */
export function loadTlsServerFiles(cert: TlsPath | null, key: TlsPath | null, clientCa: TlsPath | null):
TlsServerFiles | null {
  bothOrNeither(cert, key, '--tls-cert', '--tls-key');
  if (cert === null || key === null) {
    if (clientCa !== null) {
      throw new X2Error('X2_ERR_USAGE', `${clientCa.flag}: it needs --tls-cert and --tls-key (client certificates `
        + `are asked for only on a TLS port; got ${clientCa.flag} ${JSON.stringify(clientCa.path)} alone)`);
    }
    return null;
  }
  const pair = readCertificateAndKey(cert, key);
  const ca = clientCa === null ? null : readCertificates(clientCa).bytes;
  checkSecureContext({ cert: pair.cert, key: pair.key, ...(ca === null ? {} : { ca }) },
    clientCa === null ? [cert, key] : [cert, key, clientCa]);
  return { cert: pair.cert, key: pair.key, clientCa: ca, certificate: pair.certificate };
}

/** A client's files; null when no TLS flag is given (plaintext). */
export function loadTlsClientFiles(ca: TlsPath | null, cert: TlsPath | null, key: TlsPath | null):
TlsClientFiles | null {
  bothOrNeither(cert, key, '--tls-cert', '--tls-key');
  if (ca === null && cert === null) return null;
  const caBytes = ca === null ? null : readCertificates(ca).bytes;
  const pair = cert === null || key === null ? null : readCertificateAndKey(cert, key);
  checkSecureContext({ ...(caBytes === null ? {} : { ca: caBytes }),
    ...(pair === null ? {} : { cert: pair.cert, key: pair.key }) },
  [ca, cert, key].filter((file): file is TlsPath => file !== null));
  return { ca: caBytes, cert: pair?.cert ?? null, key: pair?.key ?? null };
}

/** One line for logs: whose certificate, until when, and a warning when it is not valid now. */
export function describeCertificate(certificate: X509Certificate, nowMs = Date.now()): string {
  const subject = certificate.subject.replace(/\n/g, ', ');
  const fromMs = Date.parse(certificate.validFrom);
  const toMs = Date.parse(certificate.validTo);
  const state = nowMs > toMs ? ' (EXPIRED: clients will refuse it)'
    : nowMs < fromMs ? ' (NOT YET VALID: clients will refuse it)' : '';
  return `${subject}, valid until ${new Date(toMs).toISOString()}${state}`;
}
