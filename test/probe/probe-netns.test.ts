/**
 * `x2 probe` inside private networks. Goal: where multicast works the probe recommends it on
 * the right interface, and where it cannot work it recommends unicast TCP and says why.
 * Method: three network namespaces joined by a bridge (test/harness/netns.ts), no
 * 224.0.0.0/4 route, 10.x addresses only inside them. Host 1 is untouched. Host 2 sets
 * net.ipv4.igmp_max_memberships = 0 in its namespace, so every join fails with ENOBUFS
 * (tested here: neither a blackhole route nor clearing the MULTICAST flag stops a join with an
 * explicit interface address, and the kernel has no netfilter tools installed). Host 3 clears
 * eth0's MULTICAST flag, which the probe must not trust for a cross-host river. The built
 * executable runs in each, on both native paths. Then a real datagram crosses the bridge on
 * the interface and address that host 1's probe recommended, so the recommendation is checked
 * against the network, not only against itself. Namespaces are deleted in afterAll, also on
 * failure; without root the suite fails loudly in beforeAll.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../core/probe/report.ts';
import { createNetwork, listNamespaces, type Network, type NetworkHost } from '../harness/netns.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeTempDir, requireBinary } from '../harness/x2.ts';

const PREFIX = `x2p-${process.pid}`;
const PATHS: Array<{ name: string; env: NodeJS.ProcessEnv }> = [
  { name: 'native addon', env: {} },
  { name: 'JS fallback', env: { X2_NATIVE: '0' } },
];

let network: Network;
let emptyDir: string;

function host(number: number): NetworkHost {
  const found = network.hosts[number - 1];
  if (!found) throw new Error(`no host ${number}`);
  return found;
}

function probeIn(target: NetworkHost, env: NodeJS.ProcessEnv): ProbeReport {
  const result = network.exec(target, requireBinary(), ['probe', '--json'],
    { env: { HOME: emptyDir, ...env }, cwd: emptyDir });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ProbeReport;
}

beforeAll(() => {
  emptyDir = makeTempDir('x2-probe-netns-');
  network = createNetwork({ prefix: PREFIX, hosts: 3, multicastRoute: false });
  network.run(host(2), 'sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/igmp_max_memberships']);
  network.run(host(3), 'ip', ['link', 'set', 'eth0', 'multicast', 'off']);
});

afterAll(() => {
  network?.destroy();
  network?.destroy(); // safe twice
  rmSync(emptyDir, { recursive: true, force: true });
  expect(listNamespaces().filter((n) => n.startsWith(`${PREFIX}-`))).toEqual([]);
});

describe.each(PATHS)('x2 probe in namespaces, $name', ({ env }) => {
  it('host 1: the self-test passes on eth0 and multicast on eth0 is recommended', () => {
    const report = probeIn(host(1), env);
    expect(report.interfaces.map((e) => e.name).sort()).toEqual(['eth0', 'lo']);
    const eth0 = report.interfaces.find((e) => e.name === 'eth0');
    expect(eth0?.addresses.filter((a) => a.family === 'IPv4')).toEqual([
      { family: 'IPv4', address: host(1).address, prefixLength: 24 },
    ]);
    expect(eth0?.mtuBytes).toBe(Number(network.run(host(1), 'cat', ['/sys/class/net/eth0/mtu']).trim()));
    expect(eth0?.driver).toBeNull(); // a veth has no device driver link
    const check = report.multicast.checks.find((c) => c.interface === 'eth0');
    expect(check?.ok, check?.reason ?? '').toBe(true);
    expect(check?.ttl).toBe(0);
    expect(report.multicast.checks.find((c) => c.interface === 'lo')?.ok).toBe(true);
    expect(report.river).toMatchObject({
      driver: 'multicast', interface: 'eth0', address: host(1).address, mtuBytes: eth0?.mtuBytes,
    });
    expect(report.river.reason).toMatch(/eth0 is up with MULTICAST and passed the self-test/);
  });

  it('host 2: joins fail with ENOBUFS, so unicast TCP is recommended with that reason', () => {
    const report = probeIn(host(2), env);
    expect(report.limits.igmpMaxMemberships).toBe(0);
    expect(report.limits.membershipsMeasured).toBe(0);
    expect(report.limits.membershipsStopError).toBe('ENOBUFS');
    for (const check of report.multicast.checks) {
      expect(check.ok).toBe(false);
      expect(check.error).toBe('ENOBUFS');
      expect(check.reason).toMatch(/^addMembership\(239\.[\d.]+, [\d.]+\) failed: ENOBUFS$/);
    }
    expect(report.river).toMatchObject({ driver: 'unicast-tcp', interface: 'eth0', address: host(2).address });
    expect(report.river.reason)
      .toMatch(/eth0: multicast self-test failed: .*ENOBUFS \(net\.ipv4\.igmp_max_memberships = 0\)/);
  });

  it('host 3: eth0 has no MULTICAST flag, so unicast TCP is recommended although the local loop works', () => {
    const report = probeIn(host(3), env);
    const eth0 = report.interfaces.find((e) => e.name === 'eth0');
    expect(eth0?.flags.multicast).toBe(false);
    expect(eth0?.flags.up).toBe(true);
    expect(report.river).toMatchObject({ driver: 'unicast-tcp', interface: 'eth0', address: host(3).address });
    expect(report.river.reason).toMatch(/eth0: no MULTICAST flag/);
  });
});

describe('the recommendation holds on the wire', () => {
  it('a datagram sent on host 1\'s recommended interface reaches a member on host 3', async () => {
    const { river } = probeIn(host(1), {});
    expect(river.driver).toBe('multicast');
    // The receiver joins in host 3's namespace (eth0 accepts joins even without the flag).
    const receiverScript = [
      "const d=require('node:dgram');const s=d.createSocket({type:'udp4',reuseAddr:true});",
      "s.on('message',(m)=>{process.stdout.write('got '+m+'\\n');process.exit(0)});",
      `s.bind(0,()=>{s.addMembership('239.99.7.7','${host(3).address}');`,
      "process.stdout.write('port '+s.address().port+'\\n')});setTimeout(()=>process.exit(3),20000);",
    ].join('');
    const receiver = network.spawnIn(host(3), process.execPath, ['-e', receiverScript]);
    let output = '';
    receiver.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const port = Number(/port (\d+)/.exec(await waitFor(() => (/port \d+/.test(output) ? output : null),
      { what: 'the receiver in host 3' }))?.[1]);
    const senderScript = [
      "const d=require('node:dgram');const s=d.createSocket('udp4');",
      `s.bind(0,'${river.address}',()=>{s.setMulticastInterface('${river.address}');s.setMulticastTTL(1);`,
      `let n=0;const t=setInterval(()=>{s.send('river',${port},'239.99.7.7');`,
      'if(++n===50){clearInterval(t);s.close()}},20)});',
    ].join('');
    const sent = network.exec(host(1), process.execPath, ['-e', senderScript]);
    expect(sent.code, sent.stderr).toBe(0);
    await waitFor(() => output.includes('got river'), { what: 'the datagram in host 3', timeoutMs: 15_000 });
  });
});
