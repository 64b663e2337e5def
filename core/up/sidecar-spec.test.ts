/**
 * `x2 up --sidecar 'NAME:ARGS'` parsing: names, shell-like word splitting (quotes, escapes),
 * refusal of flags x2 up sets itself, and that random strings only ever parse or give a problem.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { parseSidecarSpec, splitShellWords } from './sidecar-spec.ts';

describe('parseSidecarSpec', () => {
  it('splits NAME and ARGS like a shell', () => {
    const result = parseSidecarSpec(`aapl:--from trades --to trades.aapl --where 'value.symbol == "AAPL"'`);
    expect(result).toEqual({ ok: true, spec: { name: 'aapl', args: ['--from', 'trades', '--to', 'trades.aapl',
      '--where', 'value.symbol == "AAPL"'] } });
    expect(splitShellWords(String.raw`a "b \"c\" d" e\ f ''`))
      .toEqual({ ok: true, words: ['a', 'b "c" d', 'e f', ''] });
  });

  it('refuses what it cannot use, saying what is allowed', () => {
    expect(parseSidecarSpec('no-colon')).toMatchObject({ ok: false, problem: /colon/ });
    expect(parseSidecarSpec('bad name:--from a --to b')).toMatchObject({ ok: false, problem: /NAME/ });
    expect(parseSidecarSpec('n:')).toMatchObject({ ok: false, problem: /flags of x2 sidecar/ });
    expect(parseSidecarSpec("n:--where 'x")).toMatchObject({ ok: false, problem: /closing '/ });
    expect(parseSidecarSpec('n:--from a --to b --sequencer 1.2.3.4:5')).toMatchObject({ ok: false,
      problem: /--sequencer/ });
    expect(parseSidecarSpec('n:--from a --to b --name=x')).toMatchObject({ ok: false, problem: /--name/ });
  });

  it('never throws on random input', () => {
    const seed = testSeed('sidecar spec');
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      const result = parseSidecarSpec(text);
      expect(typeof result.ok).toBe('boolean');
    }), { seed, numRuns: 2000 });
  });
});
