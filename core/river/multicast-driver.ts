/**
 * Which multicast driver this process uses, decided once: `mmsg` (native/src/mmsg.cc: one sendmmsg
 * per turn of the event loop, recvmmsg batches) when the native addon is loaded (X2_NATIVE is not
 * 0) and the probe's loopback check saw sendmmsg work and recvmmsg not refused; `dgram` (Node's
 * dgram, one syscall and one callback per datagram) otherwise. Both put the same frames on the
 * wire, so members with different drivers share one river.
 *
 * X2_RIVER_DRIVER=dgram forces Node's path with the addon still loaded (native CRC32C kept: it
 * measures the driver alone); =mmsg refuses to start without the native driver; auto (or unset)
 * decides as above; any other value is a usage error naming the variable. Roles report the choice
 * once in their log and as `x2_river_driver{driver=...} 1` on /metrics (`tcp`: unicast only).
 */
import { usageError } from '../base/errors.ts';
import type { Log } from '../base/log.ts';
import { Gauge, type Registry } from '../metrics/metrics.ts';
import { nativeAddon, nativeStatus } from '../../native/index.ts';
import { checkMmsgNative } from '../probe/limits.ts';

export type MulticastDriverName = 'mmsg' | 'dgram';
/** What a role's river runs on: a multicast driver, or `tcp` when it only takes the unicast river. */
export type RiverDriverName = MulticastDriverName | 'tcp';

export type MulticastDriverChoice = { name: MulticastDriverName; reason: string };

let chosen: MulticastDriverChoice | null = null;

function choose(): MulticastDriverChoice {
  const wanted = process.env['X2_RIVER_DRIVER'] || 'auto';
  if (wanted !== 'auto' && wanted !== 'mmsg' && wanted !== 'dgram') {
    throw usageError('X2_RIVER_DRIVER', wanted, 'auto, mmsg or dgram is allowed');
  }
  if (wanted === 'dgram') return { name: 'dgram', reason: 'X2_RIVER_DRIVER=dgram' };
  const choice = chooseNative();
  if (wanted === 'mmsg' && choice.name !== 'mmsg') {
    throw usageError('X2_RIVER_DRIVER', wanted, `auto or dgram is allowed here (${choice.reason})`);
  }
  return choice;
}

function chooseNative(): MulticastDriverChoice {
  const addon = nativeAddon();
  if (!addon) return { name: 'dgram', reason: `native addon not loaded: ${nativeStatus().reason}` };
  if (!addon.MmsgSender || !addon.MmsgReceiver) {
    return { name: 'dgram', reason: 'the loaded addon has no MmsgSender (built before it; npm run build:native)' };
  }
  const check = checkMmsgNative(addon);
  // The check fails the syscalls (seccomp: ENOSYS, EPERM) or the delivery; a firewall dropping
  // loopback UDP (a lossy namespace) loses datagrams without saying anything about the calls.
  const recvFailed = check.recvmmsgUsable === false && check.reason?.startsWith('recvmmsg failed');
  if (!check.sendmmsgUsable || recvFailed) return { name: 'dgram', reason: check.reason ?? 'unusable' };
  return { name: 'mmsg', reason: check.recvmmsgUsable
    ? 'native addon, sendmmsg/recvmmsg checked on loopback'
    : `native addon, sendmmsg checked; ${check.reason} (loss on loopback, not a refused call)` };
}

/**
 * The process-wide choice (the first call runs the probe's loopback sendmmsg/recvmmsg check).
 * Throws a usage error for a bad X2_RIVER_DRIVER.
 */
export function multicastDriver(): MulticastDriverChoice {
  chosen ??= choose();
  return chosen;
}

/** Logs the river driver once and serves it as `x2_river_driver{driver}` (read at scrape time). */
export function announceRiverDriver(log: Log, registry: Registry, read: () => RiverDriverName): void {
  const driver = read();
  log.info(driver === 'tcp'
    ? 'river driver tcp (unicast river)'
    : `river multicast driver ${driver} (${multicastDriver().reason})`);
  new Gauge({
    name: 'x2_river_driver', help: 'river driver in use: mmsg (native sendmmsg/recvmmsg), dgram (Node), tcp (unicast)',
    labelNames: ['driver'], registers: [registry],
    collect() {
      this.reset();
      this.set({ driver: read() }, 1);
    },
  });
}
