/**
 * Network interfaces for the probe: name, index, IFF flags, MTU, addresses, and the link speed
 * and driver where /sys says. Two sources give the same shape: the addon (getifaddrs + the
 * SIOCGIFMTU ioctl, `source: 'getifaddrs'`) and the JS twin (/sys/class/net for flags and MTU,
 * os.networkInterfaces() for addresses, `source: 'sysfs'`). The river later picks its
 * interface from this list (see river-choice.ts). Bounds: one pass over /sys/class/net.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeAddon, NativeInterface } from '../../native/index.ts';
import type { AddressFamily, InterfaceAddress, InterfaceFlags, ProbedInterface } from './report.ts';
import { listDirectory, readInteger, readLinkBase, readText } from './sysfs.ts';

/** IFF_* bits from <net/if.h>. */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  MULTICAST: 0x1000,
} as const;

export function decodeFlags(flagsRaw: number): InterfaceFlags {
  return {
    up: (flagsRaw & IFF.UP) !== 0,
    running: (flagsRaw & IFF.RUNNING) !== 0,
    loopback: (flagsRaw & IFF.LOOPBACK) !== 0,
    multicast: (flagsRaw & IFF.MULTICAST) !== 0,
    broadcast: (flagsRaw & IFF.BROADCAST) !== 0,
    pointToPoint: (flagsRaw & IFF.POINTOPOINT) !== 0,
  };
}

type LinkFacts = Pick<ProbedInterface, 'macAddress' | 'speedMbps' | 'driver' | 'operState'>;

function linkFacts(sysRoot: string, name: string): LinkFacts {
  const dir = path.join(sysRoot, 'class/net', name);
  const speedMbps = readInteger(path.join(dir, 'speed'));
  const macAddress = readText(path.join(dir, 'address'));
  return {
    macAddress: macAddress && macAddress !== '' ? macAddress : null,
    // The kernel reports -1 (or refuses) when a link does not know its speed.
    speedMbps: speedMbps !== null && speedMbps > 0 ? speedMbps : null,
    driver: readLinkBase(path.join(dir, 'device/driver')),
    operState: readText(path.join(dir, 'operstate')),
  };
}

/** From the addon: getifaddrs flags and addresses, ioctl MTU; speed and driver from /sys. */
export function listInterfacesNative(addon: NativeAddon, sysRoot = '/sys'): ProbedInterface[] {
  return addon.interfaces().map((entry: NativeInterface) => ({
    name: entry.name,
    index: entry.index > 0 ? entry.index : null,
    flagsRaw: entry.flags,
    flags: decodeFlags(entry.flags),
    mtuBytes: entry.mtuBytes,
    addresses: entry.addresses.map((a) => ({
      family: (a.family === 4 ? 'IPv4' : 'IPv6') as AddressFamily,
      address: a.address,
      prefixLength: a.prefixLength,
    })),
    ...linkFacts(sysRoot, entry.name),
    source: 'getifaddrs' as const,
  })).sort(byIndex);
}

/** The JS twin: flags, MTU and index from /sys/class/net, addresses from os.networkInterfaces(). */
export function listInterfacesJs(sysRoot = '/sys'): ProbedInterface[] {
  const addressesByName = os.networkInterfaces();
  const result: ProbedInterface[] = [];
  for (const name of listDirectory(path.join(sysRoot, 'class/net'))) {
    const dir = path.join(sysRoot, 'class/net', name);
    const flagsRaw = readInteger(path.join(dir, 'flags'));
    if (flagsRaw === null) continue; // bonding_masters and other non-interface files
    const addresses: InterfaceAddress[] = (addressesByName[name] ?? []).map((a) => ({
      family: a.family,
      address: a.address.replace(/%.*$/, ''),
      prefixLength: prefixFromCidr(a.cidr),
    }));
    result.push({
      name,
      index: readInteger(path.join(dir, 'ifindex')),
      flagsRaw,
      flags: decodeFlags(flagsRaw),
      mtuBytes: readInteger(path.join(dir, 'mtu')),
      addresses,
      ...linkFacts(sysRoot, name),
      source: 'sysfs',
    });
  }
  return result.sort(byIndex);
}

function prefixFromCidr(cidr: string | null): number | null {
  const bits = cidr?.split('/')[1];
  return bits === undefined ? null : Number(bits);
}

function byIndex(a: ProbedInterface, b: ProbedInterface): number {
  return (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER) || a.name.localeCompare(b.name);
}

export function ipv4AddressOf(entry: ProbedInterface): string | null {
  return entry.addresses.find((a) => a.family === 'IPv4')?.address ?? null;
}
