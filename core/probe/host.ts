/**
 * Host facts for the probe: kernel, CPU count and model, NUMA nodes, memory and huge pages.
 * They size a node's work (one role per core, buffers in huge pages later). Sources: node:os,
 * /sys/devices/system/node and /proc/meminfo. Bounds: a few small files.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostReport } from './report.ts';
import { listDirectory, readText } from './sysfs.ts';

/** A "Name:   123 kB" line of /proc/meminfo, in its own unit (kB becomes bytes). */
function meminfoValue(meminfo: string, key: string): number | null {
  const match = new RegExp(`^${key}:\\s+(\\d+)(\\s+kB)?$`, 'm').exec(meminfo);
  if (!match) return null;
  const value = Number(match[1]);
  return match[2] ? value * 1024 : value;
}

export function probeHost(sysRoot = '/sys', procRoot = '/proc'): HostReport {
  const cpus = os.cpus();
  const nodeDirs = listDirectory(path.join(sysRoot, 'devices/system/node')).filter((n) => /^node\d+$/.test(n));
  const meminfo = readText(path.join(procRoot, 'meminfo')) ?? '';
  const transparent = readText(path.join(sysRoot, 'kernel/mm/transparent_hugepage/enabled'));
  return {
    hostname: os.hostname(),
    kernelRelease: os.release(),
    kernelVersion: os.version(),
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model.trim() || null,
    numaNodeCount: nodeDirs.length > 0 ? nodeDirs.length : null,
    memoryBytes: os.totalmem(),
    hugePageBytes: meminfoValue(meminfo, 'Hugepagesize'),
    hugePagesTotal: meminfoValue(meminfo, 'HugePages_Total'),
    hugePagesFree: meminfoValue(meminfo, 'HugePages_Free'),
    transparentHugePages: transparent ? (/\[(\w+)\]/.exec(transparent)?.[1] ?? transparent) : null,
  };
}
