/**
 * Goal: a river frame buffer goes back for reuse exactly once, and only when no view of it can be
 * read any more: not while its batch waits for its commit, sits in the tail cache or a Fetch answer
 * that refers to it waits to be written; and views dropped with the pending entries of a new
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
import { FrameRefs } from './frame-refs.ts';
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

  it('keeps a buffer a reader holds (a Fetch answer being written) until the reader releases it too', () => {
    const refs = new FrameRefs();
    const back: Buffer[] = [];
    refs.bindRecycle((own) => back.push(own));
    const own = Buffer.allocUnsafe(1 << 16);
    refs.hold(own.buffer); // the tail cache's view
    refs.claim(own);
    refs.hold(own.buffer); // a Fetch answer refers to the batch
    refs.release(own.buffer); // evicted from the cache
    expect(back).toEqual([]);
    refs.release(own.buffer); // the answer was written
    expect(back).toEqual([own]);
    expect(refs.size).toBe(0);
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

  it('a Fetch answer holding a cached view keeps it from reuse past its eviction; then it goes back', () => {
    const { state, back, deliverFrame, lastSeq } = setUp(BATCH_BYTES + 100);
    const first = deliverFrame(0, 1);
    state.advanceCommitted(lastSeq());
    const view = state.stream(streamId)!.cache[0]!.batch;
    const copy = Buffer.from(view);
    state.frames.hold(view.buffer); // as fetch-handler does for each cached batch it answers with
    deliverFrame(1, 2);
    state.advanceCommitted(lastSeq()); // evicts offset 0 while the answer still refers to it
    expect(back).toEqual([]);
    expect(view.equals(copy)).toBe(true);
    state.frames.release(view.buffer);
    expect(back).toEqual([first.own]);
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
