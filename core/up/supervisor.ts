/**
 * The process supervisor behind `x2 up`: starts the roles of a one-machine cluster as child
 * processes of this same executable, sends each child's output to its own log file, restarts a
 * child that exits without being asked to (logging why: exit code or signal and its last log
 * line), and stops them all in order on request. It never imports a role: roles are separate
 * processes that meet over TCP and the river, as on many machines.
 *
 * Restart policy: the delay starts at RESTART_DELAY_MS_MIN and doubles up to RESTART_DELAY_MS_MAX
 * while a child keeps dying within STABLE_AFTER_MS of its start; a child that ran that long
 * starts over at the minimum. Stop order: the order given (gateways first, so clients see
 * clean closes, then the sequencer, then the commits, which sync their stores on SIGTERM); a
 * child still running after STOP_GRACE_MS is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import type { Log } from '../base/log.ts';

export const RESTART_DELAY_MS_MIN = 200;
export const RESTART_DELAY_MS_MAX = 5_000;
export const STABLE_AFTER_MS = 30_000;
export const STOP_GRACE_MS = 10_000;
const LAST_LINE_BYTES_MAX = 4096;

export type ChildSpec = {
  /** Short name in logs: "sequencer", "commit 1", "gateway 0". */
  readonly name: string;
  /** Arguments after the executable (the subcommand first). */
  readonly args: readonly string[];
  readonly logFile: string;
  /** Exit statuses that mean "restarting cannot help" (bad flags, a deliberate stop): not restarted. */
  readonly finalExitCodes?: readonly number[];
};

type Child = {
  readonly spec: ChildSpec;
  process: ChildProcess | null;
  startedAtMs: number;
  restartDelayMs: number;
  restarts: number;
  timer: NodeJS.Timeout | null;
};

/** The command that runs this executable again: inside the single executable argv is [x2, x2, ...]. */
export function selfCommand(): { file: string; prefix: string[] } {
  let isSea = false;
  try {
    isSea = (process as unknown as { getBuiltinModule(name: string): { isSea(): boolean } | undefined })
      .getBuiltinModule('node:sea')?.isSea() ?? false;
  } catch {
    isSea = false;
  }
  // Node's own flags (e.g. `node --cpu-prof dist/x2.cjs up`) reach every child too.
  return isSea ? { file: process.execPath, prefix: [] }
    : { file: process.execPath, prefix: [...process.execArgv, process.argv[1] ?? ''] };
}

export class Supervisor {
  readonly #children: Child[] = [];
  readonly #log: Log;
  readonly #command = selfCommand();
  #stopping = false;

  constructor(log: Log) {
    this.#log = log;
  }

  get restartCount(): number {
    return this.#children.reduce((sum, child) => sum + child.restarts, 0);
  }

  pidOf(name: string): number | undefined {
    return this.#children.find((child) => child.spec.name === name)?.process?.pid;
  }

  start(spec: ChildSpec): void {
    const child: Child = { spec, process: null, startedAtMs: 0, restartDelayMs: RESTART_DELAY_MS_MIN, restarts: 0,
      timer: null };
    this.#children.push(child);
    this.#spawn(child);
  }

  #spawn(child: Child): void {
    if (this.#stopping) return;
    const output = openSync(child.spec.logFile, 'a');
    const spawned = spawn(this.#command.file, [...this.#command.prefix, ...child.spec.args], {
      stdio: ['ignore', output, output], env: process.env,
    });
    closeSync(output);
    child.process = spawned;
    child.startedAtMs = Date.now();
    spawned.on('error', (error) => this.#log.error(`${child.spec.name}: could not start: ${error.message}`));
    spawned.on('exit', (code, signal) => {
      child.process = null;
      if (this.#stopping) return;
      const ranMs = Date.now() - child.startedAtMs;
      if (ranMs >= STABLE_AFTER_MS) child.restartDelayMs = RESTART_DELAY_MS_MIN;
      const how = signal ? `killed by ${signal}` : `exited with status ${code}`;
      if (code !== null && child.spec.finalExitCodes?.includes(code)) {
        this.#log.error(`${child.spec.name} (pid ${spawned.pid}) ${how} after ${ranMs} ms; last log line: ` +
          `${lastLine(child.spec.logFile) || '(none)'}; not restarted (status ${code} is final)`);
        return;
      }
      this.#log.warn(`${child.spec.name} (pid ${spawned.pid}) ${how} after ${ranMs} ms; last log line: ` +
        `${lastLine(child.spec.logFile) || '(none)'}; restarting in ${child.restartDelayMs} ms`);
      child.restarts += 1;
      child.timer = setTimeout(() => {
        child.timer = null;
        this.#spawn(child);
      }, child.restartDelayMs);
      child.restartDelayMs = Math.min(RESTART_DELAY_MS_MAX, child.restartDelayMs * 2);
    });
  }

  /** Stops every child in the order started groups give: `order` lists name prefixes. */
  async stop(order: readonly string[]): Promise<void> {
    this.#stopping = true;
    for (const child of this.#children) if (child.timer) clearTimeout(child.timer);
    const groups = order.map((prefix) => this.#children.filter((child) => child.spec.name.startsWith(prefix)));
    const rest = this.#children.filter((child) => !groups.some((group) => group.includes(child)));
    for (const group of [...groups, rest]) await Promise.all(group.map((child) => stopChild(child)));
  }
}

function stopChild(child: Child): Promise<void> {
  const running = child.process;
  if (!running || running.exitCode !== null || running.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    running.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    running.kill('SIGTERM');
  });
}

/** The last non-empty line of a log file (read from its tail only). */
export function lastLine(file: string): string {
  let descriptor: number | null = null;
  try {
    descriptor = openSync(file, 'r');
    const sizeBytes = fstatSync(descriptor).size;
    const readBytes = Math.min(sizeBytes, LAST_LINE_BYTES_MAX);
    const buffer = Buffer.alloc(readBytes);
    readSync(descriptor, buffer, 0, readBytes, sizeBytes - readBytes);
    const lines = buffer.toString('utf8').split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
    return lines.at(-1) ?? '';
  } catch {
    return '';
  } finally {
    if (descriptor !== null) closeSync(descriptor);
  }
}
