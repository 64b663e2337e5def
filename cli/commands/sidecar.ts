/**
 * `x2 sidecar`: user logic next to the river (core/roles/sidecar). Parses and checks the flags,
 * loads the user logic (--module, --exec or --where: exactly one), serves /metrics, publishes
 * metrics snapshots to __x2_metrics (what `x2 top` shows) and runs
 * sidecar instances one after another under one member id (the process's place in its group): an
 * instance that lost its sequencer link is replaced by a new one (which claims again and resumes
 * from the checkpoints); a fatal error exits with its code. SIGTERM/SIGINT stop cleanly: the
 * appends in flight are committed, then a leave record hands the input streams to the others.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { usageError } from '../../core/base/errors.ts';
import { Log } from '../../core/base/log.ts';
import { createRegistry, serveMetrics } from '../../core/metrics/metrics.ts';
import { startMetricsPublisher } from '../../core/metrics/publisher.ts';
import { topicNameProblem } from '../../core/control/topic-name.ts';
import type { HostPort } from '../../core/river/address.ts';
import { ExecTransform } from '../../core/roles/sidecar/exec-transform.ts';
import { Sidecar, type OnError, type SidecarEnd } from '../../core/roles/sidecar/sidecar.ts';
import { SidecarMetrics } from '../../core/roles/sidecar/sidecar-metrics.ts';
import { ModuleTransform, WhereTransform, type Transform } from '../../core/roles/sidecar/transform.ts';
import { WhereSyntaxError } from '../../core/roles/sidecar/where-expr.ts';
import {
  bytesParser, DEFAULT_SEQUENCER, hostPortParser, integerParser, resolveRiver, riverOptions, type RiverChoice,
} from '../river-options.ts';

type SidecarFlags = {
  sequencer: HostPort; from: string[]; to: string; module?: string; exec?: string; where?: string; name?: string;
  sessionTimeoutMs: number; onError: OnError; partitions: number; inputBytesMax: number;
  river: RiverChoice; interface?: string; metricsPort: number;
};

function topicParser(flag: string): (value: string) => string {
  return (value) => {
    const problem = topicNameProblem(value);
    if (problem) throw usageError(flag, value, `a Kafka topic name is allowed (${problem})`);
    return value;
  };
}

function topicsParser(value: string): string[] {
  const topics = value.split(',').map((topic) => topic.trim());
  for (const topic of topics) topicParser('--from')(topic);
  if (new Set(topics).size !== topics.length) throw usageError('--from', value, 'each topic once is allowed');
  return topics;
}

function onErrorParser(value: string): OnError {
  if (value === 'stop' || value === 'skip') return { mode: value };
  const match = /^dead-letter:(.+)$/.exec(value);
  if (match) return { mode: 'dead-letter', topic: topicParser('--on-error dead-letter:TOPIC')(match[1]!) };
  throw usageError('--on-error', value, 'stop, skip or dead-letter:TOPIC is allowed');
}

function nameParser(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(value)) {
    throw usageError('--name', value, '1-128 letters, digits, ".", "_" or "-" are allowed');
  }
  return value;
}

async function loadTransform(flags: SidecarFlags): Promise<Transform> {
  const given = [['--module', flags.module], ['--exec', flags.exec], ['--where', flags.where]]
    .filter(([, value]) => value !== undefined);
  if (given.length !== 1) {
    throw usageError(given.map(([flag]) => flag).join(' and ') || '--module/--exec/--where',
      given.map(([, value]) => value).join(' ') || '', 'exactly one of --module FILE, --exec COMMAND, --where EXPR');
  }
  if (flags.module !== undefined) {
    const path = resolve(flags.module);
    if (!existsSync(path)) throw usageError('--module', flags.module, 'an existing .mjs file is allowed');
    return ModuleTransform.load(path);
  }
  if (flags.exec !== undefined) {
    if (flags.exec.trim() === '') throw usageError('--exec', flags.exec, 'a command line is allowed');
    return new ExecTransform(flags.exec);
  }
  try {
    return new WhereTransform(flags.where!);
  } catch (error) {
    if (error instanceof WhereSyntaxError) {
      throw usageError('--where', flags.where!, `a valid expression (${error.message})`);
    }
    throw error;
  }
}

export function sidecarCommand(): Command {
  const command = new Command('sidecar')
    .description('run user logic on topics and append its output exactly once (module, program or filter)')
    .addOption(new Option('--sequencer <host:port>', 'the sequencer control address').env('X2_SEQUENCER')
      .argParser(hostPortParser('--sequencer'))
      .default(hostPortParser('--sequencer')(DEFAULT_SEQUENCER), DEFAULT_SEQUENCER))
    .addOption(new Option('--from <topics>', 'input topics, comma-separated').argParser(topicsParser)
      .makeOptionMandatory())
    .addOption(new Option('--to <topic>', 'output topic (created with --partitions when missing)')
      .argParser(topicParser('--to')).makeOptionMandatory())
    .addOption(new Option('--module <file.mjs>', 'ES module: default export per record, or a batch export'))
    .addOption(new Option('--exec <command>', 'program reading and writing length-prefixed msgpack frames on stdio'))
    .addOption(new Option('--where <expr>', 'keep records whose JSON value matches, e.g. \'value.symbol == "AAPL"\''))
    .addOption(new Option('--name <name>', 'group and checkpoint name; sidecars with one name share the input '
      + 'partitions (default: --to)').argParser(nameParser))
    .addOption(new Option('--session-timeout-ms <ms>',
      'a member silent this long is expelled and its partitions handed over; heartbeats every third of it')
      .argParser(integerParser('--session-timeout-ms', 300, 600_000)).default(10_000))
    .addOption(new Option('--on-error <mode>', 'when user logic fails on a record: stop, skip or dead-letter:TOPIC')
      .argParser(onErrorParser).default({ mode: 'stop' }, 'stop'))
    .addOption(new Option('--partitions <n>',
      'partition count of a missing --to or dead-letter topic, created at start')
      .argParser(integerParser('--partitions', 1, 10_000)).default(1))
    .addOption(new Option('--input-bytes-max <size>',
      'input held waiting for the user logic; past it the sidecar stops')
      .argParser(bytesParser('--input-bytes-max', 1024 * 1024, 64 * 1024 ** 3)).default(1024 ** 3, '1GiB'));
  for (const option of riverOptions()) command.addOption(option);
  return command.action(async (flags: SidecarFlags) => {
    if (flags.from.includes(flags.to)) throw usageError('--to', flags.to, 'a topic that is not also in --from');
    const name = flags.name ?? flags.to;
    // Unique per process, stable across its instance restarts (a restart is not a membership change).
    const memberId = `${process.pid}-${randomBytes(3).toString('hex')}`;
    const log = new Log(`sidecar ${name}/${memberId}`);
    let current: Sidecar | null = null;
    let stopping = false;
    const stop = (): void => {
      stopping = true;
      current?.stop();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const transform = await loadTransform(flags);
    const river = await resolveRiver(flags.river, flags.interface);
    const registry = createRegistry('sidecar');
    const metrics = new SidecarMetrics(registry);
    const server = await serveMetrics(registry, flags.metricsPort);
    const sequencer = `${flags.sequencer.host}:${flags.sequencer.port}`;
    // Snapshots to __x2_metrics, so `x2 top` lists the sidecar with its rates.
    const publisher = startMetricsPublisher({ role: 'sidecar', nodeId: `sidecar-${name}-${memberId}`,
      river: river.mode, registry, sequencer, state: () => (current?.live ? 'live' : 'replaying') });
    log.info(`${transform.kind} sidecar "${name}" member ${memberId}: ` +
      `${flags.from.join(',')} -> ` +
      `${flags.to}; river ${river.mode} (${river.reason}); metrics on :${server.port}/metrics`);
    let end: SidecarEnd = { kind: 'stopped' };
    while (!stopping) {
      current = await Sidecar.start({
        name, sequencer, river: river.mode,
        interfaceAddress: river.interfaceAddress, from: flags.from, to: flags.to, partitionsForCreate: flags.partitions,
        memberId, sessionTimeoutMs: flags.sessionTimeoutMs, onError: flags.onError,
        inputBytesMax: flags.inputBytesMax,
        transform, metrics, log,
      });
      if (stopping) current.stop();
      end = await current.done;
      if (end.kind !== 'restart') break;
      metrics.restarts += 1;
      log.warn(`restarting: ${end.reason}`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 500));
    }
    publisher.close();
    await transform.close();
    server.server.close();
    if (end.kind === 'fatal') throw end.error;
    process.exit(0);
  });
}
