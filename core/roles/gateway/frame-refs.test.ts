/**
 * Goal: a river frame buffer goes back for reuse exactly once, and only when no view of it can be
 * read any more: not while its batch waits for its commit, sits in the tail cache or a Fetch that
 * pinned before its release still runs; and views dropped with the pending entries of a new
 * welcome are released too.
 * Method: FrameRefs alone, then GatewayState fed big user batches that are views of "frame"
 * buffers, as the RiverMember delivers them, asked `claim` as the member does after each frame,
 * with a recycle hook that records what comes back and scribbles it (as the next frame would).
 */
import { describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { ControlState } from '../../control/control-state.ts';
import { FIRST_USER_STREAM_ID, INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { syntheticBatch } from '../../storage/synthetic-batch.ts';
import { DEFERRED_MAX, FrameRefs } from './frame-refs.ts';
import { GatewayState } from './gateway-state.ts';

describe('FrameRefs', () => {
  it('gives a claimed buffer back at its last release, once', () => {
    const refs = new FrameRefs();
    const back: Buffer[] = [];
    refs.bindRecycle((own) => back.push(own));
    const own = Buffer.allocUnsafe(1 << 16);
    expect(refs.claim(own)).toBe(false); // nothing held: the member reuses it at once
    refs.hold(own.buffer);
    refs.hold(own.buffer);
    expect(refs.claim(own)).toBe(true);
    refs.release(own.buffer);
    expect(back).toEqual([]);
    refs.release(own.buffer);
    expect(back).toEqual([own]);
    expect(() => refs.release(own.buffer)).toThrow(/not held/);
    expect(refs.size).toBe(0);
  });

  it('holds a buffer released while pinned until every pin taken before the release is gone', () => {
    const refs = new FrameRefs();
    const back: Buffer[] = [];
    refs.bindRecycle((own) => back.push(own));
    const frame = (): Buffer => {
      const own = Buffer.allocUnsafe(1 << 16);
      refs.hold(own.buffer);
      refs.claim(own);
      return own;
    };
    const first = frame();
    const second = frame();
    const early = refs.pin();
    const middle = refs.pin();
    refs.release(first.buffer); // both pins may still read it
    const late = refs.pin(); // taken after: cannot reach `first`, may reach `second`
    refs.release(second.buffer);
    refs.unpin(middle);
    expect(back).toEqual([]); // `early` still held
    refs.unpin(early);
    expect(back).toEqual([first]);
    expect(refs.deferredCount).toBe(1);
    refs.unpin(late);
    expect(back).toEqual([first, second]);
    expect({ deferred: refs.deferredCount, leftPinned: refs.leftPinned }).toEqual({ deferred: 0, leftPinned: 0 });
    expect(() => refs.unpin(late)).toThrow(/not held/);
  });

  it('with pins always held, every buffer comes back or goes to the collector; the queue stays small', () => {
    const refs = new FrameRefs();
    let back = 0;
    refs.bindRecycle(() => { back += 1; });
    let pins = [refs.pin()];
    const released = 10_000;
    for (let i = 0; i < released; i++) {
      const own = Buffer.allocUnsafe(16);
      refs.hold(own.buffer);
      refs.claim(own);
      refs.release(own.buffer);
      // Pins overlap by half their life: some pin is always held, and buffers released under the
      // newer one still wait when the older goes, so the queue never empties.
      if (i % 40 === 20) pins.push(refs.pin());
      if (i % 40 === 39) refs.unpin(pins.shift()!);
      expect(refs.deferredSlots).toBeLessThanOrEqual(2 * DEFERRED_MAX + 1);
    }
    expect(refs.leftPinned).toBe(0); // at most 60 wait at once: below DEFERRED_MAX
    for (const pin of pins) refs.unpin(pin);
    pins = [];
    expect({ back, deferred: refs.deferredCount, slots: refs.deferredSlots }).toEqual({ back: released, deferred: 0,
      slots: 0 });
  });

  it('leaves the oldest waiting buffers to the garbage collector past DEFERRED_MAX, never gives them back', () => {
    const refs = new FrameRefs();
    const back: Buffer[] = [];
    refs.bindRecycle((own) => back.push(own));
    const pin = refs.pin();
    const frames = Array.from({ length: DEFERRED_MAX + 3 }, () => Buffer.allocUnsafe(1024));
    for (const own of frames) {
      refs.hold(own.buffer);
      refs.claim(own);
      refs.release(own.buffer);
    }
    expect({ deferred: refs.deferredCount, leftPinned: refs.leftPinned }).toEqual({ deferred: DEFERRED_MAX,
      leftPinned: 3 });
    expect(refs.deferredSlots).toBeLessThanOrEqual(2 * DEFERRED_MAX);
    refs.unpin(pin);
    expect(back).toEqual(frames.slice(3));
    expect(refs.recycled).toBe(DEFERRED_MAX);
  });

  it('never gives back an unclaimed buffer (a view of a buffer the member did not pool)', () => {
    const refs = new FrameRefs();
    const back: Buffer[] = [];
    refs.bindRecycle((own) => back.push(own));
    const other = Buffer.allocUnsafe(1 << 16);
    refs.hold(other.buffer);
    refs.release(other.buffer);
    expect(back).toEqual([]);
    expect(refs.size).toBe(0);
  });
});

describe('GatewayState frame buffers', () => {
  const BATCH_BYTES = 48 * 1024;
  const streamId = FIRST_USER_STREAM_ID + 3;

  function setUp(cacheBytesMax: number) {
    const state = new GatewayState({ control: new ControlState(), cacheBytesMax, log: new Log('test', 'error') });
    const back: Buffer[] = [];
    state.frames.bindRecycle((own) => {
      back.push(own);
      own.fill(0xee); // the next frame reuses it
    });
    let seq = 0;
    /** One frame holding one big batch, delivered and claimed as the RiverMember does. */
    const deliverFrame = (baseOffset: number, fill: number): { own: Buffer; original: Buffer } => {
      const original = syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1,
        bytes: BATCH_BYTES, fill });
      const own = Buffer.allocUnsafe(64 * 1024);
      original.copy(own);
      state.deliver({ streamId, recordCount: 1, batch: own.subarray(0, original.length), seq: ++seq, epoch: 1,
        baseOffset });
      expect(state.frames.claim(own)).toBe(true); // a view of it is held: it comes back later
      return { own, original };
    };
    return { state, back, deliverFrame, lastSeq: () => seq };
  }

  it('keeps big batches as views while pending and cached, and reuses each buffer once it is evicted', () => {
    // The cache holds 3 batches: the 4th and 5th evict the 1st and 2nd.
    const { state, back, deliverFrame, lastSeq } = setUp(3 * BATCH_BYTES + 100);
    const frames = [0, 1, 2, 3, 4].map((offset) => deliverFrame(offset, offset + 1));
    expect(back).toEqual([]); // pending: not committed yet
    state.advanceCommitted(lastSeq());
    expect(back).toEqual([frames[0]!.own, frames[1]!.own]);
    const cached = state.stream(streamId)!.cache.filter((batch) => batch !== undefined);
    expect(cached.map((batch) => batch.baseOffset)).toEqual([2, 3, 4]);
    for (const batch of cached) {
      expect(batch.batch.buffer).toBe(frames[batch.baseOffset]!.own.buffer); // no copy
      expect(batch.batch.equals(frames[batch.baseOffset]!.original)).toBe(true); // not scribbled
    }
    expect(state.frames.size).toBe(3);
  });

  it('a pinned Fetch keeps evicted buffers from reuse until it unpins; then they go back', () => {
    const { state, back, deliverFrame, lastSeq } = setUp(BATCH_BYTES + 100);
    const first = deliverFrame(0, 1);
    state.advanceCommitted(lastSeq());
    const view = state.stream(streamId)!.cache[0]!.batch;
    const copy = Buffer.from(view);
    const pin = state.frames.pin();
    deliverFrame(1, 2);
    state.advanceCommitted(lastSeq()); // evicts offset 0 while the Fetch still holds its view
    expect(back).toEqual([]);
    expect(view.equals(copy)).toBe(true);
    state.frames.unpin(pin);
    expect(back).toEqual([first.own]);
    expect(state.frames.leftPinned).toBe(0);
  });

  it('releases views dropped with the pending entries of a new welcome, and of batches it does not cache', () => {
    const { state, back, deliverFrame, lastSeq } = setUp(BATCH_BYTES - 1); // too small for any batch
    const applied = deliverFrame(0, 1);
    state.advanceCommitted(lastSeq());
    expect(back).toEqual([applied.own]); // applied, not cached: released at once
    const dropped = deliverFrame(1, 2);
    state.welcome({ epoch: 2, headSeq: lastSeq() - 1, committedSeq: lastSeq() - 1 } as never);
    expect(back).toEqual([applied.own, dropped.own]);
    expect(state.frames.size).toBe(0);
  });

  it('copies internal batches, so a frame that carried one is reused at once', () => {
    const { state } = setUp(1 << 20);
    const own = Buffer.allocUnsafe(64 * 1024);
    const batch = syntheticBatch({ baseOffset: 0, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1,
      bytes: BATCH_BYTES, fill: 5 });
    batch.copy(own);
    state.deliver({ streamId: INTERNAL_TOPICS[2].streamId, recordCount: 1, batch: own.subarray(0, batch.length),
      seq: 1, epoch: 1, baseOffset: 0 });
    expect(state.frames.claim(own)).toBe(false);
  });
});
