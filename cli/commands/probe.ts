/**
 * `x2 probe`: what this host offers x2 (network, multicast self-test, RDMA, limits, host, and
 * with --data a data directory), and the river driver a node here would use. The engine is
 * core/probe; this file parses and validates the flags and prints.
 */
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { dataDirProblem } from '../../core/probe/disk-check.ts';
import { formatProbeText } from '../../core/probe/format-text.ts';
import { runProbe } from '../../core/probe/probe.ts';
import { MULTICAST_CHECK_TIMEOUT_MS_DEFAULT } from '../../core/probe/multicast-check.ts';
import { VERSION } from '../version.ts';

const MULTICAST_TIMEOUT_MS_MAX = 10_000;

function parseDataDir(value: string): string {
  const problem = dataDirProblem(value);
  if (problem) {
    throw usageError('--data', value, `an existing directory this process can write is required, but ${problem}`);
  }
  return value;
}

function parseTimeoutMs(value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(ms) || ms < 1 || ms > MULTICAST_TIMEOUT_MS_MAX) {
    throw usageError('--multicast-timeout-ms', value,
      `a whole number of milliseconds from 1 to ${MULTICAST_TIMEOUT_MS_MAX} is allowed`);
  }
  return ms;
}

type ProbeFlags = { json?: boolean; data?: string; multicastTimeoutMs: number };

export function probeCommand(): Command {
  return new Command('probe')
    .description('report what this host offers x2 (network, multicast, RDMA, limits, disk) and the river it would use')
    .option('--json', 'print the report as one JSON object (same content as the text)')
    .addOption(new Option('--data <dir>', 'also check this data directory: file system, free space, fdatasync p50/p99')
      .argParser(parseDataDir))
    .addOption(new Option('--multicast-timeout-ms <ms>', 'how long each multicast self-test waits for its datagrams')
      .argParser(parseTimeoutMs).default(MULTICAST_CHECK_TIMEOUT_MS_DEFAULT))
    .action(async (flags: ProbeFlags) => {
      const report = await runProbe({
        x2Version: VERSION, dataDir: flags.data ?? null, multicastTimeoutMs: flags.multicastTimeoutMs,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatProbeText(report));
    });
}
