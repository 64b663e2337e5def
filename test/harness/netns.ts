/**
 * Private networks for system tests: N network namespaces ("hosts"), each with an eth0 veth
 * joined to one Linux bridge that lives in its own namespace, so nothing is added to the
 * machine's root namespace and no packet can reach a real network. Addresses are private
 * (10.x.y.0/24 inside the namespaces only). Needs root and iproute2 (`ip`); without them
 * createNetwork throws a loud error, so a test fails rather than skips.
 *
 *   const network = createNetwork({ prefix: `x2p-${process.pid}`, hosts: 3, multicastRoute: false });
 *   try { network.exec(network.hosts[0], 'dist/x2', ['probe', '--json']); } finally { network.destroy(); }
 *
 * Names: `<prefix>-br` (bridge) and `<prefix>-n1..nN`; use your area prefix plus the pid so
 * parallel suites never collide. destroy() kills what spawnIn started, deletes every
 * namespace, never throws and may be called twice.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export type NetworkHost = {
  /** The namespace name, e.g. x2p-1234-n1; pass it to `ip netns exec`. */
  namespace: string;
  /** 1-based position in the network; the address ends with it. */
  number: number;
  interface: 'eth0';
  address: string;
  prefixLength: 24;
};

export type ExecResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export type Network = {
  bridgeNamespace: string;
  hosts: NetworkHost[];
  /** Runs `command args` inside the host's namespace to completion. */
  exec(host: NetworkHost, command: string, args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string }): ExecResult;
  /** Like exec, but throws with the command's stderr when it does not exit 0. */
  run(host: NetworkHost, command: string, args: string[]): string;
  /** Starts a long-running process inside the host's namespace; destroy() kills it if still running. */
  spawnIn(host: NetworkHost, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  destroy(): void;
};

export type NetworkOptions = {
  /** Area prefix plus pid, e.g. `x2p-${process.pid}`: [a-z0-9-], at most 24 characters. */
  prefix: string;
  hosts: number;
  /** Add `224.0.0.0/4 dev eth0` in every host (without it, only explicit interface addresses work). */
  multicastRoute?: boolean;
  /** First three octets of the hosts' addresses, default 10.99.0. */
  subnet?: string;
  /** Bridge multicast snooping (default off: every member sees every group). */
  multicastSnooping?: boolean;
};

const HOSTS_MAX = 32;

function ip(args: string[]): ExecResult {
  const result = spawnSync('ip', args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    throw new Error(`netns: cannot run ip ${args.join(' ')}: ${result.error.message} (install iproute2)`);
  }
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function ipOrThrow(args: string[]): string {
  const result = ip(args);
  if (result.code !== 0) {
    throw new Error(`netns: ip ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Throws a clear error unless this process can create network namespaces. */
export function requireNetns(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`netns: network namespace tests need root (uid is ${process.getuid?.()}); run them as root`);
  }
  ipOrThrow(['netns', 'list']);
}

export function listNamespaces(): string[] {
  return ipOrThrow(['netns', 'list']).split('\n').map((line) => line.split(' ')[0] ?? '').filter((n) => n !== '');
}

export function createNetwork(options: NetworkOptions): Network {
  if (!/^[a-z0-9-]{1,24}$/.test(options.prefix)) {
    throw new Error(`netns: prefix must be 1-24 of [a-z0-9-] (got ${JSON.stringify(options.prefix)})`);
  }
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > HOSTS_MAX) {
    throw new Error(`netns: hosts must be 1..${HOSTS_MAX} (got ${options.hosts})`);
  }
  const subnet = options.subnet ?? '10.99.0';
  if (!/^10\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`netns: subnet must be 10.x.y (got ${subnet})`);
  requireNetns();

  const created: string[] = [];
  const children = new Set<ChildProcess>();
  let destroyed = false;
  const bridgeNamespace = `${options.prefix}-br`;
  const hosts: NetworkHost[] = [];

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // It exited between the check and the kill: nothing left to stop.
        }
      }
    }
    for (const namespace of [...created].reverse()) {
      try {
        ip(['netns', 'del', namespace]);
      } catch {
        // destroy() never throws: a namespace that cannot be deleted is reported by listNamespaces().
      }
    }
  };

  try {
    ipOrThrow(['netns', 'add', bridgeNamespace]);
    created.push(bridgeNamespace);
    ipOrThrow(['-n', bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge',
      'mcast_snooping', options.multicastSnooping ? '1' : '0']);
    ipOrThrow(['-n', bridgeNamespace, 'link', 'set', 'br0', 'up']);
    for (let number = 1; number <= options.hosts; number++) {
      const namespace = `${options.prefix}-n${number}`;
      ipOrThrow(['netns', 'add', namespace]);
      created.push(namespace);
      const address = `${subnet}.${number}`;
      ipOrThrow(['-n', bridgeNamespace, 'link', 'add', `v${number}`, 'type', 'veth', 'peer', 'name', 'eth0',
        'netns', namespace]);
      ipOrThrow(['-n', bridgeNamespace, 'link', 'set', `v${number}`, 'master', 'br0']);
      ipOrThrow(['-n', bridgeNamespace, 'link', 'set', `v${number}`, 'up']);
      ipOrThrow(['-n', namespace, 'link', 'set', 'lo', 'up']);
      ipOrThrow(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ipOrThrow(['-n', namespace, 'link', 'set', 'eth0', 'up']);
      if (options.multicastRoute) ipOrThrow(['-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      hosts.push({ namespace, number, interface: 'eth0', address, prefixLength: 24 });
    }
  } catch (error) {
    destroy();
    throw error;
  }

  const exec: Network['exec'] = (host, command, args, execOptions = {}) => {
    const result = spawnSync('ip', ['netns', 'exec', host.namespace, command, ...args], {
      encoding: 'utf8',
      env: execOptions.env ?? process.env,
      cwd: execOptions.cwd,
      timeout: execOptions.timeoutMs ?? 60_000,
    });
    return { code: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  };

  return {
    bridgeNamespace,
    hosts,
    exec,
    run(host, command, args) {
      const result = exec(host, command, args);
      if (result.code !== 0) {
        throw new Error(`netns: ${command} ${args.join(' ')} in ${host.namespace} failed (${result.code}): `
          + result.stderr.trim());
      }
      return result.stdout;
    },
    spawnIn(host, command, args, spawnOptions = {}) {
      const child = spawn('ip', ['netns', 'exec', host.namespace, command, ...args],
        { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
      children.add(child);
      return child;
    },
    destroy,
  };
}
