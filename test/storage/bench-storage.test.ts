/**
 * Goal: `x2 bench storage` works from the single executable in an empty folder with a minimal
 * environment (classic-level and the native CRC32C load from the embedded assets), prints
 * every figure it promises, and rejects bad flags with exit 2 naming the flag and the value.
 * Method: run the built dist/x2 (bare) with --json, --baseline and --recovery-tail on a small
 * count, parse the JSON and check its fields; then run it with bad flags.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runX2 } from '../harness/x2.ts';

const dir = mkdtempSync(join(tmpdir(), 'x2s-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('x2 bench storage', () => {
  it('measures a store from an empty folder and prints one JSON object', () => {
    const result = runX2(['bench', 'storage', '--data', join(dir, 'a'), '--count', '3000', '--streams', '7',
      '--entry-bytes', '512', '--baseline', '--recovery-tail', '500', '--json'], { bare: true });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown> & {
      baseline: Record<string, number>; recovery: Record<string, number>;
    };
    expect(report['entries']).toBe(3000);
    expect(report['streams']).toBe(7);
    expect(report['entryBytes']).toBe(512);
    expect(report['sync']).toBe('entry-set');
    for (const key of ['entriesPerSecond', 'megabytesPerSecond', 'fsyncsPerSecond', 'openFiles', 'indexBytes']) {
      expect(report[key], key).toBeGreaterThan(0);
    }
    expect(report['indexWaits']).toBe(0); // 3,000 entries never fill the index's 1,000,000
    expect(report['segmentFiles']).toBe(1);
    expect(report['pageCacheKeepBytes']).toBe(64 * 1024 * 1024);
    expect(report.baseline['ratio']).toBeGreaterThan(0);
    expect(report.recovery['tailEntries']).toBe(500);
    expect(report.recovery['recoveryMs']).toBeGreaterThan(0);
  });

  it('prints the text report with the interval policy', () => {
    const result = runX2(['bench', 'storage', '--data', join(dir, 'b'), '--duration', '300ms', '--sync', 'interval:5',
      '--page-cache-keep', 'all'], { bare: true });
    expect(result.code, result.stderr).toBe(0);
    for (const label of ['entries/s', 'MB/s', 'fsyncs/s', 'index waits     0', 'open files', 'index size',
      'sync interval:5', 'page cache      every page kept, 0 B dropped']) {
      expect(result.stdout).toContain(label);
    }
  });

  it('drops synced pages behind --page-cache-keep from the executable (the embedded native addon)', () => {
    const result = runX2(['bench', 'storage', '--data', join(dir, 'd'), '--count', '400', '--entry-bytes', '64KiB',
      '--page-cache-keep', '1MiB', '--json'], { bare: true });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, number>;
    expect(report['pageCacheKeepBytes']).toBe(1024 * 1024);
    // ~26 MB written: everything but the last 1 MiB is dropped by the time the store closes.
    expect(report['pageCacheDroppedBytes']).toBeGreaterThan(report['segmentBytes']! - 2 * 1024 * 1024);
    expect(result.stderr).not.toMatch(/page cache/);
  });

  it('--stores 2 writes two stores at once, each in its own process, and sums them', () => {
    const result = runX2(['bench', 'storage', '--data', join(dir, 'e'), '--stores', '2', '--count', '2000',
      '--entry-bytes', '600', '--streams', '3', '--json'], { bare: true });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      stores: Array<Record<string, number | string>>; megabytesPerSecondPerStore: number;
      megabytesPerSecondMin: number; megabytesPerSecondTotal: number;
    };
    expect(report.stores).toHaveLength(2);
    for (const store of report.stores) {
      expect(store['entries']).toBe(2000);
      expect(store['entryBytes']).toBe(600);
      expect(store['streams']).toBe(3);
      expect(store['sync']).toBe('entry-set');
      expect(store['segmentBytes']).toBeGreaterThan(2000 * 600);
    }
    const rates = report.stores.map((store) => store['megabytesPerSecond'] as number);
    expect(report.megabytesPerSecondTotal).toBeCloseTo(rates[0]! + rates[1]!, 6);
    expect(report.megabytesPerSecondPerStore).toBeCloseTo((rates[0]! + rates[1]!) / 2, 6);
    expect(report.megabytesPerSecondMin).toBe(Math.min(...rates));
    expect(readdirSync(join(dir, 'e')).sort()).toEqual(['store-1', 'store-2']);
    const text = runX2(['bench', 'storage', '--data', join(dir, 'f'), '--stores', '2', '--duration', '300ms'],
      { bare: true });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/2 stores at once/);
    expect(text.stdout).toMatch(/store-2 .* MB\/s/);
    expect(text.stdout).toMatch(/MB\/s per store/);
  });

  it('rejects bad flags with exit 2, naming the flag, the value and what is allowed', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--sync', 'sometimes'], /--sync: .*entry-set, interval:MS .* \(got "sometimes"\)/],
      [['--streams', '0'], /--streams: a whole number from 1 to 10000000 is allowed \(got "0"\)/],
      [['--entry-bytes', '12'], /--entry-bytes: a size from 77 .* \(got "12"\)/],
      [['--duration', '-3'], /--duration: a positive duration/],
      [['--count', '1.5'], /--count: a whole number/],
      [['--recovery-tail', '1000001'],
        /--recovery-tail: a whole number from 1 to 1000000 is allowed \(got "1000001"\)/],
      [['--stores', '9'], /--stores: a whole number from 1 to 8 is allowed \(got "9"\)/],
      [['--stores', '2', '--baseline'], /--stores: 1 with --baseline is allowed \(got "2"\)/],
      [['--stores', '2', '--recovery-tail', '10'], /--stores: 1 with --recovery-tail is allowed \(got "2"\)/],
      [['--page-cache-keep', 'most'], /--page-cache-keep: a size from 0 to 1TiB .* or 'all' is allowed \(got "most"\)/],
    ];
    for (const [flags, message] of cases) {
      const result = runX2(['bench', 'storage', '--data', join(dir, 'c'), ...flags], { bare: true });
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const notEmpty = runX2(['bench', 'storage', '--data', dir, '--count', '1']);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/--data: a new or empty directory is required/);
  });
});
