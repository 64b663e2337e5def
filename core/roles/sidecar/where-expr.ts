/**
 * The `--where` filter language of `x2 sidecar`: a small, safe expression over a record whose
 * value is JSON. Tokenizer + recursive-descent parser + evaluator; user text is never evaluated as
 * JavaScript. The expression is compiled once into a tree of nodes and evaluated per record.
 *
 * Grammar (lowest precedence first):
 *   expr    := and ('||' and)*
 *   and     := unary ('&&' unary)*
 *   unary   := '!' unary | compare
 *   compare := operand (('=='|'!='|'<'|'<='|'>'|'>=') operand | 'in' '[' literal (',' literal)* ']')?
 *   operand := literal | path | '(' expr ')'
 *   path    := name ('.' name | '[' (number | string) ']')*      names: [A-Za-z_$][A-Za-z0-9_$]*
 *   literal := "string" | 'string' | number | true | false | null
 * Semantics: a missing field is null. `==`/`!=` compare numbers, strings, booleans and null by
 * value (objects and arrays are never equal). `<`..`>=` hold only between two numbers or two
 * strings. `in` is `==` against any listed literal. A bare operand is true when it is true, a
 * non-zero number, a non-empty string, an object or an array.
 *
 * Bounds: at most WHERE_CHARS_MAX characters and WHERE_DEPTH_MAX levels of nesting, so parsing
 * and evaluation are linear and cannot overflow the stack. Errors are WhereSyntaxError with the
 * 1-based character position.
 */
export const WHERE_CHARS_MAX = 4096;
export const WHERE_DEPTH_MAX = 64;

export class WhereSyntaxError extends Error {
  readonly position: number;
  constructor(position: number, message: string) {
    super(`at character ${position}: ${message}`);
    this.name = 'WhereSyntaxError';
    this.position = position;
  }
}

type Scalar = string | number | boolean | null;
type TokenKind = 'string' | 'number' | 'name' | 'op' | 'end';
type Token = { kind: TokenKind; text: string; value: Scalar; position: number };

type Node =
  | { kind: 'literal'; value: Scalar }
  | { kind: 'path'; steps: ReadonlyArray<string | number> }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node }
  | { kind: 'in'; operand: Node; values: readonly Scalar[] };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
const COMPARE_OPS: readonly string[] = ['==', '!=', '<', '<=', '>', '>='];
const TWO_CHAR_OPS = ['==', '!=', '<=', '>=', '&&', '||'];
const ONE_CHAR_OPS = '<>!()[].,';

function describe(token: Token): string {
  return token.kind === 'end' ? 'the end of the expression' : `'${token.text}'`;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    const position = i + 1;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i += 1;
    } else if (char === '"' || char === '\'') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= source.length) throw new WhereSyntaxError(position, 'the string is not closed');
        const c = source[j]!;
        if (c === char) break;
        if (c === '\\') {
          const escaped = source[j + 1];
          const simple: Record<string, string> = {
            '"': '"', '\'': '\'', '\\': '\\', 'n': '\n', 't': '\t', 'r': '\r', '/': '/',
          };
          if (escaped !== undefined && simple[escaped] !== undefined) {
            text += simple[escaped];
            j += 2;
          } else if (escaped === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(j + 2, j + 6))) {
            text += String.fromCharCode(parseInt(source.slice(j + 2, j + 6), 16));
            j += 6;
          } else {
            throw new WhereSyntaxError(j + 1,
              'unknown escape in string (allowed: \\" \\\' \\\\ \\n \\t \\r \\/ \\uXXXX)');
          }
        } else {
          text += c;
          j += 1;
        }
      }
      tokens.push({ kind: 'string', text: source.slice(i, j + 1), value: text, position });
      i = j + 1;
    } else if (/[0-9]/.test(char) || (char === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(source.slice(i));
      const text = match?.[0] ?? char;
      if (/[A-Za-z0-9_$.]/.test(source[i + text.length] ?? '')) {
        throw new WhereSyntaxError(position, `malformed number '${source.slice(i, i + text.length + 1)}'`);
      }
      tokens.push({ kind: 'number', text, value: Number(text), position });
      i += text.length;
    } else if (/[A-Za-z_$]/.test(char)) {
      const text = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i))![0];
      tokens.push({ kind: 'name', text, value: text, position });
      i += text.length;
    } else {
      const two = source.slice(i, i + 2);
      if (TWO_CHAR_OPS.includes(two)) {
        tokens.push({ kind: 'op', text: two, value: null, position });
        i += 2;
      } else if (ONE_CHAR_OPS.includes(char)) {
        tokens.push({ kind: 'op', text: char, value: null, position });
        i += 1;
      } else {
        const hint = char === '=' ? ' (use == to compare)'
          : char === '&' || char === '|' ? ' (use && or ||)' : '';
        throw new WhereSyntaxError(position, `unexpected character '${char}'${hint}`);
      }
    }
  }
  tokens.push({ kind: 'end', text: '', value: null, position: source.length + 1 });
  return tokens;
}

class Parser {
  readonly #tokens: Token[];
  #index = 0;
  #depth = 0;
  constructor(tokens: Token[]) { this.#tokens = tokens; }

  get #peek(): Token { return this.#tokens[this.#index]!; }

  #take(): Token {
    const token = this.#tokens[this.#index]!;
    if (token.kind !== 'end') this.#index += 1;
    return token;
  }

  #isOp(text: string): boolean {
    return this.#peek.kind === 'op' && this.#peek.text === text;
  }

  #expectOp(text: string, what: string): void {
    if (!this.#isOp(text)) {
      throw new WhereSyntaxError(this.#peek.position, `expected ${what}, found ${describe(this.#peek)}`);
    }
    this.#take();
  }

  parseAll(): Node {
    const node = this.#expr();
    if (this.#peek.kind !== 'end') {
      throw new WhereSyntaxError(this.#peek.position, `expected && or || or the end, found ${describe(this.#peek)}`);
    }
    return node;
  }

  #nest<T>(position: number, parse: () => T): T {
    this.#depth += 1;
    if (this.#depth > WHERE_DEPTH_MAX) {
      throw new WhereSyntaxError(position, `nesting deeper than ${WHERE_DEPTH_MAX} levels`);
    }
    try {
      return parse();
    } finally {
      this.#depth -= 1;
    }
  }

  #expr(): Node {
    let left = this.#and();
    while (this.#isOp('||')) {
      this.#take();
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): Node {
    let left = this.#unary();
    while (this.#isOp('&&')) {
      this.#take();
      left = { kind: 'and', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): Node {
    if (this.#isOp('!')) {
      const position = this.#take().position;
      return this.#nest(position, () => ({ kind: 'not', operand: this.#unary() }));
    }
    return this.#compare();
  }

  #compare(): Node {
    const left = this.#operand();
    const token = this.#peek;
    if (token.kind === 'op' && COMPARE_OPS.includes(token.text)) {
      this.#take();
      return { kind: 'compare', op: token.text as CompareOp, left, right: this.#operand() };
    }
    if (token.kind === 'name' && token.text === 'in') {
      this.#take();
      this.#expectOp('[', '\'[\' after in');
      const values: Scalar[] = [this.#literal()];
      while (this.#isOp(',')) {
        this.#take();
        values.push(this.#literal());
      }
      this.#expectOp(']', '\',\' or \']\' in the list');
      return { kind: 'in', operand: left, values };
    }
    return left;
  }

  #literal(): Scalar {
    const token = this.#take();
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'name' && token.text === 'true') return true;
    if (token.kind === 'name' && token.text === 'false') return false;
    if (token.kind === 'name' && token.text === 'null') return null;
    throw new WhereSyntaxError(token.position,
      `expected a string, number, true, false or null, found ${describe(token)}`);
  }

  #operand(): Node {
    const token = this.#peek;
    if (token.kind === 'op' && token.text === '(') {
      this.#take();
      const inner = this.#nest(token.position, () => this.#expr());
      this.#expectOp(')', '\')\'');
      return inner;
    }
    if (token.kind === 'string' || token.kind === 'number') {
      this.#take();
      return { kind: 'literal', value: token.value };
    }
    if (token.kind === 'name') {
      if (token.text === 'true' || token.text === 'false' || token.text === 'null') {
        this.#take();
        return { kind: 'literal', value: token.text === 'null' ? null : token.text === 'true' };
      }
      if (token.text === 'in') throw new WhereSyntaxError(token.position, 'expected a value before in');
      this.#take();
      const steps: Array<string | number> = [token.text];
      for (;;) {
        if (this.#isOp('.')) {
          this.#take();
          const name = this.#take();
          if (name.kind !== 'name') {
            throw new WhereSyntaxError(name.position, `expected a field name after '.', found ${describe(name)}`);
          }
          steps.push(name.text);
        } else if (this.#isOp('[')) {
          this.#take();
          const index = this.#take();
          if (index.kind === 'number' && Number.isInteger(index.value) && (index.value as number) >= 0) {
            steps.push(index.value as number);
          } else if (index.kind === 'string') {
            steps.push(index.value as string);
          } else {
            throw new WhereSyntaxError(index.position,
              `expected an index or a quoted field name, found ${describe(index)}`);
          }
          this.#expectOp(']', '\']\'');
        } else {
          return { kind: 'path', steps };
        }
        if (steps.length > WHERE_DEPTH_MAX) {
          throw new WhereSyntaxError(token.position, `a path longer than ${WHERE_DEPTH_MAX} steps`);
        }
      }
    }
    throw new WhereSyntaxError(token.position, `expected a value, a field or '(', found ${describe(token)}`);
  }
}

function lookup(root: unknown, steps: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return null;
    if (Array.isArray(value)) {
      value = typeof step === 'number' ? value[step] : undefined;
    } else {
      const fields = value as Record<string, unknown>;
      value = Object.prototype.hasOwnProperty.call(fields, step) ? fields[String(step)] : undefined;
    }
    if (value === undefined) return null;
  }
  return value;
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  return true;
}

function equal(left: unknown, right: unknown): boolean {
  if (left !== null && typeof left === 'object') return false;
  if (right !== null && typeof right === 'object') return false;
  return left === right;
}

function evaluate(node: Node, root: unknown): unknown {
  switch (node.kind) {
    case 'literal': return node.value;
    case 'path': return lookup(root, node.steps);
    case 'not': return !truthy(evaluate(node.operand, root));
    case 'and': return truthy(evaluate(node.left, root)) && truthy(evaluate(node.right, root));
    case 'or': return truthy(evaluate(node.left, root)) || truthy(evaluate(node.right, root));
    case 'in': {
      const value = evaluate(node.operand, root);
      return node.values.some((candidate) => equal(value, candidate));
    }
    case 'compare': {
      const left = evaluate(node.left, root);
      const right = evaluate(node.right, root);
      if (node.op === '==') return equal(left, right);
      if (node.op === '!=') return !equal(left, right);
      const comparable = (typeof left === 'number' && typeof right === 'number')
        || (typeof left === 'string' && typeof right === 'string');
      if (!comparable) return false;
      const l = left as number | string;
      const r = right as number | string;
      switch (node.op) {
        case '<': return l < r;
        case '<=': return l <= r;
        case '>': return l > r;
        case '>=': return l >= r;
      }
    }
  }
}

export type WhereFilter = { readonly source: string; test(record: unknown): boolean };

/** Compiles `source`; throws WhereSyntaxError naming the position of the first problem. */
export function compileWhere(source: string): WhereFilter {
  if (source.length > WHERE_CHARS_MAX) {
    throw new WhereSyntaxError(WHERE_CHARS_MAX + 1, `longer than ${WHERE_CHARS_MAX} characters`);
  }
  const tokens = tokenize(source);
  if (tokens.length === 1) throw new WhereSyntaxError(1, 'the expression is empty');
  const root = new Parser(tokens).parseAll();
  return { source, test: (record) => truthy(evaluate(root, record)) };
}
