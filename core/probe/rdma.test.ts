/**
 * The RDMA readers against a fake /sys. Method: build /sys/class/infiniband trees in a temp
 * folder (an InfiniBand HCA with two ports, a RoCE NIC whose link layer sysfs calls
 * Ethernet), and a temp library folder for the JS file search; then check the addon's dlopen
 * answer is consistent with that search on this machine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../native/index.ts';
import { findVerbsJs, LIBRARY_DIRS, loadVerbsNative, readRdmaDevices, VERBS_LIBRARY } from './rdma.ts';

const root = mkdtempSync(join(tmpdir(), 'x2-rdma-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${text}\n`);
}

describe('readRdmaDevices', () => {
  it('reads devices, ports, states and link layers, RoCE for Ethernet', () => {
    const sys = join(root, 'sys');
    write(join(sys, 'class/infiniband/mlx5_0/node_type'), '1: CA');
    write(join(sys, 'class/infiniband/mlx5_0/fw_ver'), '16.35.2000');
    write(join(sys, 'class/infiniband/mlx5_0/ports/1/state'), '4: ACTIVE');
    write(join(sys, 'class/infiniband/mlx5_0/ports/1/phys_state'), '5: LinkUp');
    write(join(sys, 'class/infiniband/mlx5_0/ports/1/link_layer'), 'InfiniBand');
    write(join(sys, 'class/infiniband/mlx5_0/ports/1/rate'), '100 Gb/sec (4X EDR)');
    write(join(sys, 'class/infiniband/mlx5_0/ports/2/state'), '1: DOWN');
    write(join(sys, 'class/infiniband/rocep1s0/ports/1/state'), '4: ACTIVE');
    write(join(sys, 'class/infiniband/rocep1s0/ports/1/link_layer'), 'Ethernet');
    expect(readRdmaDevices(sys)).toEqual([
      {
        name: 'mlx5_0', nodeType: 'CA', firmware: '16.35.2000', ports: [
          { port: 1, state: 'ACTIVE', physicalState: 'LinkUp', linkLayer: 'InfiniBand', rate: '100 Gb/sec (4X EDR)' },
          { port: 2, state: 'DOWN', physicalState: null, linkLayer: null, rate: null },
        ],
      },
      {
        name: 'rocep1s0', nodeType: null, firmware: null, ports: [
          { port: 1, state: 'ACTIVE', physicalState: null, linkLayer: 'RoCE', rate: null },
        ],
      },
    ]);
  });

  it('gives no devices when the class folder is absent', () => {
    expect(readRdmaDevices(join(root, 'no-sys'))).toEqual([]);
  });
});

describe('libibverbs', () => {
  it('the JS twin finds the file but never claims it loaded', () => {
    const libDir = join(root, 'lib');
    write(join(libDir, VERBS_LIBRARY), 'not really a library');
    expect(findVerbsJs([join(root, 'empty'), libDir])).toMatchObject({
      loaded: false, checkedBy: 'file-search', path: join(libDir, VERBS_LIBRARY), deviceCount: null,
    });
    const missing = findVerbsJs([join(root, 'empty')]);
    expect(missing).toMatchObject({ loaded: false, path: null });
    expect(missing.reason).toMatch(/not found/);
  });

  it('the addon dlopens it when the file is in the library folders, and says dlerror() when not', () => {
    const addon = nativeAddon();
    expect(addon, 'the addon is built (npm run build:native)').not.toBeNull();
    if (!addon) return;
    const viaDlopen = loadVerbsNative(addon);
    const onDisk = findVerbsJs(LIBRARY_DIRS).path !== null;
    expect(viaDlopen.checkedBy).toBe('dlopen');
    if (!onDisk) {
      expect(viaDlopen.loaded).toBe(false);
      expect(viaDlopen.reason).toMatch(/libibverbs\.so\.1/);
    }
    if (viaDlopen.loaded) expect(viaDlopen.deviceCount).not.toBeNull();
  });
});
