/**
 * `x2 sequencer`: the process that orders every append into the river (core/roles/sequencer).
 * This file parses and validates flags, resolves the river driver, starts the role and its
 * /metrics server, and stops cleanly on SIGTERM/SIGINT.
 */
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { createRegistry, serveMetrics } from '../../core/metrics/metrics.ts';
import { startMetricsPublisher } from '../../core/metrics/publisher.ts';
import type { HostPort } from '../../core/river/address.ts';
import { Sequencer } from '../../core/roles/sequencer/sequencer.ts';
import {
  bytesParser, DEFAULT_GROUP, DEFAULT_SEQUENCER, groupParser, hostPortParser, integerParser, resolveRiver, riverOptions,
  type RiverChoice,
} from '../river-options.ts';

type SequencerFlags = {
  listen: HostPort; replication: number; writeQuorum?: number; river: RiverChoice; interface?: string; group: HostPort;
  metricsPort: number; ringBytes: number; mtuBytes?: number; heartbeatMs: number; riverId: number;
};

export function sequencerCommand(): Command {
  const command = new Command('sequencer')
    .description('order appends into the river: assign seqs and offsets, multicast, track the committed seq')
    .addOption(new Option('--listen <host:port>',
      'control address: appenders and members connect here').env('X2_LISTEN')
      .argParser(hostPortParser('--listen')).default(hostPortParser('--listen')(DEFAULT_SEQUENCER), DEFAULT_SEQUENCER))
    .addOption(new Option('--replication <r>',
      'number of commits that store every entry (R; 0 = no durability, bench only)')
      .env('X2_REPLICATION').argParser(integerParser('--replication', 0, 16)).default(1))
    .addOption(new Option('--write-quorum <w>', 'commits that must have an entry on disk before it is committed '
      + '(1 <= W <= R; default: a majority)').env('X2_WRITE_QUORUM').argParser(integerParser('--write-quorum', 1, 16)))
    .addOption(new Option('--group <addr:port>', 'multicast group and port of the river').env('X2_GROUP')
      .argParser(groupParser).default(groupParser(DEFAULT_GROUP), DEFAULT_GROUP))
    .addOption(new Option('--ring-bytes <size>',
      'retransmit ring size; appends stop when it is full of uncommitted frames')
      .env('X2_RING_BYTES').argParser(bytesParser('--ring-bytes', 1024 * 1024, 2 ** 31)).default(64 * 1024 * 1024,
        '64MiB'))
    .addOption(new Option('--mtu-bytes <bytes>',
      'largest river datagram incl. IP/UDP headers (default: the interface MTU)')
      .env('X2_MTU_BYTES').argParser(integerParser('--mtu-bytes', 576, 65000)))
    .addOption(new Option('--heartbeat-ms <ms>', 'heartbeat interval when idle').env('X2_HEARTBEAT_MS')
      .argParser(integerParser('--heartbeat-ms', 1, 1000)).default(5))
    .addOption(new Option('--river-id <id>', 'river id carried in every frame (frames of other rivers are refused)')
      .env('X2_RIVER_ID').argParser(integerParser('--river-id', 0, 2 ** 32 - 1)).default(1));
  for (const option of riverOptions()) command.addOption(option);
  return command.action(async (flags: SequencerFlags) => {
    const writeQuorum = flags.replication === 0 ? 0 : flags.writeQuorum ?? Math.floor(flags.replication / 2) + 1;
    if (writeQuorum > flags.replication) {
      throw usageError('--write-quorum', String(writeQuorum),
        `at most --replication (${flags.replication}) is allowed`);
    }
    const log = new Log('sequencer');
    const river = await resolveRiver(flags.river, flags.interface);
    const registry = createRegistry('sequencer');
    const sequencer = await Sequencer.start({
      listenHost: flags.listen.host, listenPort: flags.listen.port, replication: flags.replication, writeQuorum,
      group: river.mode === 'multicast' ? flags.group.host : null, groupPort: flags.group.port,
      interfaceAddress: river.interfaceAddress, mtuBytes: flags.mtuBytes ?? river.mtuBytes, ringBytes: flags.ringBytes,
      riverId: flags.riverId, heartbeatMs: flags.heartbeatMs, log, registry,
    });
    const metrics = await serveMetrics(registry, flags.metricsPort);
    const publisher = startMetricsPublisher({ role: 'sequencer', nodeId: 'sequencer', river: river.mode, registry,
      sequencer: `${flags.listen.host === '0.0.0.0' ? '127.0.0.1' : flags.listen.host}:${sequencer.port}`,
      state: () => sequencer.phase });
    log.info(`listening on ${flags.listen.host}:${sequencer.port}; river ${river.mode}` +
      (river.mode === 'multicast' ? ` ${flags.group.host}:${flags.group.port} via ${river.interfaceAddress}`
        + `, datagrams up to ${flags.mtuBytes ?? river.mtuBytes} bytes` : '') +
      ` (${river.reason}); R=${flags.replication} W=${writeQuorum}; metrics on :${metrics.port}/metrics`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    publisher.close();
    sequencer.close();
    metrics.server.close();
  });
}
