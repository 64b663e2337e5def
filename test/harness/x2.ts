/**
 * Harness for system tests: runs the built single executable (dist/x2) the way a user does,
 * as a separate process, optionally from an empty folder with a minimal environment.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const X2_BINARY = join(REPO_ROOT, 'dist/x2');

export function requireBinary(): string {
  if (!existsSync(X2_BINARY)) throw new Error(`${X2_BINARY} is missing: run npm run build first`);
  return X2_BINARY;
}

export type RunResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Runs `x2 args` to completion. `bare` = empty cwd and a minimal environment (no PATH to node). */
export function runX2(args: string[], options: { bare?: boolean; env?: NodeJS.ProcessEnv; cwd?: string;
  timeoutMs?: number; input?: string } = {}): RunResult {
  const binary = requireBinary();
  const cwd = options.cwd ?? (options.bare ? makeTempDir('x2-empty-') : REPO_ROOT);
  const env = options.bare ? { HOME: cwd, ...options.env } : { ...process.env, ...options.env };
  const result = spawnSync(binary, args, {
    cwd, env, encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, input: options.input ?? '',
  });
  if (options.bare && !options.cwd) rmSync(cwd, { recursive: true, force: true });
  return { code: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Starts `x2 args` as a long-running child (a role); the caller stops it. */
export function startX2(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(requireBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

export function makeTempDir(prefix = 'x2-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
