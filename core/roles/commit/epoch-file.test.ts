/**
 * Goal: a commit truncates exactly a divergent, never-acknowledged tail after a sequencer change.
 * Method: table cases of (authoritative history, local history, last entry) -> truncation point.
 */
import { describe, expect, it } from 'vitest';
import { divergencePoint, epochOfSeq } from './epoch-file.ts';

describe('epoch history', () => {
  it('finds the epoch of a seq', () => {
    expect(epochOfSeq([[1, 1], [2, 96]], 95)).toBe(1);
    expect(epochOfSeq([[1, 1], [2, 96]], 96)).toBe(2);
    expect(epochOfSeq([], 5)).toBe(0);
  });

  it('keeps a log that agrees', () => {
    expect(divergencePoint([[1, 1], [2, 96]], [[1, 1]], 95, 1)).toBeNull();
    expect(divergencePoint([[1, 1], [2, 96]], [[1, 1], [2, 96]], 120, 2)).toBeNull();
    expect(divergencePoint([[1, 1]], [], 0, 0)).toBeNull();
  });

  it('cuts a tail written by an old epoch past the next epoch start', () => {
    expect(divergencePoint([[1, 1], [2, 96]], [[1, 1]], 100, 1)).toBe(95);
  });

  it('cuts everything of an epoch the authority never adopted', () => {
    expect(divergencePoint([[1, 1], [3, 96]], [[1, 1], [2, 90]], 99, 2)).toBe(89);
  });
});
