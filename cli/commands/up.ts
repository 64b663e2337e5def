/**
 * `x2 up`: a whole cluster on this machine with one command (the embedded default): one
 * sequencer, `--commits` commits (write quorum `--write-quorum`) and `--gateways` gateways, as
 * child processes of this executable (core/up/supervisor.ts). It picks the river once with the
 * probe (on one host: loopback multicast when the kernel delivers it, else unicast over TCP) and
 * passes the choice to every child, waits until every gateway serves, prints the bootstrap
 * address, every role's address, its log file and metrics URL, supervises the children, and
 * stops them all on SIGINT/SIGTERM. Data stays in `--data` for the next start. With --tls-cert and
 * --tls-key every gateway's Kafka port speaks TLS only; with --sasl-users its clients must
 * authenticate with SASL. The files are checked here, before any child starts.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { usageError, X2Error } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { describeCertificate, TLS_VERSION_MIN, type TlsServerFiles } from '../../core/base/tls-files.ts';
import { Supervisor } from '../../core/up/supervisor.ts';
import { parseSidecarSpec, type SidecarSpec } from '../../core/up/sidecar-spec.ts';
import { runProbe } from '../../core/probe/probe.ts';
import { VERSION } from '../version.ts';
import {
  integerParser, LOOPBACK_MTU_BYTES, resolveRiver, riverParser, interfaceParser, type ResolvedRiver,
  type RiverChoice,
} from '../river-options.ts';
import { serverTlsFrom, tlsServerOptions, type TlsServerFlags } from '../tls-options.ts';
import { describeSasl, saslServerOptions, serverSaslFrom, type SaslServerFlags } from '../sasl-options.ts';
import { retentionCheckMsOption } from './gateway.ts';

type UpFlags = {
  data: string; port: number; host: string; gateways: number; commits: number; writeQuorum?: number;
  sequencerPort: number; river: RiverChoice; interface?: string; partitions: number; readyTimeoutMs: number;
  retentionCheckMs: number; sidecar: SidecarSpec[];
} & TlsServerFlags & SaslServerFlags;

/** Collects repeated `--sidecar 'NAME:ARGS'` flags; names must differ. */
function sidecarCollector(value: string, previous: SidecarSpec[]): SidecarSpec[] {
  const result = parseSidecarSpec(value);
  if (!result.ok) throw usageError('--sidecar', value, result.problem);
  if (previous.some((spec) => spec.name === result.spec.name)) {
    throw usageError('--sidecar', value, `a NAME not used by another --sidecar (${result.spec.name} is)`);
  }
  return [...previous, result.spec];
}

/** Sidecar exit statuses a restart cannot mend: bad flags (2), a deliberate --on-error stop (65). */
const SIDECAR_FINAL_EXIT_CODES = [2, 65] as const;

function hostParser(value: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(value)) throw usageError('--host', value, 'an IPv4 address or host name is allowed');
  return value;
}

/** A free TCP port on 127.0.0.1, chosen now (the OS may hand it out again, rarely). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Whether `host:port` can be listened on now (false when another process holds it). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, host, () => server.close(() => resolveFree(true)));
  });
}

/** ApiVersions v0: size 10, api key 18, version 0, correlation id 0x7832, null client id. */
const API_VERSIONS_PROBE = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0x78, 0x32, 0xff, 0xff]);

/**
 * Whether a Kafka gateway answers on `host:port`: an ApiVersions round trip with error 0, not
 * just an accepted connection (another process could hold the port while our gateway cannot bind).
 * A SASL port answers ApiVersions before authentication, so the same probe serves it.
 * With TLS: a handshake in which the port shows our certificate (only our gateway holds its key).
 * No ApiVersions then: with --tls-client-ca the gateway refuses this probe, which has no client
 * certificate, once the handshake is done (TLS 1.3 lets the client see the certificate first).
 */
function servesKafka(host: string, port: number, tls: TlsServerFiles | null): Promise<boolean> {
  if (tls !== null) return showsCertificate(host, port, tls.certificate.fingerprint256);
  return new Promise((resolveServes) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolveServes(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once('connect', () => socket.write(API_VERSIONS_PROBE));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]).subarray(0, 10);
      if (received.length >= 10) finish(received.readInt32BE(4) === 0x7832 && received.readInt16BE(8) === 0);
    });
    socket.once('error', () => finish(false));
    socket.once('end', () => finish(false));
  });
}

function showsCertificate(host: string, port: number, fingerprint256: string): Promise<boolean> {
  return new Promise((resolveShows) => {
    // Not verified against a CA: the fingerprint comparison is the check.
    const socket = connectTls({ host, port, rejectUnauthorized: false, minVersion: TLS_VERSION_MIN });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolveShows(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once('secureConnect', () => {
      const ours = socket.getPeerX509Certificate()?.fingerprint256 === fingerprint256;
      if (!ours) return finish(false);
      // end, not destroy: the handshake's last message must reach the gateway, else it logs a failed one.
      socket.setTimeout(0);
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
      resolveShows(true);
    });
    socket.once('error', () => finish(false));
    socket.once('end', () => finish(false));
  });
}

/**
 * The river of a one-host cluster: with `auto`, multicast on the loopback interface when the
 * probe's self-test on lo passed (the kernel copies each frame to every member; nothing leaves
 * the host), else the unicast river over TCP. An explicit --river/--interface is passed through.
 */
async function chooseRiver(choice: RiverChoice, interfaceAddress: string | undefined): Promise<ResolvedRiver> {
  if (choice !== 'auto') return resolveRiver(choice, interfaceAddress);
  const report = await runProbe({ x2Version: VERSION, multicastTimeoutMs: 300 });
  const loopback = report.multicast.checks.find((check) => check.address === '127.0.0.1');
  if (loopback?.ok) {
    return { mode: 'multicast', interfaceAddress: '127.0.0.1', mtuBytes: LOOPBACK_MTU_BYTES,
      reason: 'one host: loopback multicast (x2 probe: lo passed the self-test, '
        + `${loopback.receivedCount}/${loopback.sentCount} datagrams)` };
  }
  return { mode: 'unicast', interfaceAddress: null, mtuBytes: 1500,
    reason: `one host: unicast over TCP (x2 probe: ${loopback
      ? `lo failed the multicast self-test: ${loopback.reason}` : 'lo was not tested'})` };
}

export function upCommand(): Command {
  const command = new Command('up')
    .description('run a whole cluster on this machine: sequencer, commits and gateways, supervised')
    .addOption(new Option('--data <dir>', 'data directory: one folder per commit, logs in <dir>/logs').env('X2_DATA')
      .default('./x2-data'))
    .addOption(new Option('--port <port>',
      'Kafka port of the first gateway; gateway i listens on port + i').env('X2_PORT')
      .argParser(integerParser('--port', 1, 65535)).default(9092))
    .addOption(new Option('--host <host>', 'address the gateways listen on and advertise').env('X2_HOST')
      .argParser(hostParser).default('127.0.0.1'))
    .addOption(new Option('--gateways <n>',
      'number of gateways').env('X2_GATEWAYS').argParser(integerParser('--gateways', 1, 64))
      .default(1))
    .addOption(new Option('--commits <n>', 'number of commits (each stores every entry)').env('X2_COMMITS')
      .argParser(integerParser('--commits', 1, 16)).default(2))
    .addOption(new Option('--write-quorum <w>', 'commits that must hold an entry before it is acknowledged '
      + '(default: all commits up to 2, else a majority)').env('X2_WRITE_QUORUM')
      .argParser(integerParser('--write-quorum', 1, 16)))
    .addOption(new Option('--sequencer-port <port>', 'sequencer control port on 127.0.0.1 (0 = a free port)')
      .env('X2_SEQUENCER_PORT').argParser(integerParser('--sequencer-port', 0, 65535)).default(7400))
    .addOption(new Option('--river <mode>',
      'river driver: auto (follow x2 probe), multicast or unicast').env('X2_RIVER')
      .argParser(riverParser).default('auto' as RiverChoice))
    .addOption(new Option('--interface <addr>', 'IPv4 address of the interface carrying the multicast river')
      .env('X2_INTERFACE').argParser(interfaceParser))
    .addOption(new Option('--partitions <n>', 'partition count of auto-created topics').env('X2_PARTITIONS')
      .argParser(integerParser('--partitions', 1, 10_000)).default(1))
    .addOption(new Option('--ready-timeout-ms <ms>', 'how long to wait for the cluster to serve before giving up')
      .env('X2_READY_TIMEOUT_MS').argParser(integerParser('--ready-timeout-ms', 1000, 3_600_000)).default(120_000))
    .addOption(new Option('--sidecar <name:args>', 'start a sidecar with the cluster (repeatable): NAME is its '
      + '--name, ARGS the other flags of x2 sidecar, split like a shell splits them')
      .argParser(sidecarCollector).default([] as SidecarSpec[], 'none'))
    .addOption(retentionCheckMsOption('how often gateways apply topic retention and commits delete unneeded segments'));
  for (const option of tlsServerOptions()) command.addOption(option);
  for (const option of saslServerOptions()) command.addOption(option);
  return command
    .action(async (flags: UpFlags) => {
      const tls = serverTlsFrom(flags);
      const sasl = serverSaslFrom(flags);
      if (sasl?.warning) process.stderr.write(`x2 up: warning: ${sasl.warning}\n`);
      const writeQuorum = flags.writeQuorum ?? (flags.commits <= 2 ? flags.commits : Math.floor(flags.commits / 2) + 1);
      if (writeQuorum > flags.commits) {
        throw usageError('--write-quorum', String(writeQuorum), `at most --commits (${flags.commits}) is allowed`);
      }
      if (flags.port + flags.gateways - 1 > 65535) {
        throw usageError('--port', String(flags.port),
          `a port that leaves room for ${flags.gateways} gateways is allowed`);
      }
      for (let nodeId = 0; nodeId < flags.gateways; nodeId++) {
        if (!await portFree(flags.host, flags.port + nodeId)) {
          throw usageError('--port', String(flags.port), `free ports are allowed; ${flags.host}:${flags.port + nodeId} `
            + 'is in use (another x2 up or Kafka?)');
        }
      }
      const dataDir = resolve(flags.data);
      const logDir = join(dataDir, 'logs');
      try {
        mkdirSync(logDir, { recursive: true });
      } catch (error) {
        throw usageError('--data', flags.data,
          `a directory this process can create and write is allowed (${(error as Error).message})`);
      }
      const log = new Log('up');
      const river = await chooseRiver(flags.river, flags.interface);
      const riverArgs = river.mode === 'multicast'
        ? ['--river', 'multicast', '--interface', river.interfaceAddress ?? '127.0.0.1']
        : ['--river', 'unicast'];
      const sequencerPort = flags.sequencerPort || await freePort();
      // A group port and river id of this cluster's own, so two clusters on one host never mix frames.
      const groupArgs = ['--group', `239.192.74.1:${await freePort()}`, '--river-id', String(randomInt(1, 2 ** 31))];
      const sequencer = `127.0.0.1:${sequencerPort}`;
      const metricsPorts = new Map<string, number>();
      const supervisor = new Supervisor(log);
      const addChild = async (name: string, args: string[], file: string,
        finalExitCodes?: readonly number[]): Promise<void> => {
        const metricsPort = await freePort();
        metricsPorts.set(name, metricsPort);
        supervisor.start({ name, args: [...args, ...riverArgs, '--metrics-port', String(metricsPort)],
          logFile: join(logDir, file), ...(finalExitCodes ? { finalExitCodes } : {}) });
      };
      // The datagram size goes to the sequencer (the only sender): without it, an explicit
      // --interface would make it fall back to the 1400-byte default on loopback.
      const mtuArgs = river.mode === 'multicast' ? ['--mtu-bytes', String(river.mtuBytes)] : [];
      await addChild('sequencer', ['sequencer', '--listen', sequencer, '--replication', String(flags.commits),
        '--write-quorum', String(writeQuorum), ...groupArgs, ...mtuArgs], 'sequencer.log');
      for (let index = 1; index <= flags.commits; index++) {
        await addChild(`commit ${index}`, ['commit', '--sequencer', sequencer, '--data', join(dataDir,
          `commit-${index}`),
          '--member-id', `commit-${index}`, '--retention-check-ms', String(flags.retentionCheckMs)],
        `commit-${index}.log`);
      }
      // Absolute paths: the files were checked from this directory.
      const tlsArgs = tls === null ? [] : ['--tls-cert', resolve(flags.tlsCert!), '--tls-key', resolve(flags.tlsKey!),
        ...(flags.tlsClientCa === undefined ? [] : ['--tls-client-ca', resolve(flags.tlsClientCa)])];
      const saslArgs = sasl === null ? [] : ['--sasl-users', resolve(sasl.path),
        '--sasl-mechanisms', sasl.mechanisms.join(',')];
      for (let nodeId = 0; nodeId < flags.gateways; nodeId++) {
        await addChild(`gateway ${nodeId}`, ['gateway', '--sequencer', sequencer, '--listen',
          `${flags.host}:${flags.port + nodeId}`,
          '--node-id', String(nodeId), '--partitions', String(flags.partitions),
          '--commits', String(flags.commits), '--retention-check-ms', String(flags.retentionCheckMs),
          ...tlsArgs, ...saslArgs],
        `gateway-${nodeId}.log`);
      }
      let stopping = false;
      const stopped = new Promise<void>((resolveStopped) => {
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log.info(`${signal}: stopping the cluster (sidecars, gateways, sequencer, commits); `
            + `data stays in ${dataDir}`);
          supervisor.stop(['sidecar', 'gateway', 'sequencer', 'commit'])
            .then(() => resolveStopped(), () => resolveStopped());
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      const deadlineMs = Date.now() + flags.readyTimeoutMs;
      for (let nodeId = 0; nodeId < flags.gateways && !stopping; nodeId++) {
        while (!stopping && !await servesKafka(flags.host, flags.port + nodeId, tls)) {
          if (Date.now() > deadlineMs) {
            await supervisor.stop(['gateway', 'sequencer', 'commit']);
            throw new X2Error('X2_ERR_IO', `the cluster did not serve within ${flags.readyTimeoutMs} ms; ` +
              `see the logs in ${logDir}`);
          }
          await new Promise((wait) => setTimeout(wait, 100));
        }
      }
      // Sidecars start once the gateways serve; a sidecar waits for input topics that do not exist yet.
      for (const spec of stopping ? [] : flags.sidecar) {
        await addChild(`sidecar ${spec.name}`, ['sidecar', ...spec.args, '--name', spec.name, '--sequencer', sequencer],
          `sidecar-${spec.name}.log`, SIDECAR_FINAL_EXIT_CODES);
      }
      if (!stopping) {
        const bootstrap = Array.from({ length: flags.gateways }, (_, i) => `${flags.host}:${flags.port + i}`).join(',');
        const metricsUrl = (name: string): string => `http://127.0.0.1:${metricsPorts.get(name)}/metrics`;
        const protocol = sasl === null ? 'ssl' : tls === null ? 'sasl_plaintext' : 'sasl_ssl';
        const kcatTls = (tls === null && sasl === null ? '' : ` -X security.protocol=${protocol}`)
          + (tls === null ? '' : ' -X ssl.ca.location=CA.pem')
          + (sasl === null ? '' : ` -X sasl.mechanisms=${sasl.mechanisms[sasl.mechanisms.length - 1]} `
            + '-X sasl.username=USER -X sasl.password=PASSWORD');
        const lines = [
          `x2 up: cluster serving; bootstrap ${bootstrap}${tls === null ? '' : ' (TLS only)'}`,
          `  river      ${river.mode} (${river.reason})`,
          ...(tls === null ? [] : [`  tls        ${TLS_VERSION_MIN}+, certificate `
            + `${describeCertificate(tls.certificate)}; client certificates `
            + `${tls.clientCa === null ? 'not asked for' : `required (${flags.tlsClientCa})`}`]),
          ...(sasl === null ? [] : [`  sasl       ${describeSasl({ ...sasl, path: resolve(sasl.path) },
            tls !== null)}`]),
          `  sequencer  ${sequencer}  R=${flags.commits} W=${writeQuorum}  log ${join(logDir, 'sequencer.log')}  `
            + `metrics ${metricsUrl('sequencer')}`,
          ...Array.from({ length: flags.commits }, (_, i) => `  commit ${i + 1}   data ${join(dataDir, `commit-${i
            + 1}`)}  ` +
            `log ${join(logDir, `commit-${i + 1}.log`)}  metrics ${metricsUrl(`commit ${i + 1}`)}`),
          ...Array.from({ length: flags.gateways }, (_, i) => `  gateway ${i}  ${flags.host}:${flags.port + i}  ` +
            `log ${join(logDir, `gateway-${i}.log`)}  metrics ${metricsUrl(`gateway ${i}`)}`),
          ...flags.sidecar.map((spec) => `  sidecar ${spec.name}  log ${join(logDir, `sidecar-${spec.name}.log`)}  `
            + `metrics ${metricsUrl(`sidecar ${spec.name}`)}`),
          `  watch      kcat -b ${flags.host}:${flags.port}${kcatTls} -L ; curl -s ${metricsUrl('sequencer')} ; `
            + `tail -f ${logDir}/*.log`,
          '  stop       Ctrl-C (or SIGTERM); data stays for the next x2 up',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      await stopped;
      log.info('stopped');
      process.exit(0);
    });
}
