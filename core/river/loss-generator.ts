/**
 * A seeded loss generator: decides, per received river datagram, whether to drop it, so tests and
 * `x2 bench river --loss P` exercise gap detection, NAKs and retransmits reproducibly. It sits at
 * the very start of the receive path (before frame decoding). Bounds: lossFraction in [0, 1).
 * Only UDP datagrams pass through it; the TCP link (NAKs, retransmits, repairs) is never dropped.
 */
import { assert } from '../base/assert.ts';

export class LossGenerator {
  readonly lossFraction: number;
  readonly seed: number;
  #state: number;
  dropped = 0;

  constructor(lossFraction: number, seed: number) {
    assert(lossFraction >= 0 && lossFraction < 1, 'loss fraction must be in [0, 1)');
    this.lossFraction = lossFraction;
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** mulberry32, inlined: one call per datagram. */
  shouldDrop(): boolean {
    if (this.lossFraction === 0) return false;
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const drop = ((t ^ (t >>> 14)) >>> 0) / 4294967296 < this.lossFraction;
    if (drop) this.dropped += 1;
    return drop;
  }
}
