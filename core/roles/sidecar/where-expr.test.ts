/**
 * Goal: the --where language accepts its grammar, evaluates as documented and answers every bad
 * input with a WhereSyntaxError that carries a position, never another exception.
 * Method: table tests of semantics and of error messages, then fast-check fuzzing with random
 * strings and with random token soups built from the language's own pieces (seed printed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../../test/harness/seed.ts';
import { compileWhere, WHERE_DEPTH_MAX, WhereSyntaxError } from './where-expr.ts';

const trade = {
  key: 'k1', topic: 'trades', partition: 0, offset: 7,
  value: {
    symbol: 'AAPL', px: 189.5, qty: 100, side: 'buy', tags: ['a', 'b'], venue: { mic: 'XNAS' }, ok: true, none: null,
  },
};

function where(source: string, record: unknown = trade): boolean {
  return compileWhere(source).test(record);
}

function syntaxError(source: string): WhereSyntaxError {
  try {
    compileWhere(source);
  } catch (error) {
    if (error instanceof WhereSyntaxError) return error;
    throw error;
  }
  throw new Error(`no error for ${source}`);
}

describe('--where semantics', () => {
  it('compares fields with literals', () => {
    expect(where('value.symbol == "AAPL"')).toBe(true);
    expect(where('value.symbol == \'MSFT\'')).toBe(false);
    expect(where('value.symbol != "MSFT"')).toBe(true);
    expect(where('value.px > 100 && value.qty <= 100')).toBe(true);
    expect(where('value.px < -1.5e3')).toBe(false);
    expect(where('value.side >= "a" && value.side < "c"')).toBe(true);
    expect(where('value.venue.mic == "XNAS" && value.tags[1] == "b"')).toBe(true);
    expect(where('value["symbol"] == "AAPL"')).toBe(true);
    expect(where('topic == "trades" && partition == 0 && offset == 7 && key == "k1"')).toBe(true);
  });

  it('handles booleans, null, missing fields and precedence', () => {
    expect(where('value.ok')).toBe(true);
    expect(where('!value.ok')).toBe(false);
    expect(where('value.none == null && value.missing == null && value.missing.deeper == null')).toBe(true);
    expect(where('value.missing')).toBe(false);
    expect(where('value.missing > 1 || value.missing < 1')).toBe(false);
    expect(where('true || false && false')).toBe(true);
    expect(where('(true || false) && false')).toBe(false);
    expect(where('!(value.qty == 100) || value.symbol in ["MSFT", "AAPL"]')).toBe(true);
    expect(where('value.qty in [1, 2, 3]')).toBe(false);
    expect(where('value.venue == value.venue')).toBe(false); // objects are never equal
    expect(where('value.px > "100"')).toBe(false); // mixed types do not order
    expect(where('value.tags')).toBe(true);
    expect(where('value.symbol')).toBe(true);
    expect(where('value.qty == 100', { value: 'not an object' })).toBe(false);
    expect(where('value.__proto__ == null', { value: {} })).toBe(true);
    expect(where('value.constructor == null', { value: {} })).toBe(true);
  });

  it('decodes string escapes', () => {
    expect(where('value.s == "a\\"b\\u00e9\\n"', { value: { s: 'a"bé\n' } })).toBe(true);
  });
});

describe('--where errors', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 1, /empty/],
    ['value.symbol = "AAPL"', 14, /use == to compare/],
    ['value.symbol == "AAPL', 17, /not closed/],
    ['value.symbol ==', 16, /expected a value.*end of the expression/],
    ['(value.a == 1', 14, /expected '\)'/],
    ['value.a == 1 value.b', 14, /expected && or \|\| or the end/],
    ['value.a in 1', 12, /expected '\[' after in/],
    ['value.a in [1 2]', 15, /',' or '\]'/],
    ['value.a & 1', 9, /use && or \|\|/],
    ['value. == 1', 8, /field name after '\.'/],
    ['value[x] == 1', 7, /index or a quoted field/],
    ['1.2.3 == 1', 1, /malformed number/],
    ['"\\q"', 2, /unknown escape/],
    ['value.a == #', 12, /unexpected character '#'/],
  ];
  it.each(cases)('%j: position %d', (source, position, message) => {
    const error = syntaxError(source);
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(new RegExp(`^at character ${position}: `));
  });

  it('limits nesting', () => {
    expect(() => compileWhere('('.repeat(WHERE_DEPTH_MAX) + 'true' + ')'.repeat(WHERE_DEPTH_MAX))).not.toThrow();
    const tooDeep = '('.repeat(WHERE_DEPTH_MAX + 1) + 'true' + ')'.repeat(WHERE_DEPTH_MAX + 1);
    expect(syntaxError(tooDeep).message).toMatch(/nesting/);
    expect(syntaxError('!'.repeat(1000) + 'true').message).toMatch(/nesting/);
    expect(syntaxError('x'.repeat(5000)).message).toMatch(/longer than/);
  });
});

describe('--where fuzz', () => {
  const onlySyntaxErrors = (source: string): void => {
    try {
      const filter = compileWhere(source);
      expect(typeof filter.test(trade)).toBe('boolean');
      expect(typeof filter.test(null)).toBe('boolean');
    } catch (error) {
      expect(error).toBeInstanceOf(WhereSyntaxError);
      const position = (error as WhereSyntaxError).position;
      expect(position >= 1 && position <= Math.max(source.length + 1, 4097)).toBe(true);
    }
  };

  it('random strings give a filter or a positioned syntax error', () => {
    const seed = testSeed('where fuzz strings');
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), onlySyntaxErrors), { seed, numRuns: 5000 });
  });

  it('random token soups give a filter or a positioned syntax error', () => {
    const seed = testSeed('where fuzz tokens');
    const piece = fc.constantFrom('value', '.', 'symbol', '[', ']', '0', '"x"', '\'y\'', '==', '!=', '<', '<=', '>',
      '>=', '&&', '||', '!', '(', ')', 'in', ',', 'true', 'false', 'null', '-1.5', 'qty', '1e3', ' ');
    fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => onlySyntaxErrors(pieces.join(''))),
      { seed, numRuns: 5000 });
  });
});
