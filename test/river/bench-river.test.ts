/**
 * Goal: `x2 bench river` reports which river driver each process ran and its CPU cost, and the
 * native batched driver delivers everything under seeded loss. Method: short runs of the built
 * executable with --json: two commits on the native path (mmsg) with 5% loss, then two bare
 * subscribers with X2_NATIVE=0 (dgram); each report must say ok (no missing, duplicated or
 * out-of-order entry), name the expected driver for the sequencer and every receiver, and carry
 * CPU ms per MB for both sides.
 */
import { describe, expect, it } from 'vitest';
import { runX2 } from '../harness/x2.ts';
import { testSeed } from '../harness/seed.ts';

type Report = {
  ok: boolean; appends: number; naks: number; sequencerDriver: string | null;
  cpuMsPerMb: { sequencer: number | null; receiver: number | null };
  delivery: Array<{ receiver: string; driver: string | null; missing: number }>;
};

function bench(args: string[], env: NodeJS.ProcessEnv = {}): Report {
  const result = runX2(['bench', 'river', '--receivers', '2', '--duration', '2', '--appenders', '2', '--json',
    ...args], { env, timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`bench river exited ${result.code}: ${result.stderr.slice(-3000)}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
}

describe('x2 bench river: drivers and CPU', () => {
  it('native (mmsg) commits with 5% seeded loss: everything delivered, drivers and CPU reported', () => {
    const report = bench(['--loss', '0.05', '--seed', String(testSeed('bench-river-mmsg'))]);
    expect(report.ok).toBe(true);
    expect(report.appends).toBeGreaterThan(0);
    expect(report.naks).toBeGreaterThan(0);
    expect(report.sequencerDriver).toBe('mmsg');
    expect(report.delivery.map((d) => d.driver)).toEqual(['mmsg', 'mmsg']);
    expect(report.cpuMsPerMb.sequencer).toBeGreaterThan(0);
    expect(report.cpuMsPerMb.receiver).toBeGreaterThan(0);
  }, 180_000);

  it('X2_NATIVE=0: subscribers and sequencer on dgram', () => {
    const report = bench(['--receivers-kind', 'subscriber'], { X2_NATIVE: '0' });
    expect(report.ok).toBe(true);
    expect(report.sequencerDriver).toBe('dgram');
    expect(report.delivery.map((d) => d.driver)).toEqual(['dgram', 'dgram']);
  }, 180_000);
});
