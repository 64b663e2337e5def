/**
 * CRC-32C of a bench value (a 16-byte stamp, then a body that never changes for one producer)
 * without reading the body again for every record: crc(stamp || body) = M(crc(stamp)) ^ crc(body),
 * where M advances a CRC state over body-length zero bytes (the pre- and post-conditioning of
 * CRC-32C cancel out in that identity). M is linear, so it is four 256-entry tables; crc(stamp)
 * is 16 table steps. Why: the producer's per-partition checksum took one N-API call and a pass
 * over the whole value per record, a fifth of `x2 bench produce`'s CPU at 1 KiB records.
 */
import { crc32c } from '../../native/index.ts';
import { VALUE_HEADER_BYTES } from './workload.ts';

const POLYNOMIAL_REFLECTED = 0x82f63b78;

const BYTE_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The raw CRC state `state` after `bytes` zero bytes (no conditioning): the linear map M. */
function advanceOverZeros(state: number, bytes: number): number {
  let c = state >>> 0;
  for (let i = 0; i < bytes; i++) c = (BYTE_TABLE[c & 0xff]! ^ (c >>> 8)) >>> 0;
  return c;
}

/** shift[k * 256 + b] = M(b << 8k) for M over `bodyBytes` zeros; 32 x bodyBytes table steps to build. */
function shiftTable(bodyBytes: number): Uint32Array {
  const shift = new Uint32Array(4 * 256);
  const basis = new Uint32Array(32);
  for (let bit = 0; bit < 32; bit++) basis[bit] = advanceOverZeros(2 ** bit, bodyBytes);
  for (let k = 0; k < 4; k++) {
    for (let b = 0; b < 256; b++) {
      let value = 0;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) value ^= basis[8 * k + bit]!;
      shift[k * 256 + b] = value >>> 0;
    }
  }
  return shift;
}

/** All producers of a run share one value size: built once per size (a few per process at most). */
const SHIFT_TABLES = new Map<number, Uint32Array>();
const SHIFT_TABLES_MAX = 8;

export class ValueChecksum {
  readonly #bodyCrc: number;
  readonly #shift: Uint32Array;

  /** `template`: a value as the producer sends it; only its body (after the stamp) is read. */
  constructor(template: Buffer) {
    const bodyBytes = template.length - VALUE_HEADER_BYTES;
    this.#bodyCrc = crc32c(template, 0, VALUE_HEADER_BYTES, template.length);
    let shift = SHIFT_TABLES.get(bodyBytes);
    if (shift === undefined) {
      shift = shiftTable(bodyBytes);
      if (SHIFT_TABLES.size >= SHIFT_TABLES_MAX) SHIFT_TABLES.clear();
      SHIFT_TABLES.set(bodyBytes, shift);
    }
    this.#shift = shift;
  }

  /** CRC-32C of `value`, whose bytes after the stamp equal the template's. */
  of(value: Buffer): number {
    let c = 0xffffffff;
    for (let i = 0; i < VALUE_HEADER_BYTES; i++) c = BYTE_TABLE[(c ^ value[i]!) & 0xff]! ^ (c >>> 8);
    c = (c ^ 0xffffffff) >>> 0;
    const shift = this.#shift;
    return (shift[c & 0xff]! ^ shift[256 + ((c >>> 8) & 0xff)]! ^ shift[512 + ((c >>> 16) & 0xff)]!
      ^ shift[768 + (c >>> 24)]! ^ this.#bodyCrc) >>> 0;
  }
}
