/**
 * Kafka's default partitioner for keyed records: Java's `Utils.murmur2` (seed 0x9747b28c) and
 * `Utils.toPositive`, so a key lands in the same partition as with any Kafka producer. Used by
 * the sidecar for its output records; pure, no allocation.
 *
 * Invariants: 32-bit arithmetic exactly as Java's int (Math.imul, >>> for >>>); the result of
 * `partitionForKey` is in [0, partitionCount).
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Java's `Utils.murmur2(byte[])` as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not Math.abs). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}
