/**
 * `x2 gateway`: the Kafka edge (core/roles/gateway). This file parses and validates flags,
 * resolves the river driver, starts the role and its /metrics server, and stops cleanly on
 * SIGTERM/SIGINT (a `left` membership record first, so the other gateways stop listing it).
 */
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { describeCertificate, TLS_VERSION_MIN } from '../../core/base/tls-files.ts';
import { parseDurationMs } from '../../core/base/units.ts';
import { createRegistry, serveMetrics } from '../../core/metrics/metrics.ts';
import { startMetricsPublisher } from '../../core/metrics/publisher.ts';
import { gatewayClusterFigures } from '../../core/metrics/snapshot-sources.ts';
import type { HostPort } from '../../core/river/address.ts';
import { Gateway } from '../../core/roles/gateway/gateway.ts';
import { RETENTION_CHECK_MS_DEFAULT } from '../../core/roles/gateway/retention.ts';
import {
  bytesParser, DEFAULT_SEQUENCER, hostPortParser, integerParser, resolveRiver, riverOptions, type RiverChoice,
} from '../river-options.ts';
import { serverTlsFrom, tlsServerOptions, type TlsServerFlags } from '../tls-options.ts';
import { describeSasl, saslServerOptions, serverSaslFrom, type SaslServerFlags } from '../sasl-options.ts';

export const DEFAULT_KAFKA_LISTEN = '0.0.0.0:9092';

type GatewayFlags = {
  listen: HostPort; advertise?: HostPort; nodeId: number; sequencer: HostPort; river: RiverChoice; interface?: string;
  metricsPort: number; requestBytesMax: number; tailCacheBytes: number; autoCreateTopics: boolean; partitions: number;
  sessionTimeoutMsMin: number; initialRebalanceDelayMs: number; clusterId: string; commits: number;
  retentionCheckMs: number;
} & TlsServerFlags & SaslServerFlags;

/** `--retention-check-ms`, shared by `x2 gateway` and `x2 commit`: 10ms..1h, a number of ms or with a unit. */
export function retentionCheckMsOption(help: string): Option {
  return new Option('--retention-check-ms <ms>', help).env('X2_RETENTION_CHECK_MS').argParser((value: string) => {
    const ms = parseDurationMs(value, 'ms');
    if (ms === null || !Number.isInteger(ms) || ms < 10 || ms > 3_600_000) {
      throw usageError('--retention-check-ms', value, 'a duration from 10ms to 1h is allowed (e.g. 10000, 500ms, 10s)');
    }
    return ms;
  }).default(RETENTION_CHECK_MS_DEFAULT, '10s');
}

function clusterIdParser(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) throw usageError('--cluster-id', value,
    '1-64 letters, digits, ".", "_" or "-" are allowed');
  return value;
}

export function gatewayCommand(): Command {
  const command = new Command('gateway')
    .description('serve the Kafka protocol: append through the sequencer, read the river and the commits')
    .addOption(new Option('--listen <host:port>', 'Kafka listening address').env('X2_LISTEN')
      .argParser(hostPortParser('--listen')).default(hostPortParser('--listen')(DEFAULT_KAFKA_LISTEN),
        DEFAULT_KAFKA_LISTEN))
    .addOption(new Option('--advertise <host:port>',
      'address clients are told to use (default: --listen, 127.0.0.1 for 0.0.0.0)')
      .env('X2_ADVERTISE').argParser(hostPortParser('--advertise')))
    .addOption(new Option('--node-id <n>', 'this gateway\'s Kafka node id; unique among gateways').env('X2_NODE_ID')
      .argParser(integerParser('--node-id', 0, 2 ** 31 - 1)).default(0))
    .addOption(new Option('--sequencer <host:port>', 'the sequencer control address').env('X2_SEQUENCER')
      .argParser(hostPortParser('--sequencer')).default(hostPortParser('--sequencer')(DEFAULT_SEQUENCER),
        DEFAULT_SEQUENCER))
    .addOption(new Option('--request-bytes-max <size>', 'largest Kafka request accepted; larger closes the connection')
      .env('X2_REQUEST_BYTES_MAX').argParser(bytesParser('--request-bytes-max', 1024,
        1024 ** 3)).default(100 * 1024 * 1024, '100MiB'))
    .addOption(new Option('--tail-cache-bytes <size>', 'memory for the newest batches, served to consumers at the head')
      .env('X2_TAIL_CACHE_BYTES').argParser(bytesParser('--tail-cache-bytes', 0,
        64 * 1024 ** 3)).default(256 * 1024 * 1024, '256MiB'))
    .addOption(new Option('--no-auto-create-topics', 'do not create unknown topics named in Metadata requests'))
    .addOption(new Option('--partitions <n>', 'partition count of auto-created topics and of CreateTopics with -1')
      .env('X2_PARTITIONS').argParser(integerParser('--partitions', 1, 10_000)).default(1))
    .addOption(new Option('--session-timeout-ms-min <ms>', 'smallest consumer session timeout accepted')
      .env('X2_SESSION_TIMEOUT_MS_MIN').argParser(integerParser('--session-timeout-ms-min', 0,
        3_600_000)).default(1000))
    .addOption(new Option('--initial-rebalance-delay-ms <ms>', 'wait before the first rebalance of an empty group')
      .env('X2_INITIAL_REBALANCE_DELAY_MS').argParser(integerParser('--initial-rebalance-delay-ms', 0,
        300_000)).default(0))
    .addOption(new Option('--commits <n>', 'commits in the cluster: CreateTopics replication factors above it are '
      + 'refused (0: the commits the sequencer lists when this gateway joins)').env('X2_COMMITS')
      .argParser(integerParser('--commits', 0, 16)).default(0))
    .addOption(new Option('--cluster-id <id>',
      'cluster id shown in Metadata').env('X2_CLUSTER_ID').argParser(clusterIdParser)
      .default('x2'))
    .addOption(retentionCheckMsOption('how often the controller gateway applies topic retention.ms/retention.bytes'));
  for (const option of tlsServerOptions()) command.addOption(option);
  for (const option of saslServerOptions()) command.addOption(option);
  for (const option of riverOptions()) command.addOption(option);
  return command.action(async (flags: GatewayFlags) => {
    const log = new Log(`gateway ${flags.nodeId}`);
    // Read and checked before anything starts: a bad file fails here, not at the first client.
    const tls = serverTlsFrom(flags);
    if (tls !== null) {
      log.info(`Kafka port speaks TLS only (${TLS_VERSION_MIN} or later; certificate ${describeCertificate(
        tls.certificate)}; client certificates ${tls.clientCa === null ? 'not asked for' : 'required, signed by '
        + `${flags.tlsClientCa}`})`);
    }
    const sasl = serverSaslFrom(flags);
    if (sasl !== null) {
      if (sasl.warning !== null) log.warn(sasl.warning);
      log.info(`Kafka port: ${describeSasl(sasl, tls !== null)}`);
    }
    const river = await resolveRiver(flags.river, flags.interface);
    const registry = createRegistry('gateway');
    const advertisedHost = flags.advertise?.host ?? (flags.listen.host === '0.0.0.0' ? '127.0.0.1' : flags.listen.host);
    const gateway = await Gateway.start({
      nodeId: flags.nodeId, listenHost: flags.listen.host, listenPort: flags.listen.port, advertisedHost,
      advertisedPort: flags.advertise?.port ?? flags.listen.port,
        sequencer: `${flags.sequencer.host}:${flags.sequencer.port}`,
      river: river.mode, interfaceAddress: river.interfaceAddress, requestBytesMax: flags.requestBytesMax,
      cacheBytesMax: flags.tailCacheBytes, autoCreateTopics: flags.autoCreateTopics,
        partitionCountDefault: flags.partitions,
      sessionTimeoutMsMin: flags.sessionTimeoutMsMin, initialRebalanceDelayMs: flags.initialRebalanceDelayMs,
      clusterId: flags.clusterId, commitCount: flags.commits,
      retentionCheckMs: flags.retentionCheckMs, tls, sasl, log, registry,
    });
    const metrics = await serveMetrics(registry, flags.metricsPort);
    const publisher = startMetricsPublisher({ role: 'gateway', nodeId: `gateway-${flags.nodeId}`, river: river.mode,
      registry, sequencer: `${flags.sequencer.host}:${flags.sequencer.port}`, state: () => 'serving',
      cluster: () => gatewayClusterFigures(gateway) });
    log.info(`serving Kafka${tls === null ? '' : ' over TLS'} on ${flags.listen.host}:${gateway.listenPort} as node `
      + `${flags.nodeId} ` +
      `(advertised ${gateway.self.host}:${gateway.self.port}); river ${river.mode} (${river.reason}); ` +
      `replayed to seq ${gateway.state.appliedSeq}; metrics on :${metrics.port}/metrics`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    publisher.close();
    await gateway.close();
    metrics.server.close();
    process.exit(0);
  });
}
