/**
 * Number and text formatting for `x2 top`: short rates (12.3k), sizes (1.2G), percentages,
 * sparklines, and fitting text into a column. Pure functions, no Ink.
 */

const SPARK = '▁▂▃▄▅▆▇█';

/** 950, 12.3k, 4.5M, 1.2G: at most 5 characters for any count or rate. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value) || value < 0) return '-';
  if (value < 1000) return value < 10 && !Number.isInteger(value) ? value.toFixed(1) : String(Math.round(value));
  const units = ['k', 'M', 'G', 'T', 'P'];
  let scaled = value;
  let unit = -1;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit += 1;
  }
  return `${scaled < 10 ? scaled.toFixed(1) : Math.round(scaled)}${units[unit]}`;
}

/** Bytes in binary units, at most 6 characters: 512B, 12.0K, 3.4M, 1.2G. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let scaled = bytes;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(scaled)}B`;
  return `${scaled < 100 ? scaled.toFixed(1) : Math.round(scaled)}${units[unit]}`;
}

/** MB/s with one decimal (decimal megabytes, as throughput is usually quoted). */
export function formatMBps(bytesPerSec: number): string {
  if (!Number.isFinite(bytesPerSec) || bytesPerSec < 0) return '-';
  const mb = bytesPerSec / 1e6;
  return mb >= 100 ? String(Math.round(mb)) : mb.toFixed(1);
}

/** Seconds of lag: "-" when unknown, 0.4s, 12s, 3m, 2h. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** Milliseconds in at most 4 characters: 0.35, 3.1, 180, 5000; 12s from 10 s up; "-" when unknown. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1) return ms.toFixed(2);
  if (ms < 10) return ms.toFixed(1);
  if (ms < 10_000) return String(Math.round(ms));
  return `${Math.round(ms / 1000)}s`;
}

/** The last `width` values as a sparkline scaled to their maximum (all zero: the lowest bar). */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return '';
  const shown = values.slice(-width);
  let max = 0;
  for (const value of shown) if (value > max) max = value;
  const bars = shown.map((value) => {
    if (max <= 0 || value <= 0) return SPARK[0]!;
    return SPARK[Math.min(SPARK.length - 1, Math.floor((value / max) * (SPARK.length - 1) + 0.5))]!;
  });
  return bars.join('').padStart(width, ' ');
}

/**
 * `text` cut or padded to exactly `width` characters; a cut ends with "…", or, with `keepEnd`, puts
 * the "…" before the last `keepEnd` characters (when at least 2 others still fit).
 */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left', keepEnd = 0): string {
  if (width <= 0) return '';
  if (text.length > width) {
    if (keepEnd > 0 && width - 1 - keepEnd >= 2) {
      return `${text.slice(0, width - 1 - keepEnd)}…${text.slice(text.length - keepEnd)}`;
    }
    return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
  }
  return align === 'left' ? text.padEnd(width, ' ') : text.padStart(width, ' ');
}
