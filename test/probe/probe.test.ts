/**
 * `x2 probe` on this machine, through the built executable alone. Goal: the report is true.
 * Method: run dist/x2 from an empty folder with a minimal environment, once with the embedded
 * addon and once with X2_NATIVE=0 (the JS twins), parse `--json`, and check every section
 * against what this machine itself says (/sys/class/net, /proc/sys, node:os, findmnt), never
 * against hard-coded values. The same assertions run on both paths; then the parts that
 * differ (mmsg, libibverbs, native status) are checked per path. The text view must carry the
 * same facts as the JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../core/probe/report.ts';
import { makeTempDir, runX2 } from '../harness/x2.ts';

const PROBE_DURATION_MS_MAX = 10_000; // the design bound is a few seconds; generous for 2 busy cores

function readSys(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function sysInterfaces(): string[] {
  return readdirSync('/sys/class/net').filter((name) => existsSync(join('/sys/class/net', name, 'flags'))).sort();
}

function probeJson(env: NodeJS.ProcessEnv, args: string[] = []): ProbeReport {
  const result = runX2(['probe', '--json', ...args], { bare: true, env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ProbeReport;
}

const PATHS: Array<{ name: string; env: NodeJS.ProcessEnv }> = [
  { name: 'native addon', env: {} },
  { name: 'JS fallback (X2_NATIVE=0)', env: { X2_NATIVE: '0' } },
];

describe.each(PATHS)('x2 probe --json, $name', ({ env }) => {
  let report: ProbeReport;
  beforeAll(() => {
    report = probeJson(env);
  });

  it('has the documented shape and stays within its time bound', () => {
    expect(report.format).toBe(1);
    expect(Object.keys(report).sort()).toEqual(['data', 'durationMs', 'format', 'host', 'interfaces', 'limits',
      'multicast', 'native', 'probedAt', 'rdma', 'river', 'x2Version'].sort());
    expect(report.data).toBeNull();
    expect(report.durationMs).toBeLessThan(PROBE_DURATION_MS_MAX);
    expect(Number.isNaN(Date.parse(report.probedAt))).toBe(false);
  });

  it('lists exactly the interfaces in /sys/class/net with their flags and MTU', () => {
    expect(report.interfaces.map((e) => e.name).sort()).toEqual(sysInterfaces());
    for (const entry of report.interfaces) {
      const dir = join('/sys/class/net', entry.name);
      const flags = Number(readSys(join(dir, 'flags')));
      expect(entry.flags.up, `${entry.name} UP`).toBe((flags & 0x1) !== 0);
      expect(entry.flags.loopback, `${entry.name} LOOPBACK`).toBe((flags & 0x8) !== 0);
      expect(entry.flags.multicast, `${entry.name} MULTICAST`).toBe((flags & 0x1000) !== 0);
      expect(entry.mtuBytes, `${entry.name} MTU`).toBe(Number(readSys(join(dir, 'mtu'))));
      expect(entry.index).toBe(Number(readSys(join(dir, 'ifindex'))));
      const speed = Number(readSys(join(dir, 'speed')) ?? -1);
      expect(entry.speedMbps).toBe(speed > 0 ? speed : null);
    }
  });

  it('reports the IPv4 addresses node:os sees', () => {
    const expected = os.networkInterfaces();
    for (const entry of report.interfaces) {
      const want = (expected[entry.name] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr).sort();
      const got = entry.addresses.filter((a) => a.family === 'IPv4')
        .map((a) => `${a.address}/${a.prefixLength}`).sort();
      expect(got, entry.name).toEqual(want);
    }
  });

  it('self-tests multicast on every interface that is up with IPv4; loopback passes here', () => {
    const candidates = report.interfaces
      .filter((e) => e.flags.up && e.addresses.some((a) => a.family === 'IPv4')).map((e) => e.name).sort();
    expect(report.multicast.checks.map((c) => c.interface).sort()).toEqual(candidates);
    const skipped = report.interfaces.map((e) => e.name).filter((n) => !candidates.includes(n)).sort();
    expect(report.multicast.skipped.map((s) => s.interface).sort()).toEqual(skipped);
    const loopback = report.multicast.checks.find((c) => c.interface === 'lo');
    expect(loopback, 'loopback check').toBeDefined();
    expect(loopback?.ok, loopback?.reason ?? '').toBe(true);
    expect(loopback?.receivedCount).toBeGreaterThan(0);
    expect(loopback?.address).toBe('127.0.0.1');
    for (const check of report.multicast.checks) {
      expect(check.group).toMatch(/^239\./);
      expect(check.ttl).toBe(0);
      expect(check.elapsedMs).toBeLessThanOrEqual(check.timeoutMs + 1000);
      if (!check.ok) expect(check.reason).toBeTruthy();
    }
  });

  it('reads the limits from /proc/sys and measures the membership limit', () => {
    const sysctl = (name: string): number => Number(readSys(join('/proc/sys', ...name.split('.'))));
    expect(report.limits.rmemMaxBytes).toBe(sysctl('net.core.rmem_max'));
    expect(report.limits.wmemMaxBytes).toBe(sysctl('net.core.wmem_max'));
    expect(report.limits.rmemDefaultBytes).toBe(sysctl('net.core.rmem_default'));
    expect(report.limits.igmpMaxMemberships).toBe(sysctl('net.ipv4.igmp_max_memberships'));
    expect(report.limits.recvBufferGrantedBytes).toBeGreaterThanOrEqual(sysctl('net.core.rmem_max'));
    const igmpMax = sysctl('net.ipv4.igmp_max_memberships');
    if (igmpMax < report.limits.membershipsMeasuredMax) {
      expect(report.limits.membershipsMeasured).toBe(igmpMax);
      expect(report.limits.membershipsStopError).toBe('ENOBUFS');
    }
  });

  it('reports CPU, NUMA, huge pages and kernel as the machine says', () => {
    expect(report.host.cpuCount).toBe(os.cpus().length);
    expect(report.host.cpuModel).toBe(os.cpus()[0]?.model.trim());
    expect(report.host.kernelRelease).toBe(os.release());
    const nodes = readdirSync('/sys/devices/system/node').filter((n) => /^node\d+$/.test(n)).length;
    expect(report.host.numaNodeCount).toBe(nodes > 0 ? nodes : null);
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    expect(report.host.hugePagesTotal).toBe(Number(/^HugePages_Total:\s+(\d+)/m.exec(meminfo)?.[1]));
    expect(report.host.hugePageBytes).toBe(Number(/^Hugepagesize:\s+(\d+)/m.exec(meminfo)?.[1]) * 1024);
  });

  it('lists the RDMA devices of /sys/class/infiniband', () => {
    const devices = existsSync('/sys/class/infiniband') ? readdirSync('/sys/class/infiniband').sort() : [];
    expect(report.rdma.devices.map((d) => d.name)).toEqual(devices);
    if (!report.rdma.verbs.loaded) expect(report.rdma.verbs.reason).toBeTruthy();
  });

  it('recommends a river driver with a reason, consistent with the self-tests', () => {
    const { river } = report;
    expect(['multicast', 'loopback-multicast', 'unicast-tcp']).toContain(river.driver);
    expect(river.reason.length).toBeGreaterThan(10);
    if (river.driver === 'multicast') {
      const chosen = report.interfaces.find((e) => e.name === river.interface);
      expect(chosen?.flags.loopback).toBe(false);
      expect(chosen?.flags.multicast).toBe(true);
      expect(report.multicast.checks.find((c) => c.interface === river.interface)?.ok).toBe(true);
      expect(chosen?.addresses.map((a) => a.address)).toContain(river.address);
    }
  });
});

describe('the parts that differ between the addon and the JS fallback', () => {
  it('with the embedded addon: getifaddrs, dlopen and a real sendmmsg/recvmmsg round trip', () => {
    const report = probeJson({});
    expect(report.native).toEqual({ native: true, from: 'embedded asset x2native.node', reason: null });
    expect(report.interfaces.every((e) => e.source === 'getifaddrs')).toBe(true);
    expect(report.rdma.verbs.checkedBy).toBe('dlopen');
    expect(report.limits.mmsg).toMatchObject({
      checkedBy: 'addon', sendmmsgUsable: true, recvmmsgUsable: true, reason: null,
    });
    expect(report.limits.mmsg.receivedCount).toBe(report.limits.mmsg.sentCount);
    expect(report.limits.mmsg.sentCount).toBeGreaterThan(0);
  });

  it('with X2_NATIVE=0: /sys and a file search, and the report says why', () => {
    const report = probeJson({ X2_NATIVE: '0' });
    expect(report.native).toEqual({ native: false, from: null, reason: 'disabled by X2_NATIVE=0' });
    expect(report.interfaces.every((e) => e.source === 'sysfs')).toBe(true);
    expect(report.rdma.verbs).toMatchObject({ loaded: false, checkedBy: 'file-search' });
    expect(report.limits.mmsg).toMatchObject({ checkedBy: null, sendmmsgUsable: null, recvmmsgUsable: null });
    expect(report.limits.mmsg.reason).toMatch(/X2_NATIVE=0/);
  });

  it('both paths agree on everything else about the interfaces', () => {
    const strip = (report: ProbeReport): unknown => report.interfaces.map((e) => ({
      name: e.name, index: e.index, up: e.flags.up, loopback: e.flags.loopback, multicast: e.flags.multicast,
      mtuBytes: e.mtuBytes, addresses: e.addresses, speedMbps: e.speedMbps, driver: e.driver,
    }));
    expect(strip(probeJson({ X2_NATIVE: '0' }))).toEqual(strip(probeJson({})));
  });
});

describe('x2 probe text and --data', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = makeTempDir('x2-probe-data-');
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the same facts as the JSON', () => {
    const report = probeJson({});
    const text = runX2(['probe'], { bare: true });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`river      ${report.river.driver}`);
    // The reason carries timings that differ from run to run; the words before them do not.
    expect(text.stdout).toContain(report.river.reason.split(' (')[0]);
    for (const entry of report.interfaces) expect(text.stdout).toMatch(new RegExp(`^  ${entry.name} `, 'm'));
    expect(text.stdout).toMatch(/^native {5}addon loaded from embedded asset x2native\.node$/m);
    expect(text.stdout).toContain(`net.core.rmem_max               ${report.limits.rmemMaxBytes}`);
    // Advice to raise rmem_max exactly when it is below what river receivers ask for (32 MiB).
    const advice = `sysctl -w net.core.rmem_max=${32 * 1024 * 1024}`;
    if ((report.limits.rmemMaxBytes ?? Infinity) < 32 * 1024 * 1024) expect(text.stdout).toContain(advice);
    else expect(text.stdout).not.toContain(advice);
    const fallback = runX2(['probe'], { bare: true, env: { X2_NATIVE: '0' } });
    expect(fallback.stdout).toMatch(/^native {5}JS fallback: disabled by X2_NATIVE=0$/m);
  });

  it('--data reports the file system, space and fdatasync latency, and leaves nothing behind', () => {
    const report = probeJson({}, ['--data', dataDir]);
    const data = report.data;
    expect(data).not.toBeNull();
    if (!data) return;
    const findmnt = spawnSync('findmnt', ['-n', '-o', 'FSTYPE,TARGET', '--target', dataDir], { encoding: 'utf8' });
    const [fstype, target] = findmnt.stdout.trim().split(/\s+/);
    expect(data.filesystem).toBe(fstype);
    expect(data.mountPoint).toBe(target);
    const statfs = spawnSync('stat', ['-f', '-c', '%b %S', dataDir], { encoding: 'utf8' }).stdout.trim().split(' ');
    expect(data.totalBytes).toBe(Number(statfs[0]) * Number(statfs[1]));
    expect(data.availableBytes).toBeGreaterThan(0);
    expect(data.availableBytes).toBeLessThanOrEqual(data.freeBytes);
    const sync = data.fdatasync;
    expect(sync.count).toBeGreaterThanOrEqual(1);
    expect(sync.p50Ms).toBeGreaterThan(0);
    expect(sync.p50Ms).toBeLessThanOrEqual(sync.p99Ms);
    expect(sync.p99Ms).toBeLessThanOrEqual(sync.maxMs);
    expect(readdirSync(dataDir)).toEqual([]);
    const text = runX2(['probe', '--data', dataDir], { bare: true });
    expect(text.stdout).toMatch(/^ {2}fdatasync {4}p50 [\d.]+ ms, p99 [\d.]+ ms/m);
  });
});
