/**
 * The live multicast self-test: on each candidate interface (up, with an IPv4 address,
 * loopback included) a receiver joins a group with the interface's address, a sender on the
 * same address sends a few datagrams with setMulticastInterface, and we count what comes back.
 * This is exactly how the river's multicast driver uses an interface, so a pass means the
 * kernel here routes, loops back and delivers multicast on it.
 *
 * Nothing leaves the host: the TTL is 0, and the kernel's loopback copy (IP_MULTICAST_LOOP)
 * still arrives, on lo as on any other interface. Bounds: all interfaces are tested in
 * parallel, each closes its two sockets by `timeoutMs`; a check sends at most
 * MULTICAST_CHECK_SENT_COUNT datagrams.
 */
import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import { ipv4AddressOf } from './interfaces.ts';
import type { MulticastCheck, MulticastReport, ProbedInterface } from './report.ts';

export const MULTICAST_CHECK_SENT_COUNT = 3;
export const MULTICAST_CHECK_TIMEOUT_MS_DEFAULT = 500;

/** Which interfaces get a self-test, and why the others do not. */
export function multicastCandidates(interfaces: ProbedInterface[]): {
  candidates: Array<{ entry: ProbedInterface; address: string }>;
  skipped: Array<{ interface: string; reason: string }>;
} {
  const candidates: Array<{ entry: ProbedInterface; address: string }> = [];
  const skipped: Array<{ interface: string; reason: string }> = [];
  for (const entry of interfaces) {
    const address = ipv4AddressOf(entry);
    if (!entry.flags.up) skipped.push({ interface: entry.name, reason: 'interface is down' });
    else if (address === null) skipped.push({ interface: entry.name, reason: 'no IPv4 address' });
    else candidates.push({ entry, address });
  }
  return { candidates, skipped };
}

/** A group in 239.0.0.0/8 (organisation-local), different per process and interface. */
function groupFor(slot: number): string {
  const bytes = crypto.randomBytes(2);
  return `239.${77 + (slot % 100)}.${bytes[0] ?? 0}.${(bytes[1] ?? 0) | 1}`;
}

export async function checkMulticast(
  interfaces: ProbedInterface[],
  timeoutMs = MULTICAST_CHECK_TIMEOUT_MS_DEFAULT,
): Promise<MulticastReport> {
  const { candidates, skipped } = multicastCandidates(interfaces);
  const checks = await Promise.all(candidates.map((c, slot) =>
    checkOne({ name: c.entry.name, address: c.address, group: groupFor(slot), timeoutMs })));
  return { timeoutMs, checks, skipped };
}

type Step = 'bind' | 'addMembership' | 'setMulticastInterface' | 'send';

class CheckFailure extends Error {
  constructor(readonly step: Step, readonly errno: string) {
    super(`${step} failed: ${errno}`);
  }
}

function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

export type CheckOptions = {
  name: string;
  address: string;
  group: string;
  timeoutMs: number;
  /** Datagrams to send; 0 only proves the join and shows the timeout path. */
  sendCount?: number;
};

/** Runs one self-test; never rejects, a failure is a result with its reason. */
export function checkOne(options: CheckOptions): Promise<MulticastCheck> {
  const { name, address, group, timeoutMs } = options;
  const sendCount = Math.min(options.sendCount ?? MULTICAST_CHECK_SENT_COUNT, MULTICAST_CHECK_SENT_COUNT);
  const startMs = performance.now();
  const ttl = 0;
  const nonce = crypto.randomBytes(8);
  const receiver = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const sender = dgram.createSocket({ type: 'udp4' });
  const result: MulticastCheck = {
    interface: name, address, group, port: 0, ttl, ok: false, sentCount: 0, receivedCount: 0,
    elapsedMs: 0, timeoutMs, error: null, reason: null,
  };
  return new Promise((resolve) => {
    let finished = false;
    const finish = (failure: CheckFailure | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      receiver.close();
      sender.close();
      result.elapsedMs = Math.round((performance.now() - startMs) * 10) / 10;
      result.ok = failure === null && result.receivedCount > 0;
      if (failure) {
        result.error = failure.errno;
        result.reason = `${describeStep(failure.step, group, address)} failed: ${failure.errno}`;
      } else if (!result.ok) {
        result.reason = `sent ${result.sentCount}, received 0 within ${timeoutMs} ms`;
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    receiver.on('error', (error) => finish(new CheckFailure('bind', errnoOf(error))));
    sender.on('error', (error) => finish(new CheckFailure('bind', errnoOf(error))));
    receiver.on('message', (message) => {
      if (message.length !== nonce.length || !message.equals(nonce)) return; // a stray datagram
      result.receivedCount += 1;
      if (result.receivedCount >= sendCount) finish(null);
    });
    receiver.bind(0, () => {
      result.port = receiver.address().port;
      try {
        receiver.addMembership(group, address);
      } catch (error) {
        finish(new CheckFailure('addMembership', errnoOf(error)));
        return;
      }
      sender.bind(0, address, () => {
        try {
          sender.setMulticastInterface(address);
          sender.setMulticastTTL(ttl);
          sender.setMulticastLoopback(true);
        } catch (error) {
          finish(new CheckFailure('setMulticastInterface', errnoOf(error)));
          return;
        }
        for (let i = 0; i < sendCount; i++) {
          // Counted when handed over: a loopback copy can arrive before the send callback runs.
          result.sentCount += 1;
          sender.send(nonce, result.port, group, (error) => {
            if (error && !finished) finish(new CheckFailure('send', errnoOf(error)));
          });
        }
      });
    });
  });
}

function describeStep(step: Step, group: string, address: string): string {
  if (step === 'addMembership') return `addMembership(${group}, ${address})`;
  if (step === 'setMulticastInterface') return `setMulticastInterface(${address})`;
  if (step === 'send') return `send to ${group}`;
  return `bind on ${address}`;
}
