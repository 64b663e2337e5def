/**
 * CRC-32C of a bench value (a 16-byte stamp, then a body that never changes for one producer)
 * without reading the body again for every record: crc(stamp || body) = M(crc(stamp)) ^ crc(body),
 * with M the zero-advance operator of crc32c.ts over the body's length. Why: the producer's
 * per-partition checksum took one N-API call and a pass over the whole value per record, a fifth
 * of `x2 bench produce`'s CPU at 1 KiB records.
 */
import { crc32cJs, crc32cShift, crc32cZerosOperator } from '../base/crc32c.ts';
import { crc32c } from '../../native/index.ts';
import { VALUE_HEADER_BYTES } from './workload.ts';

/** All producers of a run share one value size: built once per size (a few per process at most). */
const OPERATORS = new Map<number, Uint32Array>();
const OPERATORS_MAX = 8;

export class ValueChecksum {
  readonly #bodyCrc: number;
  readonly #operator: Uint32Array;

  /** `template`: a value as the producer sends it; only its body (after the stamp) is read. */
  constructor(template: Buffer) {
    const bodyBytes = template.length - VALUE_HEADER_BYTES;
    this.#bodyCrc = crc32c(template, 0, VALUE_HEADER_BYTES, template.length);
    let operator = OPERATORS.get(bodyBytes);
    if (operator === undefined) {
      operator = crc32cZerosOperator(bodyBytes);
      if (OPERATORS.size >= OPERATORS_MAX) OPERATORS.clear();
      OPERATORS.set(bodyBytes, operator);
    }
    this.#operator = operator;
  }

  /** CRC-32C of `value`, whose bytes after the stamp equal the template's. */
  of(value: Buffer): number {
    return (crc32cShift(this.#operator, crc32cJs(value, 0, 0, VALUE_HEADER_BYTES)) ^ this.#bodyCrc) >>> 0;
  }
}
