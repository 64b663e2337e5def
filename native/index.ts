/**
 * The one entry to native code. Every function here has a JS twin; `nativeStatus()` says
 * which path is in use and why (shown by `x2 probe`). X2_NATIVE=0 forces the JS path.
 */
import { crc32cJs } from '../core/base/crc32c.ts';
import { loadNative, type NativeLoad } from './loader.ts';

export type NativeAddon = {
  crc32c(bytes: Uint8Array, crc: number, start: number, end: number): number;
};

function load(): NativeLoad<NativeAddon> {
  if (process.env['X2_NATIVE'] === '0') return { ok: false, reason: 'disabled by X2_NATIVE=0' };
  return loadNative<NativeAddon>('x2native.node', [
    new URL('./build/Release/x2native.node', import.meta.url),
    new URL('../native/build/Release/x2native.node', import.meta.url),
  ]);
}

const loaded = load();
const addon: NativeAddon | null = loaded.ok ? loaded.exports : null;

export function nativeStatus(): { native: boolean; from: string | null; reason: string | null } {
  return loaded.ok
    ? { native: true, from: loaded.from, reason: null }
    : { native: false, from: null, reason: loaded.reason };
}

/** The loaded addon, or null when the JS twins are in use. */
export function nativeAddon(): NativeAddon | null {
  return addon;
}

/** CRC-32C of `bytes[start, end)` continuing from `crc`; native SSE4.2 when loaded. */
export const crc32c: (bytes: Uint8Array, crc?: number, start?: number, end?: number) => number =
  addon
    ? (bytes, crc = 0, start = 0, end = bytes.length) => addon.crc32c(bytes, crc, start, end)
    : crc32cJs;
