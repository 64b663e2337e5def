/**
 * Small readers for /sys and /proc text files, used by every probe section. They return null
 * when a file is missing or unreadable: a probe reports what the host says and never fails
 * because one fact is unavailable. Bounds: each read is one small file.
 */
import * as fs from 'node:fs';

export function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    // Absent or refused (EINVAL for a virtual link's speed, ENOENT off Linux): the fact is unknown.
    return null;
  }
}

/** A decimal or 0x-hex integer file; null when missing or not a safe integer. */
export function readInteger(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^(0x[0-9a-fA-F]+|-?\d+)$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

export function listDirectory(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    // No such folder (no InfiniBand class, no NUMA sysfs): nothing to list.
    return [];
  }
}

export function readLinkBase(link: string): string | null {
  try {
    const target = fs.readlinkSync(link);
    return target.split('/').pop() ?? null;
  } catch {
    // Virtual interfaces have no device/driver link.
    return null;
  }
}
