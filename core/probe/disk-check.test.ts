/**
 * The data directory check. Method: parse hand-written mountinfo lines (longest prefix,
 * octal escapes, a mount over a mount), classify good and bad directories with
 * dataDirProblem, and run a real fdatasync burst in a temp folder, checking the percentiles
 * are ordered and the temp file is gone afterwards.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dataDirProblem, FDATASYNC_COUNT_MAX, measureFdatasync, mountOf, probeData,
} from './disk-check.ts';

const root = mkdtempSync(join(tmpdir(), 'x2-disk-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 22 0:26 / /var/lib/x2 rw,relatime shared:2 - xfs /dev/nvme0n1 rw',
  '31 22 0:27 / /mnt/with\\040space rw - tmpfs tmpfs rw',
  '32 30 0:28 / /var/lib/x2 rw - btrfs /dev/sdb rw',
].join('\n');

describe('mountOf', () => {
  it('picks the longest mount point that holds the path, the last mount when stacked', () => {
    expect(mountOf('/var/lib/x2/data', MOUNTINFO))
      .toEqual({ mountPoint: '/var/lib/x2', filesystem: 'btrfs', device: '/dev/sdb' });
    expect(mountOf('/var/lib/x2other', MOUNTINFO)).toEqual({ mountPoint: '/', filesystem: 'ext4', device: '/dev/vda' });
    expect(mountOf('/mnt/with space/d', MOUNTINFO))
      .toMatchObject({ mountPoint: '/mnt/with space', filesystem: 'tmpfs' });
    expect(mountOf('/x', '')).toBeNull();
  });
});

describe('dataDirProblem', () => {
  it('accepts a writable directory and names what is wrong otherwise', () => {
    expect(dataDirProblem(root)).toBeNull();
    expect(dataDirProblem(join(root, 'missing'))).toBe('it does not exist');
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    expect(dataDirProblem(file)).toBe('it is not a directory');
  });
});

describe('fdatasync burst', () => {
  it('measures ordered percentiles within its bounds and removes its temp file', () => {
    const dir = mkdtempSync(join(root, 'sync-'));
    const report = measureFdatasync(dir);
    expect(report.count).toBeGreaterThanOrEqual(1);
    expect(report.count).toBeLessThanOrEqual(FDATASYNC_COUNT_MAX);
    expect(report.p50Ms).toBeLessThanOrEqual(report.p99Ms);
    expect(report.p99Ms).toBeLessThanOrEqual(report.maxMs);
    expect(report.maxMs).toBeLessThanOrEqual(report.totalMs);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('probeData reports space and the resolved path', () => {
    const report = probeData(root);
    expect(report.path).toBe(root);
    expect(report.totalBytes).toBeGreaterThan(0);
    expect(report.availableBytes).toBeLessThanOrEqual(report.freeBytes);
    expect(report.filesystem).not.toBeNull();
  });

  it('a directory that vanished is an X2_ERR_IO error naming it', () => {
    expect(() => probeData(join(root, 'gone'))).toThrow(/data directory .*gone: the probe failed \(ENOENT\)/);
  });
});
