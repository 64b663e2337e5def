/**
 * recommendRiver follows its truth table. Method: build small synthetic reports (interfaces,
 * self-test results, limits) for each row and for the tie-breaks, and check driver,
 * interface, address and the words of the reason.
 */
import { describe, expect, it } from 'vitest';
import { decodeFlags, IFF } from './interfaces.ts';
import { mmsgUnchecked } from './limits.ts';
import type { LimitsReport, MulticastCheck, ProbedInterface } from './report.ts';
import { recommendRiver, type RiverInputs } from './river-choice.ts';

function iface(name: string, index: number, flagsRaw: number, address: string | null,
  extra: Partial<ProbedInterface> = {}): ProbedInterface {
  return {
    name, index, flagsRaw, flags: decodeFlags(flagsRaw), mtuBytes: 1500,
    addresses: address ? [{ family: 'IPv4', address, prefixLength: 24 }] : [],
    macAddress: null, speedMbps: null, driver: null, operState: null, source: 'sysfs', ...extra,
  };
}

function check(name: string, address: string, ok: boolean, error: string | null = null): MulticastCheck {
  return {
    interface: name, address, group: '239.77.1.1', port: 4000, ttl: name === 'lo' ? 1 : 0, ok,
    sentCount: 3, receivedCount: ok ? 3 : 0, elapsedMs: 1, timeoutMs: 500, error,
    reason: ok ? null
      : error ? `addMembership(239.77.1.1, ${address}) failed: ${error}` : 'sent 3, received 0 within 500 ms',
  };
}

const limits: LimitsReport = {
  rmemMaxBytes: null, wmemMaxBytes: null, rmemDefaultBytes: null, wmemDefaultBytes: null, recvBufferGrantedBytes: null,
  igmpMaxMemberships: 0, membershipsMeasured: 0, membershipsMeasuredMax: 1024, membershipsStopError: 'ENOBUFS',
  mmsg: mmsgUnchecked('test'),
};

const UP_MC = IFF.UP | IFF.MULTICAST | IFF.BROADCAST;
const LO = iface('lo', 1, IFF.UP | IFF.LOOPBACK, '127.0.0.1', { mtuBytes: 65536 });

function inputs(interfaces: ProbedInterface[], checks: MulticastCheck[]): RiverInputs {
  return { interfaces, multicast: { timeoutMs: 500, checks, skipped: [] }, limits };
}

describe('recommendRiver', () => {
  it('row 1: multicast on a passing interface with MULTICAST', () => {
    const river = recommendRiver(inputs([LO, iface('eth0', 2, UP_MC, '10.0.0.5')],
      [check('lo', '127.0.0.1', true), check('eth0', '10.0.0.5', true)]));
    expect(river).toMatchObject({ driver: 'multicast', interface: 'eth0', address: '10.0.0.5', mtuBytes: 1500 });
    expect(river.reason).toMatch(/eth0 is up with MULTICAST and passed the self-test \(3\/3/);
  });

  it('row 1 tie-break: the faster link, then the larger MTU', () => {
    const slow = iface('eth0', 2, UP_MC, '10.0.0.5', { speedMbps: 1000, mtuBytes: 9000 });
    const fast = iface('eth1', 3, UP_MC, '10.1.0.5', { speedMbps: 25000 });
    const checks = [check('eth0', '10.0.0.5', true), check('eth1', '10.1.0.5', true)];
    expect(recommendRiver(inputs([LO, slow, fast], checks))).toMatchObject({ interface: 'eth1' });
    const small = iface('eth0', 2, UP_MC, '10.0.0.5', { mtuBytes: 1500 });
    const jumbo = iface('eth1', 3, UP_MC, '10.1.0.5', { mtuBytes: 9000 });
    const river = recommendRiver(inputs([LO, small, jumbo], checks));
    expect(river).toMatchObject({ interface: 'eth1', mtuBytes: 9000 });
    expect(river.reason).toMatch(/chosen over eth0/);
  });

  it('row 2: unicast when the only external interface fails its self-test, naming the errno and sysctl', () => {
    const river = recommendRiver(inputs([LO, iface('eth0', 2, UP_MC, '10.0.0.5')],
      [check('lo', '127.0.0.1', false, 'ENOBUFS'), check('eth0', '10.0.0.5', false, 'ENOBUFS')]));
    expect(river).toMatchObject({ driver: 'unicast-tcp', interface: 'eth0', address: '10.0.0.5' });
    expect(river.reason).toMatch(/eth0: multicast self-test failed: .*ENOBUFS \(net.ipv4.igmp_max_memberships = 0\)/);
  });

  it('row 2: unicast when nothing came back in time', () => {
    const river = recommendRiver(inputs([LO, iface('eth0', 2, UP_MC, '10.0.0.5')],
      [check('lo', '127.0.0.1', true), check('eth0', '10.0.0.5', false)]));
    expect(river.driver).toBe('unicast-tcp');
    expect(river.reason).toMatch(/sent 3, received 0 within 500 ms/);
  });

  it('row 2: unicast when the interface lacks MULTICAST even though its local loop passed', () => {
    const river = recommendRiver(inputs([LO, iface('wg0', 2, IFF.UP | IFF.POINTOPOINT, '10.9.0.1')],
      [check('lo', '127.0.0.1', true), check('wg0', '10.9.0.1', true)]));
    expect(river).toMatchObject({ driver: 'unicast-tcp', interface: 'wg0' });
    expect(river.reason).toMatch(/wg0: no MULTICAST flag/);
  });

  it('row 3: loopback multicast when nothing else is up with IPv4', () => {
    const river = recommendRiver(inputs([LO, iface('eth0', 2, IFF.BROADCAST | IFF.MULTICAST, '10.0.0.5'),
      iface('eth1', 3, UP_MC, null)], [check('lo', '127.0.0.1', true)]));
    expect(river).toMatchObject({
      driver: 'loopback-multicast', interface: 'lo', address: '127.0.0.1', mtuBytes: 65536,
    });
  });

  it('row 4: unicast on loopback when even loopback failed, and with no interface at all', () => {
    const river = recommendRiver(inputs([LO], [check('lo', '127.0.0.1', false, 'ENOBUFS')]));
    expect(river).toMatchObject({ driver: 'unicast-tcp', interface: 'lo', address: '127.0.0.1' });
    expect(river.reason).toMatch(/lo: multicast self-test failed/);
    expect(recommendRiver(inputs([], []))).toMatchObject({
      driver: 'unicast-tcp', interface: null, address: null, reason: 'no interface is up with an IPv4 address',
    });
  });
});
