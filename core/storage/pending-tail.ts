/**
 * The store's in-memory tail: the locations of appended entries not yet in the LevelDB index,
 * in seq order, as typed-array columns of a ring addressed by serial number (one serial per entry,
 * never reused), each chained to the next entry of the same stream.
 *
 * Data path: Store.append (and recovery) pushes one entry per frame; reads of recent offsets
 * follow a stream's chain from its first pending entry; the indexer reads entries from the head
 * and drops them once they are in LevelDB.
 * Why columns: an object per entry costs an allocation, garbage collection, and, for a stream
 * last touched thousands of entries ago, a write into an old object (cache miss and a write
 * barrier); numbers in typed arrays cost neither, whatever the number of streams.
 * Bounds: the ring grows by doubling to hold what is pending (the store refuses appends past
 * PENDING_ENTRIES_MAX; recovery may register more) and never shrinks below what it reached.
 * Invariants: serials in [head, tail) are live; seq increases with serial; NO_SERIAL ends a chain.
 */
import type { Location } from './index-keys.ts';

export const NO_SERIAL = -1;
const CAPACITY_MIN = 4096;

export class PendingTail<Owner> {
  head = 0;
  tail = 0;
  #mask = CAPACITY_MIN - 1;
  #seq: Float64Array = new Float64Array(CAPACITY_MIN);
  #baseOffset: Float64Array = new Float64Array(CAPACITY_MIN);
  #segment: Float64Array = new Float64Array(CAPACITY_MIN);
  #position: Float64Array = new Float64Array(CAPACITY_MIN);
  #maxTimestampMs: Float64Array = new Float64Array(CAPACITY_MIN);
  #nextInStream: Float64Array = new Float64Array(CAPACITY_MIN);
  #streamId: Uint32Array = new Uint32Array(CAPACITY_MIN);
  #recordCount: Uint32Array = new Uint32Array(CAPACITY_MIN);
  #frameBytes: Uint32Array = new Uint32Array(CAPACITY_MIN);
  #owners: Array<Owner | undefined> = new Array<Owner | undefined>(CAPACITY_MIN);

  get count(): number {
    return this.tail - this.head;
  }

  /** Appends an entry; `previous` is the serial of the owner's last pending entry (its chain grows). */
  push(owner: Owner, previous: number, seq: number, streamId: number, baseOffset: number, recordCount: number,
    segment: number, position: number, frameBytes: number, maxTimestampMs: number): number {
    if (this.tail - this.head > this.#mask) this.#grow();
    const serial = this.tail;
    const slot = serial & this.#mask;
    this.#seq[slot] = seq;
    this.#streamId[slot] = streamId;
    this.#baseOffset[slot] = baseOffset;
    this.#recordCount[slot] = recordCount;
    this.#segment[slot] = segment;
    this.#position[slot] = position;
    this.#frameBytes[slot] = frameBytes;
    this.#maxTimestampMs[slot] = maxTimestampMs;
    this.#nextInStream[slot] = NO_SERIAL;
    this.#owners[slot] = owner;
    if (previous !== NO_SERIAL) this.#nextInStream[previous & this.#mask] = serial;
    this.tail = serial + 1;
    return serial;
  }

  /** Drops the head entry (it is in LevelDB now). */
  shift(): void {
    this.#owners[this.head & this.#mask] = undefined;
    this.head += 1;
  }

  owner(serial: number): Owner | undefined {
    return this.#owners[serial & this.#mask];
  }

  seq(serial: number): number {
    return this.#seq[serial & this.#mask] ?? 0;
  }

  streamId(serial: number): number {
    return this.#streamId[serial & this.#mask] ?? 0;
  }

  baseOffset(serial: number): number {
    return this.#baseOffset[serial & this.#mask] ?? 0;
  }

  recordCount(serial: number): number {
    return this.#recordCount[serial & this.#mask] ?? 0;
  }

  endOffset(serial: number): number {
    const slot = serial & this.#mask;
    return (this.#baseOffset[slot] ?? 0) + (this.#recordCount[slot] ?? 0);
  }

  segment(serial: number): number {
    return this.#segment[serial & this.#mask] ?? 0;
  }

  position(serial: number): number {
    return this.#position[serial & this.#mask] ?? 0;
  }

  frameBytes(serial: number): number {
    return this.#frameBytes[serial & this.#mask] ?? 0;
  }

  maxTimestampMs(serial: number): number {
    return this.#maxTimestampMs[serial & this.#mask] ?? 0;
  }

  nextInStream(serial: number): number {
    return this.#nextInStream[serial & this.#mask] ?? NO_SERIAL;
  }

  location(serial: number): Location {
    const slot = serial & this.#mask;
    return {
      seq: this.#seq[slot] ?? 0, streamId: this.#streamId[slot] ?? 0, baseOffset: this.#baseOffset[slot] ?? 0,
      recordCount: this.#recordCount[slot] ?? 0, segment: this.#segment[slot] ?? 0,
      position: this.#position[slot] ?? 0, frameBytes: this.#frameBytes[slot] ?? 0,
      maxTimestampMs: this.#maxTimestampMs[slot] ?? 0,
    };
  }

  /** The serial of the first pending entry with seq >= `seq` (tail if none): binary search. */
  firstAtLeast(seq: number): number {
    let low = this.head;
    let high = this.tail;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.seq(middle) < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #grow(): void {
    const capacity = (this.#mask + 1) * 2;
    const mask = capacity - 1;
    const moveFloats = (from: Float64Array): Float64Array => {
      const to = new Float64Array(capacity);
      for (let serial = this.head; serial < this.tail; serial++) to[serial & mask] = from[serial & this.#mask] ?? 0;
      return to;
    };
    const moveInts = (from: Uint32Array): Uint32Array => {
      const to = new Uint32Array(capacity);
      for (let serial = this.head; serial < this.tail; serial++) to[serial & mask] = from[serial & this.#mask] ?? 0;
      return to;
    };
    const owners = new Array<Owner | undefined>(capacity);
    for (let serial = this.head; serial < this.tail; serial++) {
      owners[serial & mask] = this.#owners[serial & this.#mask];
    }
    this.#seq = moveFloats(this.#seq);
    this.#baseOffset = moveFloats(this.#baseOffset);
    this.#segment = moveFloats(this.#segment);
    this.#position = moveFloats(this.#position);
    this.#maxTimestampMs = moveFloats(this.#maxTimestampMs);
    this.#nextInStream = moveFloats(this.#nextInStream);
    this.#streamId = moveInts(this.#streamId);
    this.#recordCount = moveInts(this.#recordCount);
    this.#frameBytes = moveInts(this.#frameBytes);
    this.#owners = owners;
    this.#mask = mask;
  }
}
