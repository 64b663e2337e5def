/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches, river frames and stored
 * entries. This is the JS twin of the native SSE4.2 version (native/index.ts picks one);
 * slicing-by-8 tables keep it within a small factor of the hardware path.
 */
const POLYNOMIAL = 0x82f63b78;
const TABLES = buildTables();
// Module constants, not a destructuring per call: the stamp checksum calls this per record.
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < 8; t++) {
    const previous = tables[t - 1]!;
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) table[n] = (previous[n]! >>> 8) ^ first[previous[n]! & 0xff]!;
    tables.push(table);
  }
  return tables;
}

/** CRC-32C of `bytes[start, end)`, continuing from `crc` (0 for a fresh checksum). */
export function crc32cJs(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  while (end - i >= 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c = T7[lo & 0xff]! ^ T6[(lo >>> 8) & 0xff]! ^ T5[(lo >>> 16) & 0xff]! ^ T4[lo >>> 24]! ^
      T3[bytes[i + 4]!]! ^ T2[bytes[i + 5]!]! ^ T1[bytes[i + 6]!]! ^ T0[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The map M that advances a raw CRC-32C state over `bytes` zero bytes, as four 256-entry tables
 * (M is linear): with it, crc(a || b) = crc32cShift(operator, crc(a)) ^ crc(b), whatever a is
 * (the pre- and post-conditioning cancel out). Costs 32 x `bytes` table steps to build.
 */
export function crc32cZerosOperator(bytes: number): Uint32Array {
  const first = TABLES[0]!;
  const basis = new Uint32Array(32);
  for (let bit = 0; bit < 32; bit++) {
    let c = 2 ** bit;
    for (let i = 0; i < bytes; i++) c = (first[c & 0xff]! ^ (c >>> 8)) >>> 0;
    basis[bit] = c;
  }
  const operator = new Uint32Array(4 * 256);
  for (let k = 0; k < 4; k++) {
    for (let b = 0; b < 256; b++) {
      let value = 0;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) value ^= basis[8 * k + bit]!;
      operator[k * 256 + b] = value >>> 0;
    }
  }
  return operator;
}

/** M(crc) for an operator from crc32cZerosOperator. */
export function crc32cShift(operator: Uint32Array, crc: number): number {
  return (operator[crc & 0xff]! ^ operator[256 + ((crc >>> 8) & 0xff)]! ^ operator[512 + ((crc >>> 16) & 0xff)]!
    ^ operator[768 + (crc >>> 24)]!) >>> 0;
}

/**
 * a * b modulo the CRC-32C polynomial, in the CRC's reflected bit order (zlib's multmodp): the
 * step that joins CRCs of adjacent pieces without reading their bytes. `a` must not be 0.
 */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^n) modulo the polynomial, n = 0..31. */
const POWERS = ((): Uint32Array => {
  const powers = new Uint32Array(32);
  let p = 0x40000000; // x^1
  powers[0] = p;
  for (let n = 1; n < 32; n++) powers[n] = p = multModP(p, p);
  return powers;
})();

/**
 * The factor that appends `bytes` zero bytes to a CRC-32C (x^(8 bytes) modulo the polynomial),
 * for crc32cShift: about log2(bytes) small multiplications, so it can be made per piece.
 */
export function crc32cZerosFactor(bytes: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // x^(8n) = x^(n * 2^3)
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multModP(POWERS[k & 31]!, p);
  }
  return p;
}

/** CRC-32C of a || b from crc(a), crc(b) and b's length; `factor` = crc32cZerosFactor(|b|) when reused. */
export function crc32cCombine(crcA: number, crcB: number, bytesB: number,
  factor = crc32cZerosFactor(bytesB)): number {
  return (multModP(factor, crcA >>> 0) ^ crcB) >>> 0;
}
