/**
 * CRC-32C of a bench value (a 16-byte stamp, then a body that never changes for one producer)
 * without reading the body again for every record: crc(stamp || body) = M(crc(stamp)) ^ crc(body),
 * with M the zero-advance operator of crc32c.ts over the body's length. Why: the producer's
 * per-partition checksum took one N-API call and a pass over the whole value per record, a fifth
 * of `x2 bench produce`'s CPU at 1 KiB records. And crc(stamp || body) is affine in the stamp's
 * bits, so it is one constant XOR 16 table entries, one per stamp byte (16 x 256 entries per value
 * size): the CRC of the stamp and its shift were still 1.7 % of a whole cluster's CPU in a
 * max-rate produce (session 10).
 */
import { crc32cJs, crc32cShift, crc32cZerosOperator } from '../base/crc32c.ts';
import { crc32c } from '../../native/index.ts';
import { VALUE_HEADER_BYTES } from './workload.ts';
import { assert } from '../base/assert.ts';

// `of` reads the stamp's bytes one by one, unrolled.
assert(VALUE_HEADER_BYTES === 16, 'ValueChecksum.of reads a 16-byte stamp');

/**
 * Per body size: the shifted CRC of an all-zero stamp, and per stamp byte position and value what
 * that byte adds (XOR). All producers of a run share one value size: built once per size (a few
 * per process at most).
 */
type StampTables = { zeroStamp: number; byteTerms: Uint32Array };
const TABLES = new Map<number, StampTables>();
const TABLES_MAX = 8;

/** crc32c(stamp) shifted over `bodyBytes` zeros: the stamp's part of crc(stamp || body). */
function stampTables(bodyBytes: number): StampTables {
  const operator = crc32cZerosOperator(bodyBytes);
  const stamp = Buffer.alloc(VALUE_HEADER_BYTES);
  const shifted = (): number => crc32cShift(operator, crc32cJs(stamp, 0, 0, VALUE_HEADER_BYTES));
  const zeroStamp = shifted();
  const byteTerms = new Uint32Array(VALUE_HEADER_BYTES * 256);
  for (let position = 0; position < VALUE_HEADER_BYTES; position++) {
    for (let byte = 1; byte < 256; byte++) {
      stamp[position] = byte;
      byteTerms[position * 256 + byte] = (shifted() ^ zeroStamp) >>> 0;
    }
    stamp[position] = 0;
  }
  return { zeroStamp, byteTerms };
}

export class ValueChecksum {
  readonly #constant: number;
  readonly #byteTerms: Uint32Array;

  /** `template`: a value as the producer sends it; only its body (after the stamp) is read. */
  constructor(template: Buffer) {
    const bodyBytes = template.length - VALUE_HEADER_BYTES;
    let tables = TABLES.get(bodyBytes);
    if (tables === undefined) {
      tables = stampTables(bodyBytes);
      if (TABLES.size >= TABLES_MAX) TABLES.clear();
      TABLES.set(bodyBytes, tables);
    }
    this.#constant = (tables.zeroStamp ^ crc32c(template, 0, VALUE_HEADER_BYTES, template.length)) >>> 0;
    this.#byteTerms = tables.byteTerms;
  }

  /** CRC-32C of `value`, whose bytes after the stamp equal the template's. */
  of(value: Buffer): number {
    const t = this.#byteTerms;
    return (this.#constant ^ t[value[0]!]! ^ t[256 + value[1]!]! ^ t[512 + value[2]!]! ^ t[768 + value[3]!]!
      ^ t[1024 + value[4]!]! ^ t[1280 + value[5]!]! ^ t[1536 + value[6]!]! ^ t[1792 + value[7]!]!
      ^ t[2048 + value[8]!]! ^ t[2304 + value[9]!]! ^ t[2560 + value[10]!]! ^ t[2816 + value[11]!]!
      ^ t[3072 + value[12]!]! ^ t[3328 + value[13]!]! ^ t[3584 + value[14]!]! ^ t[3840 + value[15]!]!) >>> 0;
  }
}
