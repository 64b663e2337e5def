/**
 * Goal: after kill -9 at any moment (startup, recovery, appends, fdatasync, index writes, segment
 * rolls), reopening the store finds every entry it reported durable, byte for byte and in
 * order, and keeps working.
 * Method: bundle a small driver (test/storage/crash-driver.ts) once with esbuild and run it with
 * Node 24 hundreds of times on one store directory. Each run reopens the store (recovery),
 * checks everything reported durable so far (the whole store every 25 runs, otherwise the
 * entries since the previous check), prints each durable seq while it appends, and is killed
 * with SIGKILL after a random delay from a seeded schedule. A last run checks the whole store
 * and closes cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng, testSeed } from '../harness/seed.ts';
import { REPO_ROOT } from '../harness/x2.ts';

const NODE = join(REPO_ROOT, 'node_modules/.bin/node');
const DRIVER = join(REPO_ROOT, `dist/x2s-crash-driver-${process.pid}.cjs`);
const RUNS = 200;
const FULL_CHECK_EVERY = 25;

let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'x2s-crash-'));
  await build({
    entryPoints: [join(REPO_ROOT, 'test/storage/crash-driver.ts')], outfile: DRIVER, bundle: true,
    platform: 'node', target: 'node24', format: 'cjs', logLevel: 'warning', external: ['classic-level'],
    define: { 'import.meta.url': '__x2_import_meta_url' },
    banner: { js: "const __x2_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
});

afterAll(() => {
  rmSync(DRIVER, { force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Run = { code: number | null; signal: string | null; lines: string[]; stderr: string };

function runDriver(args: string[], killAfterMs: number | null): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [DRIVER, ...args], {
      env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules'), X2_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, lines: stdout.split('\n').filter(Boolean), stderr });
    });
  });
}

describe('store crash safety (kill -9)', () => {
  it(`keeps every reported-durable entry across ${RUNS} kills at random moments`, { timeout: 170_000 }, async () => {
    const seed = testSeed('storage crash');
    const random = prng(seed);
    let durableSeq = 0;
    let checkedThrough = 0;
    let killsDuringAppends = 0;
    let entriesChecked = 0;
    for (let run = 0; run <= RUNS; run++) {
      const isLast = run === RUNS;
      const checkFrom = isLast || run % FULL_CHECK_EVERY === 0 ? 1 : Math.max(1, checkedThrough - 5);
      const early = random() < 0.25;
      const killAfterMs = isLast ? null : early ? Math.floor(random() * 120) : 150 + Math.floor(random() * 450);
      const result = await runDriver([dir, String(durableSeq), String(checkFrom), isLast ? '50' : '400',
        String(Math.floor(random() * 2 ** 31))], killAfterMs);
      const failure = result.lines.find((line) => line.startsWith('F '));
      expect(failure, `run ${run} (seed ${seed}): ${failure}\n${result.stderr}`).toBeUndefined();
      if (result.signal !== 'SIGKILL') {
        expect(result.code, `run ${run} exit (seed ${seed}): ${result.stderr}`).toBe(0);
      }
      const ready = result.lines.find((line) => line.startsWith('R '));
      if (ready !== undefined) {
        const [, lastSeq, , checked] = ready.split(' ').map(Number);
        expect(lastSeq).toBeGreaterThanOrEqual(durableSeq);
        checkedThrough = lastSeq ?? checkedThrough;
        entriesChecked += checked ?? 0;
        if (result.lines.some((line) => line.startsWith('D '))) killsDuringAppends += 1;
      }
      for (const line of result.lines) {
        if (line.startsWith('D ')) durableSeq = Math.max(durableSeq, Number(line.slice(2)));
      }
      if (isLast) expect(result.lines[result.lines.length - 1]).toBe('C');
    }
    process.stderr.write(`[crash] ${RUNS} kills, ${killsDuringAppends} during appends, durable seq ${durableSeq}, ` +
      `${entriesChecked} entries checked\n`);
    expect(killsDuringAppends).toBeGreaterThan(RUNS / 4);
    expect(durableSeq).toBeGreaterThan(1000);
  });
});
