/**
 * Peer servers for bench system tests: a real redis-server or nats-server (Debian packages)
 * on a free loopback port with its data in a temp folder, started by the test and always
 * stopped (SIGTERM, then SIGKILL after 5 s) and cleaned up by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { accepts, freePort } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir } from '../harness/x2.ts';

export class PeerServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dir: string;
  #log = '';

  private constructor(url: string, child: ChildProcess, dir: string) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    child.stdout?.on('data', (chunk: Buffer) => { this.#log += chunk.toString('utf8'); });
    child.stderr?.on('data', (chunk: Buffer) => { this.#log += chunk.toString('utf8'); });
  }

  get log(): string {
    return this.#log;
  }

  /** redis-server with appendonly and the given appendfsync (always or everysec), no RDB snapshots. */
  static async redis(appendfsync: 'always' | 'everysec'): Promise<PeerServer> {
    const dir = makeTempDir('x2-bench-redis-');
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', appendfsync], { stdio: ['ignore', 'pipe', 'pipe'] });
    return PeerServer.#ready(`redis://127.0.0.1:${port}`, port, child, dir);
  }

  /** nats-server with JetStream, file storage in a temp folder. */
  static async nats(): Promise<PeerServer> {
    const dir = makeTempDir('x2-bench-nats-');
    const port = await freePort();
    const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    return PeerServer.#ready(`nats://127.0.0.1:${port}`, port, child, dir);
  }

  static async #ready(url: string, port: number, child: ChildProcess, dir: string): Promise<PeerServer> {
    const server = new PeerServer(url, child, dir);
    try {
      await waitFor(async () => child.exitCode !== null || await accepts('127.0.0.1', port),
        { timeoutMs: 20_000, what: `${url} to accept connections` });
      if (child.exitCode !== null) throw new Error(`${url} exited ${child.exitCode}: ${server.log}`);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
