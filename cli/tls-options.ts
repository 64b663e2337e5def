/**
 * TLS flags of the Kafka port: the server side (`x2 gateway`, `x2 up`: --tls-cert, --tls-key,
 * --tls-client-ca) and the client side (`x2 bench` kafka targets, `x2 top`: --tls-ca, --tls-cert,
 * --tls-key). The flags hold paths; the files are read and checked together once the command runs
 * (core/base/tls-files.ts), since a key is checked against its certificate.
 */
import { Option } from 'commander';
import {
  loadTlsClientFiles, loadTlsServerFiles, type TlsClientFiles, type TlsPath, type TlsServerFiles,
} from '../core/base/tls-files.ts';

export type TlsServerFlags = { tlsCert?: string; tlsKey?: string; tlsClientCa?: string };
export type TlsClientFlags = { tlsCa?: string; tlsCert?: string; tlsKey?: string };

const pathOf = (flag: string, path: string | undefined): TlsPath | null =>
  path === undefined || path === '' ? null : { flag, path };

/** --tls-cert, --tls-key, --tls-client-ca with X2_TLS_CERT, X2_TLS_KEY, X2_TLS_CLIENT_CA. */
export function tlsServerOptions(): Option[] {
  return [
    new Option('--tls-cert <file>', 'PEM certificate (chain) of the Kafka port: with --tls-key, the port speaks '
      + 'TLS only (Kafka\'s SSL listener)').env('X2_TLS_CERT'),
    new Option('--tls-key <file>', 'PEM private key of --tls-cert (unencrypted)').env('X2_TLS_KEY'),
    new Option('--tls-client-ca <file>', 'PEM CA certificates: clients must present a certificate one of them '
      + 'signed (Kafka\'s ssl.client.auth=required)').env('X2_TLS_CLIENT_CA'),
  ];
}

/**
 * --tls-ca, --tls-cert, --tls-key of a Kafka client. `env`: top takes X2_TLS_CA and
 * X2_TLS_CLIENT_CERT/KEY (not X2_TLS_CERT, which a shell set up for a gateway would hand it);
 * bench takes no environment, like its other flags.
 */
export function tlsClientOptions(env: boolean): Option[] {
  const options = [
    new Option('--tls-ca <file>', 'connect with TLS, trusting the PEM CA certificates in this file '
      + '(Kafka\'s security.protocol=SSL, ssl.ca.location)'),
    new Option('--tls-cert <file>', 'connect with TLS and present this PEM client certificate (with --tls-key; '
      + 'without --tls-ca the system\'s CAs verify the gateway)'),
    new Option('--tls-key <file>', 'PEM private key of --tls-cert (unencrypted)'),
  ];
  if (env) {
    options[0]!.env('X2_TLS_CA');
    options[1]!.env('X2_TLS_CLIENT_CERT');
    options[2]!.env('X2_TLS_CLIENT_KEY');
  }
  return options;
}

/** The gateway's files, read and checked now; null without --tls-cert/--tls-key. */
export function serverTlsFrom(flags: TlsServerFlags): TlsServerFiles | null {
  return loadTlsServerFiles(pathOf('--tls-cert', flags.tlsCert), pathOf('--tls-key', flags.tlsKey),
    pathOf('--tls-client-ca', flags.tlsClientCa));
}

/** A client's files, read and checked now; null (plaintext) without any TLS flag. */
export function clientTlsFrom(flags: TlsClientFlags): TlsClientFiles | null {
  return loadTlsClientFiles(pathOf('--tls-ca', flags.tlsCa), pathOf('--tls-cert', flags.tlsCert),
    pathOf('--tls-key', flags.tlsKey));
}
