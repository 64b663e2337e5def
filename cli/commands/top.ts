/**
 * `x2 top`: the whole cluster on one screen, read from `__x2_metrics` through any gateway
 * (core/metrics/snapshot-feed.ts). Interactive by default (Ink, loaded only here and only on
 * demand); `--once` prints one screen of text, `--json` one cluster view as JSON, for scripts.
 * A gateway with TLS on its Kafka port is read with --tls-ca (and --tls-cert/--tls-key), one with
 * SASL with --sasl-username and a password (X2_SASL_PASSWORD).
 */
import { Command, Option } from 'commander';
import { usageError, X2Error } from '../../core/base/errors.ts';
import type { BrokerAddress } from '../../core/bench/kafka-client.ts';
import { SnapshotFeed } from '../../core/metrics/snapshot-feed.ts';
import { addSnapshots, clusterView, emptyModel } from '../tui/view/cluster-model.ts';
import { initialUi, renderScreen, PANES } from '../tui/view/screen.ts';
import { integerParser } from '../river-options.ts';
import { clientTlsFrom, tlsClientOptions, type TlsClientFlags } from '../tls-options.ts';
import type { TlsClientFiles } from '../../core/base/tls-files.ts';
import type { SaslClientCredentials } from '../../core/kafka/sasl-mechanisms.ts';
import { clientSaslFrom, saslClientOptions, type SaslClientFlags } from '../sasl-options.ts';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

type TopFlags = { bootstrap: BrokerAddress[]; once?: boolean; json?: boolean; waitMs: number } & TlsClientFlags
  & SaslClientFlags;

export function bootstrapParser(value: string): BrokerAddress[] {
  const addresses = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const parsed = addresses.map((part) => {
    const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || !Number.isInteger(port) || port < 1 || port > 65535) return null;
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (parsed.length === 0 || parsed.length > 64 || parsed.some((address) => address === null)) {
    throw usageError('--bootstrap', value,
      'HOST:PORT[,HOST:PORT...] with ports 1-65535 is allowed (a gateway address)');
  }
  return parsed as BrokerAddress[];
}

/** Reads snapshots for `waitMs`, then returns the cluster view; fails if no gateway answered. */
async function collect(bootstrap: readonly BrokerAddress[], waitMs: number, tls: TlsClientFiles | null,
  sasl: SaslClientCredentials | null): Promise<ReturnType<typeof clusterView>> {
  const feed = new SnapshotFeed(bootstrap, tls, sasl);
  let model = emptyModel();
  let answered = false;
  let problem = '';
  const deadlineMs = Date.now() + waitMs;
  try {
    while (Date.now() < deadlineMs) {
      try {
        const snapshots = await feed.poll(Math.max(10, Math.min(500, deadlineMs - Date.now())));
        answered = true;
        model = addSnapshots(model, snapshots, Date.now());
      } catch (error) {
        problem = (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadlineMs - Date.now()))));
      }
    }
  } finally {
    feed.close();
  }
  if (!answered) throw new X2Error('X2_ERR_IO', `the cluster is unreachable: ${problem}`);
  return clusterView(model, Date.now());
}

export function topCommand(): Command {
  const command = new Command('top')
    .description('watch the whole cluster: nodes, topics, consumer groups (read from __x2_metrics)')
    .addOption(new Option('--bootstrap <host:port,...>', 'any gateway of the cluster (more, comma-separated, '
      + 'are tried in turn)').env('X2_BOOTSTRAP').argParser(bootstrapParser)
      .default(bootstrapParser(DEFAULT_BOOTSTRAP), DEFAULT_BOOTSTRAP))
    .addOption(new Option('--once', 'print one screen as plain text and exit (no terminal UI)'))
    .addOption(new Option('--json', 'print one cluster view as JSON and exit (implies --once)'))
    .addOption(new Option('--wait-ms <ms>', 'with --once/--json: how long to collect snapshots (every node '
      + 'publishes one a second)').env('X2_WAIT_MS').argParser(integerParser('--wait-ms', 100, 600_000)).default(2500));
  for (const option of tlsClientOptions(true)) command.addOption(option);
  for (const option of saslClientOptions(true)) command.addOption(option);
  return command
    .action(async (flags: TopFlags) => {
      const tls = clientTlsFrom(flags);
      const sasl = clientSaslFrom(flags);
      if (flags.once === true || flags.json === true) {
        const view = await collect(flags.bootstrap, flags.waitMs, tls, sasl);
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
          return;
        }
        const width = process.stdout.columns || 120;
        const groupRows = view.groups.reduce((sum, group) => sum + 2 + group.partitions.length, 0);
        const height = 4 + PANES.length * 2 + view.nodes.length + view.topics.length + groupRows
          + Math.max(1, view.sidecarGroups.length) + 1;
        const bootstrap = flags.bootstrap.map((b) => `${b.host}:${b.port}`).join(',');
        const clock = new Date().toISOString().slice(11, 19);
        const lines = renderScreen(view, initialUi(), { gateway: bootstrap, connected: true, problem: null, clock },
          width, height);
        // The key line is for the interactive screen; trailing blank lines carry nothing.
        const text = lines.slice(0, -1).map((line) => line.text.trimEnd());
        while (text.length > 0 && text[text.length - 1] === '') text.pop();
        process.stdout.write(`${text.join('\n')}\n`);
        return;
      }
      // Ink draws only a final frame when CI or CONTINUOUS_INTEGRATION is set (is-in-ci, read when
      // ink loads). Someone at a terminal wants the live screen whatever the environment says.
      if (process.stdout.isTTY) {
        delete process.env['CI'];
        delete process.env['CONTINUOUS_INTEGRATION'];
      }
      const { runTop } = await import('../tui/run-top.tsx');
      await runTop(flags.bootstrap, tls, sasl);
    });
}
