/**
 * The readable view of a ProbeReport (what `x2 probe` prints without --json): one section per
 * part of the report, in the same order and with the same facts as the JSON, so an operator
 * and a program see one truth. Pure: report in, text out.
 */
import { formatBytes } from '../base/units.ts';
import { RECEIVE_BUFFER_BYTES } from '../river/multicast.ts';
import type { InterfaceFlags, ProbeReport, ProbedInterface } from './report.ts';

function flagWords(flags: InterfaceFlags): string {
  const words: string[] = [];
  words.push(flags.up ? 'UP' : 'DOWN');
  if (flags.loopback) words.push('LOOPBACK');
  if (flags.multicast) words.push('MULTICAST');
  if (flags.broadcast) words.push('BROADCAST');
  if (flags.pointToPoint) words.push('POINTOPOINT');
  return words.join(',');
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

const orUnknown = (value: string | number | null): string => (value === null ? 'unknown' : String(value));
const bytesOrUnknown = (value: number | null): string =>
  (value === null ? 'unknown' : `${value} (${formatBytes(value)})`);

function interfaceLine(entry: ProbedInterface, nameWidth: number): string {
  const addresses = entry.addresses.map((a) => `${a.address}/${a.prefixLength ?? '?'}`).join(' ') || '-';
  const link = [
    entry.speedMbps !== null ? `speed ${entry.speedMbps} Mb/s` : null,
    entry.driver !== null ? `driver ${entry.driver}` : null,
  ].filter((part) => part !== null).join(', ');
  return `  ${pad(entry.name, nameWidth)}${pad(flagWords(entry.flags), 30)}mtu ${pad(orUnknown(entry.mtuBytes), 7)}`
    + `${addresses}${link ? `  (${link})` : ''}`;
}

export function formatProbeText(report: ProbeReport): string {
  const lines: string[] = [];
  const nameWidth = Math.max(6, ...report.interfaces.map((e) => e.name.length + 2));
  const { host, limits, rdma, river } = report;
  lines.push(`x2 probe ${report.x2Version} on ${host.hostname}, ${report.probedAt}, took ${report.durationMs} ms`);
  lines.push('');
  lines.push(`river      ${river.driver}${river.interface ? ` on ${river.interface}` : ''}`
    + `${river.address ? ` (${river.address}${river.mtuBytes !== null ? `, MTU ${river.mtuBytes}` : ''})` : ''}`);
  lines.push(`           ${river.reason}`);
  lines.push(report.native.native
    ? `native     addon loaded from ${report.native.from}`
    : `native     JS fallback: ${report.native.reason}`);

  lines.push('', 'interfaces');
  for (const entry of report.interfaces) lines.push(interfaceLine(entry, nameWidth));

  lines.push('', `multicast self-test (join, send, receive; TTL 0; timeout ${report.multicast.timeoutMs} ms)`);
  for (const check of report.multicast.checks) {
    const outcome = check.ok
      ? `ok      ${check.receivedCount}/${check.sentCount} received in ${check.elapsedMs} ms`
      : `FAILED  ${check.reason}`;
    lines.push(`  ${pad(check.interface, nameWidth)}${pad(`${check.group}:${check.port}`, 24)}${outcome}`);
  }
  for (const skip of report.multicast.skipped) lines.push(`  ${pad(skip.interface, nameWidth)}skipped: ${skip.reason}`);

  lines.push('', 'rdma');
  if (rdma.devices.length === 0) lines.push('  devices      none (/sys/class/infiniband is empty or absent)');
  for (const device of rdma.devices) {
    lines.push(`  ${device.name}  ${orUnknown(device.nodeType)}, firmware ${orUnknown(device.firmware)}`);
    for (const port of device.ports) {
      lines.push(`    port ${port.port}  ${orUnknown(port.state)}, ${orUnknown(port.linkLayer)}, `
        + orUnknown(port.rate));
    }
  }
  const verbs = rdma.verbs;
  lines.push(verbs.loaded
    ? `  libibverbs   loaded (dlopen) from ${orUnknown(verbs.path)}, ${orUnknown(verbs.deviceCount)} device(s)`
    : `  libibverbs   not loaded (${verbs.checkedBy}): ${verbs.reason}`);

  lines.push('', 'limits');
  lines.push(`  net.core.rmem_max               ${bytesOrUnknown(limits.rmemMaxBytes)}`);
  lines.push(`  net.core.wmem_max               ${bytesOrUnknown(limits.wmemMaxBytes)}`);
  lines.push(`  net.core.rmem_default           ${bytesOrUnknown(limits.rmemDefaultBytes)}`);
  lines.push(`  receive buffer granted          ${bytesOrUnknown(limits.recvBufferGrantedBytes)} (asked for rmem_max)`);
  lines.push(`  net.ipv4.igmp_max_memberships   ${orUnknown(limits.igmpMaxMemberships)}`);
  lines.push(`  memberships measured            ${orUnknown(limits.membershipsMeasured)}`
    + (limits.membershipsStopError
      ? ` (then ${limits.membershipsStopError})`
      : ` (stopped at ${limits.membershipsMeasuredMax})`));
  const mmsg = limits.mmsg;
  lines.push(mmsg.checkedBy === null
    ? `  sendmmsg/recvmmsg               ${mmsg.reason}`
    : `  sendmmsg/recvmmsg               ${mmsg.sendmmsgUsable ? 'usable' : 'NOT usable'}/`
      + `${mmsg.recvmmsgUsable ? 'usable' : 'NOT usable'} (${mmsg.receivedCount}/${mmsg.sentCount} datagrams`
      + ` on loopback${mmsg.reason ? `; ${mmsg.reason}` : ''})`);
  // River receivers ask for RECEIVE_BUFFER_BYTES; only root (SO_RCVBUFFORCE) gets past rmem_max.
  if (limits.rmemMaxBytes !== null && limits.rmemMaxBytes < RECEIVE_BUFFER_BYTES) {
    lines.push(`  advice                          river receivers ask for ${formatBytes(RECEIVE_BUFFER_BYTES)} of `
      + `receive buffer, capped by rmem_max unless root: sysctl -w net.core.rmem_max=${RECEIVE_BUFFER_BYTES}`);
  }

  lines.push('', 'host');
  lines.push(`  kernel       ${host.kernelRelease} ${host.kernelVersion}`);
  lines.push(`  cpus         ${host.cpuCount} x ${orUnknown(host.cpuModel)}`);
  lines.push(`  numa nodes   ${orUnknown(host.numaNodeCount)}`);
  lines.push(`  memory       ${formatBytes(host.memoryBytes)}`);
  lines.push(`  huge pages   ${orUnknown(host.hugePagesTotal)} total, ${orUnknown(host.hugePagesFree)} free, `
    + `${host.hugePageBytes === null ? 'unknown size' : formatBytes(host.hugePageBytes)} each; `
    + `transparent: ${orUnknown(host.transparentHugePages)}`);

  if (report.data) {
    const data = report.data;
    const sync = data.fdatasync;
    lines.push('', `data ${data.path}`);
    lines.push(`  file system  ${orUnknown(data.filesystem)} on ${orUnknown(data.device)}, `
      + `mounted at ${orUnknown(data.mountPoint)}`);
    lines.push(`  space        ${formatBytes(data.availableBytes)} available of ${formatBytes(data.totalBytes)}`);
    lines.push(`  fdatasync    p50 ${sync.p50Ms} ms, p99 ${sync.p99Ms} ms, max ${sync.maxMs} ms `
      + `(${sync.count} appends of ${sync.writeBytes} B in ${Math.round(sync.totalMs)} ms)`);
  }
  return `${lines.join('\n')}\n`;
}
