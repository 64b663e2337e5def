/**
 * A cluster of real x2 processes for system tests: one sequencer, N commits, M gateways, each
 * started from the built executable (dist/x2) with its own log file, on free loopback ports.
 * Tests get the bootstrap address, can kill -9 any role (or all of them) and start it again with
 * the same data, and stop everything at the end. `startUp` runs `x2 up` instead, as a user does.
 *
 * Every process started here is tracked by pid and stopped in `stop()`; data lives in a temp
 * folder removed afterwards unless X2_KEEP_DATA is set (to read the logs of a failure).
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait-for.ts';
import { makeTempDir, startX2 } from './x2.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export type ClusterOptions = {
  gateways?: number;
  commits?: number;
  writeQuorum?: number;
  river?: 'unicast' | 'multicast';
  /** Extra flags for every gateway (e.g. ['--partitions', '3']). */
  gatewayArgs?: string[];
  readyTimeoutMs?: number;
};

type Role = { name: string; args: string[]; logFile: string; process: ChildProcess | null };

export class Cluster {
  readonly dataDir: string;
  readonly sequencerAddress: string;
  readonly gatewayPorts: readonly number[];
  readonly #roles: Role[] = [];
  readonly #readyTimeoutMs: number;

  private constructor(dataDir: string, sequencerAddress: string, gatewayPorts: number[], readyTimeoutMs: number) {
    this.dataDir = dataDir;
    this.sequencerAddress = sequencerAddress;
    this.gatewayPorts = gatewayPorts;
    this.#readyTimeoutMs = readyTimeoutMs;
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const commits = options.commits ?? 2;
    const gateways = options.gateways ?? 1;
    const dataDir = makeTempDir('x2-cluster-');
    const sequencerAddress = `127.0.0.1:${await freePort()}`;
    const gatewayPorts: number[] = [];
    for (let i = 0; i < gateways; i++) gatewayPorts.push(await freePort());
    const cluster = new Cluster(dataDir, sequencerAddress, gatewayPorts, options.readyTimeoutMs ?? 60_000);
    const river = options.river === 'multicast'
      ? ['--river', 'multicast', '--interface', '127.0.0.1']
      : ['--river', 'unicast'];
    cluster.#add('sequencer', ['sequencer', '--listen', sequencerAddress, '--replication', String(commits),
      '--write-quorum', String(options.writeQuorum ?? commits), '--group', `239.192.74.1:${await freePort()}`,
      '--river-id', String(1 + Math.floor(Math.random() * 2 ** 30)), ...river]);
    for (let i = 1; i <= commits; i++) {
      cluster.#add(`commit-${i}`, ['commit', '--sequencer', sequencerAddress, '--data', join(dataDir, `commit-${i}`),
        '--member-id', `commit-${i}`, ...river]);
    }
    gatewayPorts.forEach((port, nodeId) => {
      cluster.#add(`gateway-${nodeId}`, ['gateway', '--sequencer', sequencerAddress, '--listen', `127.0.0.1:${port}`,
        '--node-id', String(nodeId), '--commits', String(commits), ...river, ...(options.gatewayArgs ?? [])]);
    });
    for (const role of cluster.#roles) cluster.#spawn(role);
    await cluster.ready();
    return cluster;
  }

  get bootstrap(): string { return this.gatewayPorts.map((port) => `127.0.0.1:${port}`).join(','); }
  get brokers(): string[] { return this.gatewayPorts.map((port) => `127.0.0.1:${port}`); }
  get roleNames(): string[] { return this.#roles.map((role) => role.name); }

  #add(name: string, args: string[]): void {
    this.#roles.push({ name, args, logFile: join(this.dataDir, `${name}.log`), process: null });
  }

  #spawn(role: Role): void {
    const output = openSync(role.logFile, 'a');
    role.process = startX2(role.args, { stdio: ['ignore', output, output] });
    closeSync(output);
  }

  #role(name: string): Role {
    const role = this.#roles.find((candidate) => candidate.name === name);
    if (!role) throw new Error(`no role ${name} in this cluster (${this.roleNames.join(', ')})`);
    return role;
  }

  /** Resolves once every gateway accepts connections (gateways listen only after replaying). */
  async ready(): Promise<void> {
    for (const port of this.gatewayPorts) {
      await waitFor(() => accepts('127.0.0.1', port), { timeoutMs: this.#readyTimeoutMs, intervalMs: 100,
        what: `gateway on port ${port} (logs in ${this.dataDir})` });
    }
  }

  /** Kills one role with `signal` and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const role = this.#role(name);
    const running = role.process;
    role.process = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  }

  /** kill -9 of every process at once. */
  async killAll(): Promise<void> {
    await Promise.all(this.#roles.map((role) => this.kill(role.name, 'SIGKILL')));
  }

  /** Starts a stopped role again with the same flags and data. */
  restart(name: string): void {
    const role = this.#role(name);
    if (role.process) throw new Error(`${name} is still running`);
    this.#spawn(role);
  }

  restartAll(): void {
    for (const role of this.#roles) if (!role.process) this.#spawn(role);
  }

  /** The pid of a running role, or null when it is not running (exited or never started). */
  pidOf(name: string): number | null {
    const running = this.#role(name).process;
    return running && running.exitCode === null && running.signalCode === null ? running.pid ?? null : null;
  }

  log(name: string): string {
    try {
      return readFileSync(this.#role(name).logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const order = ['gateway', 'sequencer', 'commit'];
    for (const prefix of order) {
      await Promise.all(this.#roles.filter((role) => role.name.startsWith(prefix)).map((role) => this.kill(role.name,
        'SIGTERM')));
    }
    if (!process.env['X2_KEEP_DATA']) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** `x2 up` as a user runs it; resolves once it printed that the cluster serves. */
export class UpProcess {
  readonly dataDir: string;
  readonly port: number;
  readonly process: ChildProcess;
  stdout = '';
  stderr = '';

  private constructor(dataDir: string, port: number, child: ChildProcess) {
    this.dataDir = dataDir;
    this.port = port;
    this.process = child;
    child.stdout?.on('data', (chunk: Buffer) => { this.stdout += chunk.toString('utf8'); });
    child.stderr?.on('data', (chunk: Buffer) => { this.stderr += chunk.toString('utf8'); });
  }

  /** `env`: added to this process's environment (x2 up's children inherit it: X2_TAIL_CACHE_BYTES, ...). */
  static async start(args: string[] = [], dataDir = makeTempDir('x2-up-'), env: Record<string, string> = {}):
  Promise<UpProcess> {
    const port = await freePort();
    const child = startX2(['up', '--data', dataDir, '--port', String(port), '--sequencer-port', '0', ...args],
      { env: { ...process.env, ...env } });
    const up = new UpProcess(dataDir, port, child);
    await waitFor(() => up.stdout.includes('cluster serving') || child.exitCode !== null,
      { timeoutMs: 90_000, intervalMs: 100, what: 'x2 up to serve' });
    if (child.exitCode !== null) throw new Error(`x2 up exited ${child.exitCode}: ${up.stderr}`);
    return up;
  }

  get bootstrap(): string { return `127.0.0.1:${this.port}`; }

  /** SIGTERM and wait; returns the exit code. */
  async stop(removeData = true): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.process.once('exit', () => resolve());
        this.process.kill('SIGTERM');
      });
    }
    if (removeData && !process.env['X2_KEEP_DATA']) rmSync(this.dataDir, { recursive: true, force: true });
    return this.process.exitCode;
  }
}
