/**
 * CRC-32C of a byte range of a reassembled frame body from the CRCs its fragments carried, which
 * the reassembler checked as it copied them: the whole fragments inside the range are joined by
 * crc32cCombine without reading their bytes again; only the partial fragments at the two ends
 * are read. A commit uses it so that the store need not read a large batch once more for the
 * CRC of its stored frame.
 */
import { crc32c } from '../../native/index.ts';
import { crc32cCombine } from '../base/crc32c.ts';

/** A complete frame's fragment layout: every fragment but the last holds `fragmentBytes` body bytes. */
export type FragmentCrcs = { fragmentBytes: number; crcs: Uint32Array; zerosFactor: number };

/**
 * CRC-32C of `body[start, end)`, or undefined when the range holds no whole fragment (reading it
 * directly costs the same). `fragments.zerosFactor` = crc32cZerosFactor(fragmentBytes).
 */
export function spanCrc(body: Uint8Array, start: number, end: number, fragments: FragmentCrcs): number | undefined {
  const { fragmentBytes, crcs, zerosFactor } = fragments;
  // Fragments [wholeFrom, wholeTo) lie inside the range, each fragmentBytes long (a shorter last
  // fragment never does: the range would have to end past the body).
  const wholeFrom = Math.ceil(start / fragmentBytes);
  const wholeTo = Math.floor(end / fragmentBytes);
  if (wholeFrom >= wholeTo) return undefined;
  let crc = crc32c(body, 0, start, wholeFrom * fragmentBytes);
  for (let index = wholeFrom; index < wholeTo; index++) {
    crc = crc32cCombine(crc, crcs[index]!, fragmentBytes, zerosFactor);
  }
  return crc32c(body, crc, wholeTo * fragmentBytes, end) >>> 0;
}
