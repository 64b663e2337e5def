/**
 * Goal: a Fetch answer holds the cache's buffers it refers to, each run of batches in one buffer
 * once, and gives them back exactly once; it refuses (holding nothing) when its batches lie
 * scattered over buffers far larger than what it sends, so a consumer cannot keep the gateway
 * from reusing its slabs with a few bytes from each.
 * Method: FrameRefs with "frame" and "slab" buffers held as the tail cache holds them, views of
 * them handed to AnswerHolds, the recycler recording what comes back.
 */
import { describe, expect, it } from 'vitest';
import { AnswerHolds, PINNED_BYTES_SLACK } from './answer-holds.ts';
import { FrameRefs } from './frame-refs.ts';

function setUp(): { refs: FrameRefs; back: Buffer[]; cached: (own: Buffer, from: number, bytes: number) => Buffer } {
  const refs = new FrameRefs();
  const back: Buffer[] = [];
  refs.bindRecycle((own) => back.push(own));
  const claimed = new Set<Buffer>();
  // A view the cache holds (as GatewayState does for each cached batch), its buffer claimed once.
  const cached = (own: Buffer, from: number, bytes: number): Buffer => {
    refs.hold(own.buffer);
    if (!claimed.has(own)) {
      refs.claim(own);
      claimed.add(own);
    }
    return own.subarray(from, from + bytes);
  };
  return { refs, back, cached };
}

describe('AnswerHolds', () => {
  it('holds each buffer it refers to until released, once per run of batches in it, then lets them go once', () => {
    const { refs, back, cached } = setUp();
    const frames = [Buffer.allocUnsafe(1 << 20), Buffer.allocUnsafe(1 << 20)];
    const slab = Buffer.allocUnsafe(1 << 20);
    // Big batches alone in their frames, small ones in one slab between them (as they arrive).
    const views = [cached(frames[0]!, 0, 1 << 20), cached(slab, 0, 1000), cached(frames[1]!, 0, 1 << 20),
      cached(slab, 1000, 1000)];
    const holds = new AnswerHolds(refs);
    expect(holds.refer(views.map((batch) => ({ batch, held: true })), (2 << 20) + 2000)).toBe(true);
    expect(holds.pinnedBytes).toBe(3 << 20); // the slab counted once for its two batches
    for (const view of views) refs.release(view.buffer); // the cache evicts all four
    expect(back).toEqual([]); // the answer still refers to them
    holds.release();
    expect(back).toEqual([frames[0], slab, frames[1]]);
    holds.release();
    expect(back).toHaveLength(3);
    expect(refs.size).toBe(0);
  });

  it('refuses batches scattered over many slabs, holding none of them; takes a head consumer\'s few', () => {
    const { refs, cached } = setUp();
    const slabs = Array.from({ length: 40 }, () => Buffer.allocUnsafe(1 << 20));
    const scattered = slabs.map((slab) => ({ batch: cached(slab, 0, 1024), held: true }));
    const holds = new AnswerHolds(refs);
    const heldBefore = refs.size;
    expect(holds.refer(scattered, 40 * 1024)).toBe(false); // 40 MiB kept for 40 KiB sent
    expect(holds.copiedPartitions).toBe(1);
    expect(holds.pinnedBytes).toBe(0);
    for (const { batch } of scattered) refs.release(batch.buffer);
    expect(refs.size).toBe(heldBefore - 40); // nothing of the answer's left behind
    const head = Buffer.allocUnsafe(1 << 20);
    expect(holds.refer([{ batch: cached(head, 0, 1024), held: true }], 1024)).toBe(true); // within the slack
    expect(holds.pinnedBytes).toBeLessThanOrEqual(PINNED_BYTES_SLACK);
    holds.release();
  });

  it('holds nothing for batches the cache copied into buffers of their own (not held)', () => {
    const { refs } = setUp();
    const holds = new AnswerHolds(refs);
    const copies = [{ batch: Buffer.alloc(100) }, { batch: Buffer.alloc(100), held: false }];
    expect(holds.refer(copies, 200)).toBe(true);
    expect({ pinned: holds.pinnedBytes, size: refs.size }).toEqual({ pinned: 0, size: 0 });
    holds.release();
  });
});
