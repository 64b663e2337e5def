/**
 * Which river driver a node on this host would use, and why. `x2 probe` prints it and the
 * roles' `--river auto` will call the same function on a fresh probe, so both always agree.
 *
 * The choice (first matching row wins):
 *
 * | a non-loopback interface is up, has IPv4, has MULTICAST, passed the self-test | driver             |
 * |-------------------------------------------------------------------------------|--------------------|
 * | yes (the fastest link, then the largest MTU, then the lowest index)            | multicast          |
 * | no, but some non-loopback interface is up with IPv4                            | unicast-tcp on it  |
 * | no non-loopback interface is up with IPv4, loopback passed                     | loopback-multicast |
 * | nothing passed and nothing else is up                                          | unicast-tcp on lo  |
 *
 * An interface without the MULTICAST flag is not chosen even when its local self-test passes:
 * the self-test only proves the kernel's loopback copy (TTL 0), and an interface that does
 * not claim multicast (tunnels, WireGuard, some virtual NICs) may not carry it to peers.
 */
import { ipv4AddressOf } from './interfaces.ts';
import type { MulticastCheck, ProbeReport, ProbedInterface, RiverRecommendation } from './report.ts';

export type RiverInputs = Pick<ProbeReport, 'interfaces' | 'multicast' | 'limits'>;

function fasterFirst(a: ProbedInterface, b: ProbedInterface): number {
  return (b.speedMbps ?? 0) - (a.speedMbps ?? 0)
    || (b.mtuBytes ?? 0) - (a.mtuBytes ?? 0)
    || (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER);
}

/** Why `entry` cannot carry the river's multicast to other hosts. */
function multicastProblem(entry: ProbedInterface, check: MulticastCheck | undefined, inputs: RiverInputs): string {
  if (!check) return `${entry.name}: not tested`;
  if (!check.ok) {
    const hint = check.error === 'ENOBUFS' && inputs.limits.igmpMaxMemberships !== null
      ? ` (net.ipv4.igmp_max_memberships = ${inputs.limits.igmpMaxMemberships})`
      : '';
    return `${entry.name}: multicast self-test failed: ${check.reason ?? 'no datagram received'}${hint}`;
  }
  return `${entry.name}: no MULTICAST flag, so multicast may not reach other hosts`;
}

export function recommendRiver(inputs: RiverInputs): RiverRecommendation {
  const checkOf = (name: string): MulticastCheck | undefined =>
    inputs.multicast.checks.find((c) => c.interface === name);
  const external = inputs.interfaces
    .filter((e) => !e.flags.loopback && e.flags.up && ipv4AddressOf(e) !== null)
    .sort(fasterFirst);
  const usable = external.filter((e) => e.flags.multicast && checkOf(e.name)?.ok === true);
  const best = usable[0];
  if (best) {
    const check = checkOf(best.name);
    return {
      driver: 'multicast',
      interface: best.name,
      address: ipv4AddressOf(best),
      mtuBytes: best.mtuBytes,
      reason: `${best.name} is up with MULTICAST and passed the self-test `
        + `(${check?.receivedCount ?? 0}/${check?.sentCount ?? 0} datagrams in ${check?.elapsedMs ?? 0} ms)`
        + (usable.length > 1 ? `; chosen over ${usable.slice(1).map((e) => e.name).join(', ')} `
          + 'by link speed, then MTU' : ''),
    };
  }
  const first = external[0];
  if (first) {
    const problems = external.map((e) => multicastProblem(e, checkOf(e.name), inputs));
    return {
      driver: 'unicast-tcp',
      interface: first.name,
      address: ipv4AddressOf(first),
      mtuBytes: first.mtuBytes,
      reason: `no interface can carry multicast to other hosts: ${problems.join('; ')}`,
    };
  }
  const loopback = inputs.interfaces.find((e) => e.flags.loopback && e.flags.up && ipv4AddressOf(e) !== null);
  const loopbackCheck = loopback ? checkOf(loopback.name) : undefined;
  if (loopback && loopbackCheck?.ok) {
    return {
      driver: 'loopback-multicast',
      interface: loopback.name,
      address: ipv4AddressOf(loopback),
      mtuBytes: loopback.mtuBytes,
      reason: `no other interface is up with an IPv4 address; multicast on ${loopback.name} passed the self-test, `
        + 'so every member of a cluster on this host can share one river',
    };
  }
  return {
    driver: 'unicast-tcp',
    interface: loopback?.name ?? null,
    address: loopback ? ipv4AddressOf(loopback) : null,
    mtuBytes: loopback?.mtuBytes ?? null,
    reason: loopback
      ? `no other interface is up with an IPv4 address, and ${multicastProblem(loopback, loopbackCheck, inputs)}`
      : 'no interface is up with an IPv4 address',
  };
}
