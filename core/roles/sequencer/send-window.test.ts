/**
 * Goal: the send window admits frames while fewer than its bytes are uncommitted, always admits one
 * frame, counts as full at its frame bound, and releases frames in seq order as the committed seq
 * moves. Method: direct calls against a small window.
 */
import { describe, expect, it } from 'vitest';
import { SendWindow } from './send-window.ts';

describe('SendWindow', () => {
  it('admits frames up to its bytes and releases them as the committed seq moves', () => {
    const window = new SendWindow(1000, 8);
    expect(window.hasRoom(5000)).toBe(true); // empty: one frame always goes, however large
    window.add(10, 400);
    window.add(20, 400);
    expect(window.hasRoom(200)).toBe(true);
    expect(window.hasRoom(201)).toBe(false);
    window.release(9);
    expect(window.bytes).toBe(800);
    window.release(15);
    expect(window.bytes).toBe(400);
    expect(window.hasRoom(600)).toBe(true);
    window.release(20);
    expect(window.bytes).toBe(0);
  });

  it('counts as full at its frame bound and wraps around', () => {
    const window = new SendWindow(1 << 20, 3);
    for (let round = 0; round < 4; round++) {
      for (let i = 1; i <= 3; i++) window.add(round * 3 + i, 10);
      expect(window.hasRoom(1)).toBe(false);
      window.release(round * 3 + 3);
      expect(window.bytes).toBe(0);
      expect(window.hasRoom(1)).toBe(true);
    }
  });
});
