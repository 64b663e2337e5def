/**
 * How gateways find each other: every gateway appends an `alive` record (node id, advertised
 * host and port, its clock) to the internal stream `__x2_gateways` when it starts and every
 * GATEWAY_HEARTBEAT_MS after, and a `left` record when it stops cleanly. Every gateway applies
 * these in river order, so all agree on the set; a gateway whose last `alive` is older than
 * GATEWAY_LIVENESS_MS (by the record's own timestamp) counts as gone. Metadata lists the live
 * set as brokers, partition leadership and group coordinators are spread over it by node id.
 *
 * Encoding (msgpack): [version 1, kind 1 alive | 2 left, nodeId, host, port, atMs].
 * Bounds: at most GATEWAY_COUNT_MAX distinct node ids are remembered.
 */
import { pack, unpack } from 'msgpackr';

export const GATEWAYS_STREAM_ID = 100;
export const GATEWAYS_STREAM_NAME = '__x2_gateways';
export const GATEWAY_HEARTBEAT_MS = 2_000;
export const GATEWAY_LIVENESS_MS = 6_000;
export const GATEWAY_COUNT_MAX = 4_096;
const FORMAT_VERSION = 1;

export type GatewayAddress = { readonly nodeId: number; readonly host: string; readonly port: number };

export function encodeAlive(self: GatewayAddress, atMs: number): Buffer {
  return pack([FORMAT_VERSION, 1, self.nodeId, self.host, self.port, atMs]);
}

export function encodeLeft(self: GatewayAddress, atMs: number): Buffer {
  return pack([FORMAT_VERSION, 2, self.nodeId, self.host, self.port, atMs]);
}

type Known = GatewayAddress & { aliveAtMs: number; left: boolean };

export class GatewayMembers {
  readonly #known = new Map<number, Known>();

  /** Applies one record; malformed ones are ignored (counted by the caller). */
  apply(bytes: Uint8Array): boolean {
    let fields: unknown;
    try {
      fields = unpack(bytes);
    } catch {
      return false;
    }
    if (!Array.isArray(fields) || fields.length !== 6 || fields[0] !== FORMAT_VERSION) return false;
    const [, kind, nodeId, host, port, atMs] = fields as [number, number, number, string, number, number];
    if (!Number.isInteger(nodeId) || typeof host !== 'string' || !Number.isInteger(port)
      || typeof atMs !== 'number') return false;
    if (!this.#known.has(nodeId) && this.#known.size >= GATEWAY_COUNT_MAX) return false;
    const previous = this.#known.get(nodeId);
    if (kind === 1) {
      this.#known.set(nodeId, { nodeId, host, port, aliveAtMs: Math.max(atMs, previous?.aliveAtMs ?? 0), left: false });
    } else if (kind === 2 && previous && previous.host === host && previous.port === port) {
      previous.left = true;
    }
    return kind === 1 || kind === 2;
  }

  /** The live gateways, sorted by node id; `self` is always among them. */
  live(nowMs: number, self: GatewayAddress): GatewayAddress[] {
    const live: GatewayAddress[] = [self];
    for (const known of this.#known.values()) {
      if (known.nodeId === self.nodeId || known.left || nowMs - known.aliveAtMs > GATEWAY_LIVENESS_MS) continue;
      live.push({ nodeId: known.nodeId, host: known.host, port: known.port });
    }
    return live.sort((a, b) => a.nodeId - b.nodeId);
  }
}

/** FNV-1a over the UTF-16 code units: a stable hash of a group id for coordinator choice. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
