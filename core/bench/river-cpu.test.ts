/**
 * Goal: `x2 bench river` reads a child's CPU time right. Method: a fake /proc with a command name
 * holding spaces and parentheses, then this process's own stat after burning CPU (it must grow),
 * and a pid that does not exist (null).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processCpuSeconds } from './river-cpu.ts';

describe('processCpuSeconds', () => {
  it('reads utime + stime after a command name with spaces and parentheses', () => {
    const root = mkdtempSync(join(tmpdir(), 'x2-proc-'));
    try {
      mkdirSync(join(root, '42'));
      writeFileSync(join(root, '42', 'stat'),
        '42 (x2 (river) b) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 3 0 100 0 0\n');
      expect(processCpuSeconds(42, root)).toBeCloseTo(3.8, 6);
      expect(processCpuSeconds(43, root)).toBeNull();
      expect(processCpuSeconds(undefined, root)).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('grows for this process while it computes', () => {
    const before = processCpuSeconds(process.pid)!;
    const startMs = Date.now();
    let sink = 0;
    while (Date.now() - startMs < 300) sink += Math.sqrt(sink + 1);
    expect(sink).toBeGreaterThan(0);
    expect(processCpuSeconds(process.pid)!).toBeGreaterThan(before);
  });
});
