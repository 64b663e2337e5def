/**
 * RDMA for the probe: the devices under /sys/class/infiniband with their ports (state, link
 * layer, rate), and whether the verbs library (libibverbs.so.1) can be loaded. The addon
 * dlopens it and asks how many devices it sees; the JS twin can only look for the file in the
 * usual library folders and says that it did not load it. A later RDMA river driver starts
 * from this. Bounds: one pass over the class folder; the library is loaded at most once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeAddon } from '../../native/index.ts';
import type { RdmaDevice, RdmaPort, RdmaReport, VerbsLibrary } from './report.ts';
import { listDirectory, readText } from './sysfs.ts';

export const VERBS_LIBRARY = 'libibverbs.so.1';

/** Where Debian, Red Hat and hand builds put shared libraries. */
export const LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu',
  '/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib',
];

/** "4: ACTIVE" -> "ACTIVE"; sysfs prefixes the numeric value. */
function stateText(text: string | null): string | null {
  if (text === null) return null;
  return text.replace(/^\d+:\s*/, '');
}

/** sysfs says "Ethernet" for RoCE ports. */
function linkLayerText(text: string | null): string | null {
  if (text === null) return null;
  return text === 'Ethernet' ? 'RoCE' : text;
}

export function readRdmaDevices(sysRoot = '/sys'): RdmaDevice[] {
  const classDir = path.join(sysRoot, 'class/infiniband');
  return listDirectory(classDir).map((name) => {
    const dir = path.join(classDir, name);
    const ports: RdmaPort[] = listDirectory(path.join(dir, 'ports'))
      .filter((port) => /^\d+$/.test(port))
      .map((port) => {
        const portDir = path.join(dir, 'ports', port);
        return {
          port: Number(port),
          state: stateText(readText(path.join(portDir, 'state'))),
          physicalState: stateText(readText(path.join(portDir, 'phys_state'))),
          linkLayer: linkLayerText(readText(path.join(portDir, 'link_layer'))),
          rate: readText(path.join(portDir, 'rate')),
        };
      })
      .sort((a, b) => a.port - b.port);
    return {
      name,
      nodeType: stateText(readText(path.join(dir, 'node_type'))),
      firmware: readText(path.join(dir, 'fw_ver')),
      ports,
    };
  });
}

export function loadVerbsNative(addon: NativeAddon): VerbsLibrary {
  const load = addon.verbsLoad();
  return {
    loaded: load.loaded,
    checkedBy: 'dlopen',
    path: load.path,
    deviceCount: load.deviceCount,
    reason: load.loaded ? null : load.error,
  };
}

export function findVerbsJs(libraryDirs: string[] = LIBRARY_DIRS): VerbsLibrary {
  const found = libraryDirs.map((dir) => path.join(dir, VERBS_LIBRARY)).find((file) => fs.existsSync(file)) ?? null;
  return {
    loaded: false,
    checkedBy: 'file-search',
    path: found,
    deviceCount: null,
    reason: found
      ? `found ${found}; only the native addon can load it`
      : `${VERBS_LIBRARY} not found in ${libraryDirs.join(', ')}; only the native addon can load it`,
  };
}

export function probeRdma(addon: NativeAddon | null, sysRoot = '/sys'): RdmaReport {
  return { devices: readRdmaDevices(sysRoot), verbs: addon ? loadVerbsNative(addon) : findVerbsJs() };
}
