/**
 * Goal: the tail cache keeps big batches without copying them and never lets a small one pin a big
 * buffer. Method: ownBatch on views of one frame-sized buffer.
 */
import { describe, expect, it } from 'vitest';
import { ownBatch } from './gateway-state.ts';

describe('ownBatch', () => {
  const frame = Buffer.allocUnsafe(1 << 20);
  frame.fill(7);

  it('keeps a batch that fills at least half of its buffer as the same memory', () => {
    const big = frame.subarray(100, 100 + (1 << 19));
    const kept = ownBatch(big);
    expect(kept.buffer).toBe(frame.buffer);
    expect(kept.byteOffset).toBe(big.byteOffset);
    expect(kept.length).toBe(big.length);
  });

  it('copies a small batch out, with the same bytes, so the frame buffer can be freed', () => {
    const small = frame.subarray(5000, 6000);
    small.fill(42);
    const kept = ownBatch(small);
    expect(kept.buffer).not.toBe(frame.buffer);
    expect(kept.buffer.byteLength).toBeLessThan(frame.length / 2);
    expect(Buffer.from(kept.buffer, kept.byteOffset, kept.length).equals(small)).toBe(true);
    small.fill(0);
    expect(kept[0]).toBe(42);
  });
});
