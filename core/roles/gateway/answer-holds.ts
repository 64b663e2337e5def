/**
 * The tail-cache buffers one Fetch answer refers to instead of copying its batches, held in the
 * gateway's FrameRefs from the moment the answer takes the batches from the cache (while the cache
 * still holds them) until the socket has written the answer or closed (`release`).
 *
 * Bound: a held buffer may be much larger than the batches the answer takes from it (a 1 MiB slab
 * holds the small batches of every partition in arrival order), and it cannot be reused while
 * held, so an answer that would keep more than PINNED_BYTES_PER_ANSWER_BYTE times its own bytes
 * plus PINNED_BYTES_SLACK copies that partition's batches instead, as every answer did before.
 * A consumer at the head takes its batches from the newest buffers, which the cache holds anyway.
 */
import type { FrameRefs } from './frame-refs.ts';

/** How many buffer bytes an answer may keep from reuse per byte it sends (beyond the slack). */
export const PINNED_BYTES_PER_ANSWER_BYTE = 2;
/** Buffer bytes any answer may keep: the slab or frame being filled holds a head consumer's batches. */
export const PINNED_BYTES_SLACK = 2 * 1024 * 1024;

/** A batch as the tail cache holds it: `held` when it is a view the cache holds in FrameRefs. */
type CachedView = { readonly batch: Buffer; readonly held?: boolean };

export class AnswerHolds {
  readonly #frames: FrameRefs;
  /**
   * Each buffer held once, however many of the answer's batches lie in it. An array, made at the
   * first hold: most answers hold none, and the few buffers of one that does are found by a scan.
   */
  #held: ArrayBufferLike[] | null = null;
  #pinnedBytes = 0;
  #referredBytes = 0;
  #released = false;
  /** Partitions whose batches were copied because referring to them would keep too much. */
  copiedPartitions = 0;

  constructor(frames: FrameRefs) {
    this.#frames = frames;
  }

  /** Buffer bytes this answer keeps from reuse (each buffer once). */
  get pinnedBytes(): number { return this.#pinnedBytes; }

  /** True when the answer holds buffers: `release` must run once the socket is done with it. */
  get holding(): boolean { return this.#held !== null && this.#held.length > 0; }

  /**
   * Batches of one partition the answer would refer to (`bytes` in all), taken from the cache just
   * now, with no await since: true with their buffers held; false, holding nothing, when that would
   * keep more than the bound, and the caller copies them at once.
   */
  refer(views: readonly CachedView[], bytes: number): boolean {
    const held = this.#held ?? [];
    const heldBefore = held.length;
    let pinnedBytes = this.#pinnedBytes;
    for (const view of views) {
      const memory = view.batch.buffer;
      if (view.held !== true || held.includes(memory)) continue;
      held.push(memory);
      pinnedBytes += memory.byteLength;
    }
    const referredBytes = this.#referredBytes + bytes;
    if (pinnedBytes > PINNED_BYTES_PER_ANSWER_BYTE * referredBytes + PINNED_BYTES_SLACK) {
      held.length = heldBefore;
      this.copiedPartitions += 1;
      return false;
    }
    this.#held = held;
    this.#referredBytes = referredBytes;
    this.#pinnedBytes = pinnedBytes;
    for (let i = heldBefore; i < held.length; i++) this.#frames.hold(held[i]!);
    return true;
  }

  /** Lets every held buffer go (once; later calls do nothing). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const memory of this.#held ?? []) this.#frames.release(memory);
    this.#held = null;
  }
}
