/**
 * One input stream (a partition of a --from topic) as a sidecar sees it: the committed entries
 * not yet covered by a checkpoint, its fence stream (`__x2_sidecar.NAME.INPUTSTREAMID`) as read
 * from the river, and whether this instance owns it.
 *
 * Every member holds the uncovered entries of every input stream, owned or not, so a member that
 * is assigned a stream later can start at its checkpoint without re-reading the river. Entries
 * leave when a checkpoint (anyone's) covers them. The owner's `cursor` walks the held entries;
 * `nextOffset` is the next record it will process and `expectNext` the fence stream's offset its
 * next append expects (one checkpoint record per append that touches the stream).
 *
 * Bounds: the held bytes are counted by the caller against --input-bytes-max; the held list is
 * compacted once half of it is dropped.
 */
import type { StoredRiverEntry } from '../../river/messages.ts';

export type Held = { entry: StoredRiverEntry; appliedAtMs: number };

/** idle: not ours; claiming: our claim is in flight; owned: our claim is the fence's last. */
export type Ownership = 'idle' | 'claiming' | 'owned';

export class InputStream {
  readonly streamId: number;
  readonly topic: string;
  readonly partition: number;
  fenceStreamId = 0;
  /** From the river (the same on every member at one seq). */
  checkpoint = 0;
  fenceNext = 0;
  claimedBy: string | null = null;
  headOffset = 0;
  /** This instance. */
  ownership: Ownership = 'idle';
  nextOffset = 0;
  expectNext = 0;
  /** An append with this stream's checkpoint is sent and not yet sequenced (one at a time). */
  appending = false;
  readonly #held: Held[] = [];
  #start = 0;
  #cursor = 0;

  constructor(streamId: number, where: { topic: string; partition: number }) {
    this.streamId = streamId;
    this.topic = where.topic;
    this.partition = where.partition;
  }

  get label(): string { return `${this.topic}[${this.partition}]`; }

  get lag(): number { return Math.max(0, this.headOffset - this.nextOffset); }

  hold(held: Held): void {
    this.#held.push(held);
    this.headOffset = held.entry.baseOffset + held.entry.recordCount;
  }

  /** Drops entries a checkpoint at `nextOffset` covers; returns the bytes freed. */
  covered(nextOffset: number): number {
    this.checkpoint = nextOffset;
    let freed = 0;
    while (this.#start < this.#held.length) {
      const { entry } = this.#held[this.#start]!;
      if (entry.baseOffset + entry.recordCount > nextOffset) break;
      freed += entry.batch.length;
      this.#held[this.#start] = undefined as unknown as Held;
      this.#start += 1;
    }
    if (this.#cursor < this.#start) this.#cursor = this.#start;
    if (this.#start > 1024 && this.#start * 2 > this.#held.length) {
      this.#held.splice(0, this.#start);
      this.#cursor -= this.#start;
      this.#start = 0;
    }
    return freed;
  }

  /** Starts processing at the checkpoint (after a claim, or again after a refused append). */
  resume(): void {
    this.nextOffset = this.checkpoint;
    this.expectNext = this.fenceNext;
    this.#cursor = this.#start;
  }

  /** The next held entry to process, or undefined. */
  peek(): Held | undefined { return this.#held[this.#cursor]; }

  advance(): void { this.#cursor += 1; }
}
