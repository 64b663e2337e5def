/**
 * The records of the sidecar stream `__x2_sidecars` (streamId SIDECARS_STREAM_ID, below the user
 * range like every internal stream): how sidecars keep exactly-once state in the river itself
 * (DESIGN §7). Every sidecar replays this stream; each record names the sidecar (`--name`) and
 * its member index, so many sidecars share the one stream.
 *
 *   claim       [1, 1, name, member, members, token]
 *       written once by a starting sidecar instance; the claim's place in the river is the sync
 *       point: the state of (name, member) is every checkpoint sequenced before it.
 *   checkpoint  [1, 2, name, member, token, [[inputStreamId, nextOffset], ...]]
 *       appended in the same entry set (one atomic append) as the output batches it covers:
 *       the next input offset to process per input stream, after this append.
 *
 * Values are msgpack arrays carried as records of an uncompressed RecordBatch (key null).
 * Decoding is strict: anything else is refused with a message naming the problem.
 */
import { pack, unpack } from 'msgpackr';

export const SIDECARS_STREAM_ID = 120;
export const SIDECARS_STREAM = '__x2_sidecars';
const FORMAT_VERSION = 1;
const KIND_CLAIM = 1;
const KIND_CHECKPOINT = 2;

export type SidecarRecord =
  | { kind: 'claim'; name: string; member: number; members: number; token: string }
  | { kind: 'checkpoint'; name: string; member: number; token: string; positions: Array<[number, number]> };

export function encodeSidecarRecord(record: SidecarRecord): Buffer {
  if (record.kind === 'claim') {
    return pack([FORMAT_VERSION, KIND_CLAIM, record.name, record.member, record.members, record.token]);
  }
  return pack([FORMAT_VERSION, KIND_CHECKPOINT, record.name, record.member, record.token, record.positions]);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Decodes one value; throws Error naming what is wrong. */
export function decodeSidecarRecord(bytes: Uint8Array): SidecarRecord {
  const fields = unpack(bytes) as unknown;
  if (!Array.isArray(fields) || fields[0] !== FORMAT_VERSION) {
    throw new Error(`${SIDECARS_STREAM}: not a version ${FORMAT_VERSION} record`);
  }
  const [, kind, name, member] = fields as unknown[];
  if (typeof name !== 'string' || !isCount(member)) throw new Error(`${SIDECARS_STREAM}: bad name or member`);
  if (kind === KIND_CLAIM && fields.length === 6 && isCount(fields[4]) && typeof fields[5] === 'string') {
    return { kind: 'claim', name, member, members: fields[4], token: fields[5] };
  }
  if (kind === KIND_CHECKPOINT && fields.length === 6 && typeof fields[4] === 'string' && Array.isArray(fields[5])) {
    const positions: Array<[number, number]> = [];
    for (const pair of fields[5] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2 || !isCount(pair[0]) || !isCount(pair[1])) {
        throw new Error(`${SIDECARS_STREAM}: bad checkpoint position`);
      }
      positions.push([pair[0], pair[1]]);
    }
    return { kind: 'checkpoint', name, member, token: fields[4], positions };
  }
  throw new Error(`${SIDECARS_STREAM}: unknown record kind ${String(kind)}`);
}
