/**
 * The probe report: what this host offers x2, as one plain object. `x2 probe --json` prints it
 * as is; `x2 up` and the river's `--river auto` read it through core/probe functions
 * (runProbe, recommendRiver), never by parsing text. The text view (format-text.ts) shows the
 * same content.
 *
 * Schema rules: every field is always present (null when unknown, never omitted), units are
 * last in names (mtuBytes, speedMbps, p99Ms), and `format` changes only when a field changes
 * meaning or disappears; new fields may be added within a format.
 */

export const PROBE_FORMAT = 1;

export type AddressFamily = 'IPv4' | 'IPv6';

export type InterfaceAddress = { family: AddressFamily; address: string; prefixLength: number | null };

export type InterfaceFlags = {
  up: boolean;
  running: boolean;
  loopback: boolean;
  multicast: boolean;
  broadcast: boolean;
  pointToPoint: boolean;
};

export type ProbedInterface = {
  name: string;
  index: number | null;
  /** The IFF_* bits as the source gave them (getifaddrs or /sys/class/net/<name>/flags). */
  flagsRaw: number;
  flags: InterfaceFlags;
  mtuBytes: number | null;
  addresses: InterfaceAddress[];
  macAddress: string | null;
  /** /sys/class/net/<name>/speed; null for virtual links that do not say. */
  speedMbps: number | null;
  /** The kernel driver bound to the device, from /sys/class/net/<name>/device/driver. */
  driver: string | null;
  operState: string | null;
  /** Where flags and MTU came from: the addon (getifaddrs + ioctl) or the JS twin (/sys). */
  source: 'getifaddrs' | 'sysfs';
};

/** One live multicast self-test: join on the interface address, send, receive. */
export type MulticastCheck = {
  interface: string;
  address: string;
  group: string;
  port: number;
  /** 0: nothing leaves the host; the kernel's loopback copy is what comes back. */
  ttl: number;
  ok: boolean;
  sentCount: number;
  receivedCount: number;
  elapsedMs: number;
  timeoutMs: number;
  /** The errno name (ENOBUFS, ENODEV, ...) when a socket call failed, else null. */
  error: string | null;
  /** Why it failed, for people; null when ok. */
  reason: string | null;
};

export type MulticastReport = {
  timeoutMs: number;
  checks: MulticastCheck[];
  /** Interfaces not tested and why (down, no IPv4 address). */
  skipped: Array<{ interface: string; reason: string }>;
};

export type RdmaPort = {
  port: number;
  /** e.g. "ACTIVE", "DOWN" (the text after "4: " in /sys). */
  state: string | null;
  physicalState: string | null;
  /** "InfiniBand" or "RoCE" (sysfs says "Ethernet" for RoCE); null when sysfs does not say. */
  linkLayer: string | null;
  rate: string | null;
};

export type RdmaDevice = { name: string; nodeType: string | null; firmware: string | null; ports: RdmaPort[] };

export type VerbsLibrary = {
  /** True only when dlopen succeeded; the JS twin never loads it and says so in `reason`. */
  loaded: boolean;
  checkedBy: 'dlopen' | 'file-search';
  /** The file loaded (dlopen) or found (file search). */
  path: string | null;
  deviceCount: number | null;
  reason: string | null;
};

export type RdmaReport = { devices: RdmaDevice[]; verbs: VerbsLibrary };

export type MmsgReport = {
  /** 'addon' when sendmmsg/recvmmsg were really called; null when they could not be checked. */
  checkedBy: 'addon' | null;
  sendmmsgUsable: boolean | null;
  recvmmsgUsable: boolean | null;
  sentCount: number;
  receivedCount: number;
  reason: string | null;
};

export type LimitsReport = {
  rmemMaxBytes: number | null;
  wmemMaxBytes: number | null;
  rmemDefaultBytes: number | null;
  wmemDefaultBytes: number | null;
  /** SO_RCVBUF granted to a UDP socket that asked for rmemMaxBytes (Linux reports double). */
  recvBufferGrantedBytes: number | null;
  igmpMaxMemberships: number | null;
  /** Groups one socket could join on loopback before the kernel refused (bounded). */
  membershipsMeasured: number | null;
  membershipsMeasuredMax: number;
  /** The errno that stopped the measurement; null when it reached membershipsMeasuredMax. */
  membershipsStopError: string | null;
  mmsg: MmsgReport;
};

export type HostReport = {
  hostname: string;
  kernelRelease: string;
  kernelVersion: string;
  cpuCount: number;
  cpuModel: string | null;
  numaNodeCount: number | null;
  memoryBytes: number;
  hugePageBytes: number | null;
  hugePagesTotal: number | null;
  hugePagesFree: number | null;
  /** /sys/kernel/mm/transparent_hugepage/enabled, the bracketed choice (always, madvise, never). */
  transparentHugePages: string | null;
};

export type FdatasyncReport = {
  count: number;
  writeBytes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  totalMs: number;
};

export type DataReport = {
  path: string;
  filesystem: string | null;
  mountPoint: string | null;
  device: string | null;
  totalBytes: number;
  freeBytes: number;
  /** Free to this (unprivileged) user: statfs bavail. */
  availableBytes: number;
  fdatasync: FdatasyncReport;
};

export type RiverDriver = 'multicast' | 'loopback-multicast' | 'unicast-tcp';

export type RiverRecommendation = {
  driver: RiverDriver;
  interface: string | null;
  address: string | null;
  mtuBytes: number | null;
  reason: string;
};

export type NativeReport = { native: boolean; from: string | null; reason: string | null };

export type ProbeReport = {
  format: typeof PROBE_FORMAT;
  x2Version: string;
  probedAt: string;
  durationMs: number;
  native: NativeReport;
  host: HostReport;
  interfaces: ProbedInterface[];
  multicast: MulticastReport;
  rdma: RdmaReport;
  limits: LimitsReport;
  data: DataReport | null;
  river: RiverRecommendation;
};
