/**
 * Limits that matter for a UDP river: socket buffer ceilings (net.core.rmem_max/wmem_max and
 * what the kernel really grants), how many multicast groups one socket may join (the sysctl,
 * and measured by joining groups on loopback until the kernel refuses), and whether batched
 * sendmmsg/recvmmsg work (the addon really calls them on loopback; the JS twin cannot and
 * says so). Bounds: at most MEMBERSHIPS_MEASURED_MAX joins on one socket, closed at once.
 */
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import type { NativeAddon } from '../../native/index.ts';
import type { LimitsReport, MmsgReport } from './report.ts';
import { readInteger } from './sysfs.ts';

/** Enough to see any usual setting (default 20); joins are cheap syscalls on loopback. */
export const MEMBERSHIPS_MEASURED_MAX = 1024;

function bindSocket(socket: dgram.Socket, address: string): Promise<Error | null> {
  return new Promise((resolve) => {
    socket.once('error', (error) => resolve(error));
    socket.bind(0, address, () => resolve(null));
  });
}

function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

/** Joins 239.254.x.y groups on 127.0.0.1 until the kernel refuses or the bound is reached. */
export async function measureMemberships(): Promise<{ count: number | null; stopError: string | null }> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const bindError = await bindSocket(socket, '0.0.0.0');
  if (bindError) {
    socket.close();
    return { count: null, stopError: errnoOf(bindError) };
  }
  let count = 0;
  let stopError: string | null = null;
  for (; count < MEMBERSHIPS_MEASURED_MAX; count++) {
    try {
      socket.addMembership(`239.254.${count >> 8}.${count & 255}`, '127.0.0.1');
    } catch (error) {
      stopError = errnoOf(error);
      break;
    }
  }
  socket.close();
  return { count, stopError };
}

/** SO_RCVBUF after asking for `bytes` (Linux doubles the request, capped at 2 x rmem_max). */
export async function measureRecvBuffer(bytes: number): Promise<number | null> {
  const socket = dgram.createSocket({ type: 'udp4' });
  const bindError = await bindSocket(socket, '127.0.0.1');
  try {
    if (bindError) return null;
    socket.setRecvBufferSize(bytes);
    return socket.getRecvBufferSize();
  } catch {
    // The kernel refused the size: the granted size is unknown rather than an error of the probe.
    return null;
  } finally {
    socket.close();
  }
}

export function checkMmsgNative(addon: NativeAddon): MmsgReport {
  const check = addon.mmsgCheck();
  const sendUsable = check.sendError === null && check.sentCount > 0;
  const recvUsable = check.recvError === null && check.receivedCount === check.sentCount && check.sentCount > 0;
  let reason: string | null = null;
  if (!sendUsable) reason = `sendmmsg failed: ${check.sendError ?? 'sent 0'}`;
  else if (!recvUsable) {
    reason = check.recvError
      ? `recvmmsg failed: ${check.recvError}`
      : `recvmmsg returned ${check.receivedCount} of ${check.sentCount} within ${check.waitMs} ms`;
  }
  return {
    checkedBy: 'addon',
    sendmmsgUsable: sendUsable,
    recvmmsgUsable: sendUsable ? recvUsable : null,
    sentCount: check.sentCount,
    receivedCount: check.receivedCount,
    reason,
  };
}

export function mmsgUnchecked(nativeReason: string): MmsgReport {
  return {
    checkedBy: null, sendmmsgUsable: null, recvmmsgUsable: null, sentCount: 0, receivedCount: 0,
    reason: `not checked: Node has no sendmmsg/recvmmsg and the native addon is not loaded (${nativeReason})`,
  };
}

export async function probeLimits(
  addon: NativeAddon | null, nativeReason: string, procRoot = '/proc',
): Promise<LimitsReport> {
  const sysctl = (name: string): number | null => readInteger(path.join(procRoot, 'sys', ...name.split('.')));
  const rmemMaxBytes = sysctl('net.core.rmem_max');
  const memberships = await measureMemberships();
  return {
    rmemMaxBytes,
    wmemMaxBytes: sysctl('net.core.wmem_max'),
    rmemDefaultBytes: sysctl('net.core.rmem_default'),
    wmemDefaultBytes: sysctl('net.core.wmem_default'),
    recvBufferGrantedBytes: rmemMaxBytes === null ? null : await measureRecvBuffer(rmemMaxBytes),
    igmpMaxMemberships: sysctl('net.ipv4.igmp_max_memberships'),
    membershipsMeasured: memberships.count,
    membershipsMeasuredMax: MEMBERSHIPS_MEASURED_MAX,
    membershipsStopError: memberships.stopError,
    mmsg: addon ? checkMmsgNative(addon) : mmsgUnchecked(nativeReason),
  };
}
