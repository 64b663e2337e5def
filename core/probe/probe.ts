/**
 * runProbe: the whole `x2 probe`, as a function that returns a ProbeReport. The CLI prints it;
 * `x2 up` and `--river auto` call it (with recommendRiver) to decide how a node joins the river.
 * Sections run one after another so each timing is clean: interfaces (instant), the multicast
 * self-tests (in parallel, bounded by multicastTimeoutMs), limits (a few syscalls), host facts,
 * and with a data directory the fdatasync burst (bounded by FDATASYNC_BUDGET_MS). The whole
 * probe therefore ends within about multicastTimeoutMs + 1.5 s.
 */
import { nativeAddon, nativeStatus, type NativeAddon } from '../../native/index.ts';
import { probeData } from './disk-check.ts';
import { probeHost } from './host.ts';
import { listInterfacesJs, listInterfacesNative } from './interfaces.ts';
import { probeLimits } from './limits.ts';
import { checkMulticast, MULTICAST_CHECK_TIMEOUT_MS_DEFAULT } from './multicast-check.ts';
import { probeRdma } from './rdma.ts';
import { PROBE_FORMAT, type NativeReport, type ProbeReport } from './report.ts';
import { recommendRiver } from './river-choice.ts';

export type ProbeOptions = {
  x2Version: string;
  /** An existing writable directory (validated by the caller, see dataDirProblem), or null. */
  dataDir?: string | null;
  multicastTimeoutMs?: number;
  /** The addon to use; null runs every JS twin. Defaults to what native/index.ts loaded. */
  addon?: NativeAddon | null;
  sysRoot?: string;
  procRoot?: string;
};

export async function runProbe(options: ProbeOptions): Promise<ProbeReport> {
  const startMs = performance.now();
  const probedAt = new Date().toISOString();
  const addon = options.addon === undefined ? nativeAddon() : options.addon;
  const native: NativeReport = options.addon === null
    ? { native: false, from: null, reason: 'JS twins chosen by the caller' }
    : nativeStatus();
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const interfaces = addon ? listInterfacesNative(addon, sysRoot) : listInterfacesJs(sysRoot);
  const multicast = await checkMulticast(interfaces, options.multicastTimeoutMs ?? MULTICAST_CHECK_TIMEOUT_MS_DEFAULT);
  const limits = await probeLimits(addon, native.reason ?? 'not loaded', procRoot);
  const rdma = probeRdma(addon, sysRoot);
  const host = probeHost(sysRoot, procRoot);
  const data = options.dataDir ? probeData(options.dataDir, procRoot) : null;
  const river = recommendRiver({ interfaces, multicast, limits });
  return {
    format: PROBE_FORMAT,
    x2Version: options.x2Version,
    probedAt,
    durationMs: Math.round(performance.now() - startMs),
    native,
    host,
    interfaces,
    multicast,
    rdma,
    limits,
    data,
    river,
  };
}
