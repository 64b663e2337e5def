/**
 * CPU time of a child process from /proc/PID/stat (utime + stime, in clock ticks), for
 * `x2 bench river`'s CPU per MB appended. Linux only; null when the process is gone or /proc is
 * unreadable. Resolution is one clock tick (10 ms at the usual USER_HZ of 100), so it suits runs of
 * seconds, not single operations.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/PID/stat times; 100 on every Linux architecture x2 targets. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of `pid` in seconds, or null. */
export function processCpuSeconds(pid: number | undefined, procRoot = '/proc'): number | null {
  if (pid === undefined) return null;
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}
