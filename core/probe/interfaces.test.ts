/**
 * The interface list from the addon (getifaddrs + ioctl) and from its JS twin (/sys and
 * os.networkInterfaces) must agree. Method: list both on this machine in one process and
 * compare names, indexes, UP/LOOPBACK/MULTICAST, MTU and addresses (RUNNING and LOWER_UP are
 * left out: getifaddrs adds them from the link state, /sys/class/net/<if>/flags does not).
 */
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../../native/index.ts';
import { decodeFlags, IFF, listInterfacesJs, listInterfacesNative } from './interfaces.ts';
import type { ProbedInterface } from './report.ts';

function comparable(list: ProbedInterface[]): unknown {
  return list.map((e) => ({
    name: e.name, index: e.index, up: e.flags.up, loopback: e.flags.loopback, multicast: e.flags.multicast,
    mtuBytes: e.mtuBytes, speedMbps: e.speedMbps, driver: e.driver,
    addresses: [...e.addresses].sort((a, b) => a.address.localeCompare(b.address)),
  }));
}

describe('interfaces', () => {
  it('decodes IFF flags', () => {
    expect(decodeFlags(IFF.UP | IFF.LOOPBACK | IFF.RUNNING)).toEqual({
      up: true, running: true, loopback: true, multicast: false, broadcast: false, pointToPoint: false,
    });
    expect(decodeFlags(0x1003)).toMatchObject({ up: true, broadcast: true, multicast: true, loopback: false });
  });

  it('the addon and the JS twin give the same interfaces', () => {
    const addon = nativeAddon();
    expect(addon, 'the addon is built (npm run build:native)').not.toBeNull();
    if (!addon) return;
    const native = listInterfacesNative(addon);
    const js = listInterfacesJs();
    expect(native.length).toBeGreaterThan(0);
    expect(native.some((e) => e.flags.loopback)).toBe(true);
    expect(comparable(native)).toEqual(comparable(js));
    expect(native.every((e) => e.source === 'getifaddrs') && js.every((e) => e.source === 'sysfs')).toBe(true);
  });
});
