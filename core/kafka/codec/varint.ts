/**
 * Sizes of Kafka's variable-length integers. Two kinds exist and must never be mixed:
 * unsigned varints (compact lengths in flexible messages, tagged fields) and zig-zag signed
 * varints/varlongs (inside records). Reading and writing live in reader.ts and writer.ts;
 * these size functions let encoders compute a message's size before writing it once.
 * Bounds: unsigned varints hold 0..2^32-1 (5 bytes max); zig-zag varints hold int32;
 * varlongs hold safe integers (|n| <= 2^53-1, at most 8 bytes as encoded here).
 */

/** Bytes of an unsigned varint holding `value` (0 <= value < 2^32). */
export function uvarintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Zig-zag mapping of a safe integer to a non-negative number (arithmetic, not 32-bit). */
export function zigzagEncode(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Inverse of zigzagEncode for non-negative inputs up to 2^53. */
export function zigzagDecode(zigzag: number): number {
  return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
}

/** Bytes of a zig-zag varint or varlong holding the safe integer `value`. */
export function varlongBytes(value: number): number {
  let rest = zigzagEncode(value);
  let bytes = 1;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    bytes += 1;
  }
  return bytes;
}
