/**
 * Flags shared by the river roles (`x2 sequencer`, `x2 commit`, `x2 bench river`): parsers that
 * name the flag, the value and what is allowed (exit 2), their X2_* environment variables (the flag
 * wins), and the `--river auto` decision, which follows `x2 probe`'s recommendation for this host.
 */
import { Option } from 'commander';
import { usageError } from '../core/base/errors.ts';
import { parseBytes } from '../core/base/units.ts';
import { isIPv4, isMulticastIPv4, tryParseHostPort, type HostPort } from '../core/river/address.ts';
import type { RiverMode } from '../core/river/messages.ts';
import { runProbe } from '../core/probe/probe.ts';
import { VERSION } from './version.ts';

export const DEFAULT_SEQUENCER = '127.0.0.1:7400';
export const DEFAULT_GROUP = '239.192.74.1:7401';

export function hostPortParser(flag: string): (value: string) => HostPort {
  return (value) => {
    const parsed = tryParseHostPort(value);
    if (!parsed) throw usageError(flag, value,
      'HOST:PORT with a port from 0 to 65535 is allowed (e.g. 127.0.0.1:7400)');
    return parsed;
  };
}

export function integerParser(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw usageError(flag, value, `a whole number from ${min} to ${max} is allowed`);
    }
    return number;
  };
}

export function bytesParser(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const bytes = parseBytes(value);
    if (bytes === null || bytes < min || bytes > max) {
      throw usageError(flag, value, `a size from ${min} to ${max} bytes is allowed (units: KiB, MiB, GiB)`);
    }
    return bytes;
  };
}

export type RiverChoice = 'auto' | RiverMode;

export function riverParser(value: string): RiverChoice {
  if (value === 'auto' || value === 'multicast' || value === 'unicast') return value;
  throw usageError('--river', value, 'one of auto, multicast, unicast is allowed');
}

export function interfaceParser(value: string): string {
  if (!isIPv4(value)) throw usageError('--interface', value,
    'the IPv4 address of a local interface is allowed (e.g. 10.0.0.5)');
  return value;
}

export function groupParser(value: string): HostPort {
  const parsed = tryParseHostPort(value);
  if (!parsed || !isMulticastIPv4(parsed.host) || parsed.port === 0) {
    throw usageError('--group', value,
      'an IPv4 multicast ADDR:PORT is allowed (224.0.0.0 to 239.255.255.255, port 1-65535)');
  }
  return parsed;
}

export function riverOptions(): Option[] {
  return [
    new Option('--river <mode>', 'river driver: auto (follow x2 probe), multicast or unicast').env('X2_RIVER')
      .argParser(riverParser).default('auto' as RiverChoice),
    new Option('--interface <addr>',
      'IPv4 address of the interface carrying the multicast river (default: from x2 probe)')
      .env('X2_INTERFACE').argParser(interfaceParser),
    new Option('--metrics-port <port>', 'serve Prometheus text on http://0.0.0.0:PORT/metrics (0 = any free port)')
      .env('X2_METRICS_PORT').argParser(integerParser('--metrics-port', 0, 65535)).default(0),
  ];
}

export type ResolvedRiver = { mode: RiverMode; interfaceAddress: string | null; mtuBytes: number; reason: string };

/**
 * River datagram size on loopback: nothing crosses a wire, so frames go out whole (a 64 KiB frame
 * as one datagram instead of ~47 at 1400 bytes). Measured with `x2 up`: the sequencer's CPU per MB
 * 2.5x lower, retransmitted bytes from 1-2x of the appended bytes to ~0.1x, produce ~1.5x faster.
 */
export const LOOPBACK_MTU_BYTES = 65000;

/** Turns --river/--interface into a driver, probing the host for `auto` (and for a missing interface). */
export async function resolveRiver(choice: RiverChoice, interfaceAddress: string | undefined): Promise<ResolvedRiver> {
  if (choice === 'unicast') return { mode: 'unicast', interfaceAddress: interfaceAddress ?? null, mtuBytes: 1500,
    reason: '--river unicast' };
  if (choice === 'multicast' && interfaceAddress) {
    // On a loopback address nothing crosses a wire: whole frames, as with auto.
    const mtuBytes = interfaceAddress.startsWith('127.') ? LOOPBACK_MTU_BYTES : 1400;
    return { mode: 'multicast', interfaceAddress, mtuBytes, reason: '--river multicast' };
  }
  const report = await runProbe({ x2Version: VERSION, multicastTimeoutMs: 300 });
  const recommended = report.river;
  if (choice === 'multicast') {
    return { mode: 'multicast', interfaceAddress: recommended.address ?? '127.0.0.1',
      mtuBytes: recommended.mtuBytes ?? 1400,
      reason: `--river multicast on ${recommended.address ?? '127.0.0.1'} (from x2 probe)` };
  }
  const multicast = recommended.driver === 'multicast' || recommended.driver === 'loopback-multicast';
  const loopback = recommended.driver === 'loopback-multicast' && !interfaceAddress;
  return {
    mode: multicast ? 'multicast' : 'unicast',
    interfaceAddress: interfaceAddress ?? recommended.address,
    mtuBytes: loopback ? LOOPBACK_MTU_BYTES : Math.min(recommended.mtuBytes ?? 1400, 9000),
    reason: `x2 probe: ${recommended.driver}: ${recommended.reason}`,
  };
}

export function lossParser(value: string): number {
  const fraction = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(fraction >= 0 && fraction < 1)) {
    throw usageError('--loss', value, 'a fraction from 0 to below 1 is allowed (e.g. 0.05 for 5%)');
  }
  return fraction;
}
