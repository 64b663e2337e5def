/**
 * Flags shared by everything that opens a store (`x2 commit`, `x2 bench storage`), so that a
 * benchmark runs the store as a commit does.
 */
import { Option } from 'commander';
import { usageError } from '../core/base/errors.ts';
import { parseBytes } from '../core/base/units.ts';
import { PAGE_CACHE_KEEP_BYTES_DEFAULT } from '../core/storage/store.ts';

/** --page-cache-keep: 'all' or a size of 0 to 1 TiB (commander turns a parsed null into ''). */
export function parsePageCacheKeep(value: string): number | 'all' {
  if (value.trim() === 'all') return 'all';
  const bytes = parseBytes(value);
  if (bytes === null || bytes > 1024 ** 4) {
    throw usageError('--page-cache-keep', value, "a size from 0 to 1TiB (e.g. 64MiB) or 'all' is allowed");
  }
  return bytes;
}

/** The store option: null keeps every page (the kernel decides). */
export function pageCacheKeepBytes(flag: number | 'all'): number | null {
  return flag === 'all' ? null : flag;
}

export function pageCacheKeepOption(): Option {
  return new Option('--page-cache-keep <size>',
    "synced bytes of the active segment left in the page cache; older pages are dropped ('all' keeps every page)")
    .env('X2_PAGE_CACHE_KEEP').argParser(parsePageCacheKeep)
    .default(PAGE_CACHE_KEEP_BYTES_DEFAULT, '64MiB');
}
