/**
 * The one entry to native code. Every function here has a JS twin; `nativeStatus()` says
 * which path is in use and why (shown by `x2 probe`). X2_NATIVE=0 forces the JS path.
 */
import { crc32cJs } from '../core/base/crc32c.ts';
import { loadNative, type NativeLoad } from './loader.ts';

/** One interface from getifaddrs; `flags` are the IFF_* bits of <net/if.h>. */
export type NativeInterface = {
  name: string;
  index: number;
  flags: number;
  mtuBytes: number | null;
  addresses: Array<{ family: 4 | 6; address: string; prefixLength: number | null }>;
};

/** sendmmsg then recvmmsg of a few datagrams between two loopback sockets; errors are errno names. */
export type NativeMmsgCheck = {
  sentCount: number;
  receivedCount: number;
  sendError: string | null;
  recvError: string | null;
  waitMs: number;
};

/** dlopen("libibverbs.so.1"): where it loaded from and how many devices it lists, or dlerror(). */
export type NativeVerbsLoad = {
  loaded: boolean;
  path: string | null;
  error: string | null;
  deviceCount: number | null;
};

/** A UDP multicast sender (native/src/mmsg.cc): one sendmmsg per `send`, datagrams at offsets of one buffer. */
export type NativeMmsgSender = {
  /** Sends `count` datagrams `bytes[offsets[i], offsets[i] + lengths[i])`; returns how many went out. */
  send(bytes: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /** errno name of the last datagram that did not go out since the previous call, or null. */
  takeError(): string | null;
  sendBufferBytes(): number;
  close(): void;
};

/** Counters of a NativeMmsgReceiver: poll wake-ups, recvmmsg batches, datagrams, truncated, errors. */
export type NativeMmsgStats = { wakeups: number; batches: number; datagrams: number; truncated: number;
  errors: number };

/** A UDP multicast receiver (native/src/mmsg.cc): recvmmsg on a libuv poll handle, one callback per batch. */
export type NativeMmsgReceiver = {
  receiveBufferBytes(): number;
  stats(): NativeMmsgStats;
  /** Stops polling and closes the socket; no callback runs after it. */
  close(): void;
  /**
   * Later reads split each datagram: its first `headerBytes` into `headers` at i * headerBytes,
   * the rest into `bodies` at bodyOffset + i * (datagramBytesMax - headerBytes), slot after slot
   * across batches; onBatch gets the first slot's offset. A batch never runs past `bodies` (with
   * no whole slot left it reads into the ring, bodyOffset -1). `bodies` null: back to the ring.
   * Absent from addons built before it.
   */
  scatterInto?(headers: Uint8Array, headerBytes: number, bodies: Uint8Array | null, bodyOffset: number): void;
};

/** An Error from the native socket code: `code` is the errno name, `syscall` the failed call. */
export type NativeSocketError = Error & { code?: string; syscall?: string };

export type NativeAddon = {
  crc32c(bytes: Uint8Array, crc: number, start: number, end: number): number;
  crc32cCopy?(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number, crc: number): number;
  interfaces(): NativeInterface[];
  mmsgCheck(): NativeMmsgCheck;
  verbsLoad(): NativeVerbsLoad;
  /** posix_fadvise(POSIX_FADV_DONTNEED) in the libuv pool; resolves null or the errno name. */
  dropPageCache(fd: number, offset: number, length: number): Promise<string | null>;
  /** Throws a NativeSocketError when a socket call fails (bad address, ENODEV, ...). */
  MmsgSender?: new (group: string, port: number, interfaceAddress: string, ttl: number,
    sendBufferBytes: number) => NativeMmsgSender;
  /**
   * Batches are at most `lengths.length` (1-1024) datagrams of at most `datagramBytesMax` bytes:
   * `onBatch` gets the receiver's ring (the same Buffer every call, overwritten by the next read)
   * and the number of slots filled; datagram i is at i * datagramBytesMax, lengths[i] bytes long
   * (0: skip it). Both are valid only during the call: copy what you keep. `bodyOffset`: -1, or
   * where the batch's bodies went (scatterInto).
   */
  MmsgReceiver?: new (group: string, port: number, interfaceAddress: string, receiveBufferBytes: number,
    datagramBytesMax: number, lengths: Uint32Array, onBatch: (bytes: Buffer, count: number, bodyOffset: number) => void,
    onError: (error: NativeSocketError) => void) => NativeMmsgReceiver;
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

/**
 * Copies `source[start, end)` to `target` at `at` and returns the CRC-32C of those bytes continuing
 * from `crc`: natively one pass that reads each word once for both, which makes the CRC nearly free
 * beside the copy. Throws a RangeError when a range falls outside its buffer.
 */
export const crc32cCopy: (source: Uint8Array, start: number, end: number, target: Uint8Array, at: number,
  crc: number) => number = addon?.crc32cCopy
  ? addon.crc32cCopy.bind(addon)
  : crc32cCopyJs;

function crc32cCopyJs(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number,
  crc: number): number {
  if (start < 0 || end < start || end > source.length || at < 0 || at + end - start > target.length) {
    throw new RangeError('crc32cCopy: range outside a buffer');
  }
  target.set(source.subarray(start, end), at);
  return crc32cJs(target, crc, at, at + end - start);
}

/**
 * Asks the kernel to drop the page cache of `fd`'s bytes [offset, offset + length): clean pages
 * go at once, so a writer that calls it behind its fdatasync reuses warm pages. Resolves null, or
 * the errno name; the JS twin cannot do it and resolves 'ENOTSUP' (pages stay to the kernel).
 */
export const dropPageCache: (fd: number, offset: number, length: number) => Promise<string | null> =
  addon ? (fd, offset, length) => addon.dropPageCache(fd, offset, length) : () => Promise.resolve('ENOTSUP');
