/** Flag parsers shared by the `x2 bench` workloads, so every bench reads `--duration` alike. */
import { usageError } from '../core/base/errors.ts';
import { parseDurationMs } from '../core/base/units.ts';

export const BENCH_DURATION_MS_MAX = 24 * 3_600_000;

/** `--duration`: seconds by default (10, 500ms, 2m), positive, at most 24h; returns ms. */
export function parseBenchDurationMs(value: string): number {
  const ms = parseDurationMs(value, 's');
  if (ms === null || ms <= 0 || ms > BENCH_DURATION_MS_MAX) {
    throw usageError('--duration', value,
      'a positive duration up to 24h is allowed (seconds by default: 10, 500ms, 2m)');
  }
  return ms;
}
