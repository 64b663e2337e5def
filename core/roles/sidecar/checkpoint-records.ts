/**
 * The records sidecars keep their shared state in, inside the river itself (DESIGN §7). Two kinds
 * of stream, both internal:
 *
 * `__x2_sidecars` (streamId SIDECARS_STREAM_ID): group membership. Every record names the sidecar
 * (`--name`) and a member id (one per sidecar process), so all groups share the one stream.
 *   join       [2, 3, name, memberId, sessionTimeoutMs]   a member enters (or re-enters) the group
 *   heartbeat  [2, 4, name, memberId]                     still alive (every session timeout / 3)
 *   leave      [2, 5, name, memberId]                     clean stop (SIGTERM), after its last append
 *   expel      [2, 6, name, memberId, byMemberId]         no heartbeat for a session timeout
 * The live member set is a pure function of this stream's prefix, so every member computes the
 * same set, and the same assignment (group-membership.ts), at the same seq.
 *
 * `__x2_sidecar.NAME.INPUTSTREAMID` (one per input stream, core/control/topic-name.ts): the fence
 * and the checkpoints of that input stream.
 *   claim       [2, 1, name, memberId]              a new owner's first append, conditional on the
 *                                                   stream's end as the owner has read it
 *   checkpoint  [2, 2, name, memberId, nextOffset]  appended conditionally in the same entry set as
 *                                                   the outputs it covers: the next input offset
 * Every append to one of these streams expects the stream's next offset, so once a claim is
 * sequenced an older owner's appends are refused by the sequencer (X2_ERR_APPEND_CONDITION).
 *
 * Values are msgpack arrays carried as records of an uncompressed RecordBatch (key null).
 * Decoding is strict: anything else is refused with a message naming the problem.
 */
import { pack, unpack } from 'msgpackr';

export const SIDECARS_STREAM_ID = 120;
export const SIDECARS_STREAM = '__x2_sidecars';
const FORMAT_VERSION = 2;
const KIND = { claim: 1, checkpoint: 2, join: 3, heartbeat: 4, leave: 5, expel: 6 } as const;

export type MembershipRecord =
  | { kind: 'join'; name: string; memberId: string; sessionTimeoutMs: number }
  | { kind: 'heartbeat'; name: string; memberId: string }
  | { kind: 'leave'; name: string; memberId: string }
  | { kind: 'expel'; name: string; memberId: string; byMemberId: string };

export type FenceRecord =
  | { kind: 'claim'; name: string; memberId: string }
  | { kind: 'checkpoint'; name: string; memberId: string; nextOffset: number };

export type SidecarRecord = MembershipRecord | FenceRecord;

export function encodeSidecarRecord(record: SidecarRecord): Buffer {
  const head = [FORMAT_VERSION, KIND[record.kind], record.name, record.memberId];
  switch (record.kind) {
    case 'join': return pack([...head, record.sessionTimeoutMs]);
    case 'expel': return pack([...head, record.byMemberId]);
    case 'checkpoint': return pack([...head, record.nextOffset]);
    default: return pack(head);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Decodes one value; throws Error naming what is wrong. */
export function decodeSidecarRecord(bytes: Uint8Array): SidecarRecord {
  const fields = unpack(bytes) as unknown;
  if (!Array.isArray(fields) || fields[0] !== FORMAT_VERSION) {
    throw new Error(`sidecar record: not a version ${FORMAT_VERSION} record`);
  }
  const [, kind, name, memberId, extra] = fields as unknown[];
  if (typeof name !== 'string' || typeof memberId !== 'string') {
    throw new Error('sidecar record: bad name or member id');
  }
  const length = fields.length;
  if (kind === KIND.claim && length === 4) return { kind: 'claim', name, memberId };
  if (kind === KIND.heartbeat && length === 4) return { kind: 'heartbeat', name, memberId };
  if (kind === KIND.leave && length === 4) return { kind: 'leave', name, memberId };
  if (kind === KIND.checkpoint && length === 5 && isCount(extra)) {
    return { kind: 'checkpoint', name, memberId, nextOffset: extra };
  }
  if (kind === KIND.join && length === 5 && isCount(extra) && extra > 0) {
    return { kind: 'join', name, memberId, sessionTimeoutMs: extra };
  }
  if (kind === KIND.expel && length === 5 && typeof extra === 'string') {
    return { kind: 'expel', name, memberId, byMemberId: extra };
  }
  throw new Error(`sidecar record: unknown kind ${String(kind)} or bad fields (${length} fields)`);
}
