/**
 * The envelope shared by the records of the internal streams (`__x2_control`,
 * `__consumer_offsets`): byte 0 is the format version, byte 1 the record kind, the rest a
 * msgpack array of the kind's fields in a fixed order (positional, so no key names are stored
 * and the bytes are the same on every node). Records are small and rare next to user data, so
 * msgpack's generality costs nothing that matters here.
 *
 * Decoding trusts nothing: an unknown version or kind, bytes msgpack cannot read, or a field of
 * the wrong type or out of range is refused with an X2_ERR_FORMAT error naming the stream, the
 * field and the value. Version policy (DESIGN, aesthetics B3.6): a reader knows every version
 * it may meet; an unknown version stops the replay rather than being guessed at.
 */
import { Packr } from 'msgpackr';
import { X2Error } from '../base/errors.ts';

export const RECORD_HEADER_BYTES = 2;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function encodeEnvelope(version: number, kindCode: number, fields: readonly unknown[]): Buffer {
  const body = packr.pack(fields);
  const bytes = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  bytes[0] = version;
  bytes[1] = kindCode;
  body.copy(bytes, RECORD_HEADER_BYTES);
  return bytes;
}

export function formatError(stream: string, problem: string): X2Error {
  return new X2Error('X2_ERR_FORMAT', `${stream} record: ${problem}`);
}

/** Checks the version, then returns the kind code and the positional fields. */
export function decodeEnvelope(
  stream: string, bytes: Uint8Array, versionsKnown: readonly number[],
): { version: number; kindCode: number; fields: FieldReader } {
  if (bytes.length < RECORD_HEADER_BYTES + 1) {
    throw formatError(stream, `${bytes.length} bytes is too short for a record`);
  }
  const version = bytes[0] ?? 0;
  if (!versionsKnown.includes(version)) {
    throw formatError(stream, `format version ${version} is unknown, this x2 reads ${versionsKnown.join(', ')}`);
  }
  let value: unknown;
  try {
    value = packr.unpack(bytes.subarray(RECORD_HEADER_BYTES));
  } catch (error) {
    throw new X2Error('X2_ERR_FORMAT', `${stream} record: body is not valid msgpack`, { cause: error });
  }
  if (!Array.isArray(value)) throw formatError(stream, 'body is not a field list');
  return { version, kindCode: bytes[1] ?? 0, fields: new FieldReader(stream, value) };
}

/** Reads positional fields in order, checking each one's type. */
export class FieldReader {
  #index = 0;
  readonly #stream: string;
  readonly #values: readonly unknown[];

  constructor(stream: string, values: readonly unknown[]) {
    this.#stream = stream;
    this.#values = values;
  }

  #next(name: string): unknown {
    if (this.#index >= this.#values.length) {
      throw formatError(this.#stream, `field ${name} is missing`);
    }
    return this.#values[this.#index++];
  }

  #bad(name: string, value: unknown, allowed: string): X2Error {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    return formatError(this.#stream, `field ${name} is ${shown}, ${allowed}`);
  }

  string(name: string): string {
    const value = this.#next(name);
    if (typeof value !== 'string') throw this.#bad(name, value, 'a string is required');
    return value;
  }

  stringOrNull(name: string): string | null {
    const value = this.#next(name);
    if (value !== null && typeof value !== 'string') throw this.#bad(name, value, 'a string or null is required');
    return value;
  }

  integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.#next(name);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw this.#bad(name, value, `an integer in [${min}, ${max}] is required`);
    }
    return value;
  }

  integers(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number[] {
    const value = this.#next(name);
    if (!Array.isArray(value)) throw this.#bad(name, value, 'a list of integers is required');
    const list: number[] = [];
    for (const item of value) {
      if (typeof item !== 'number' || !Number.isSafeInteger(item) || item < min || item > max) {
        throw this.#bad(`${name}[${list.length}]`, item, `an integer in [${min}, ${max}] is required`);
      }
      list.push(item);
    }
    return list;
  }

  strings(name: string): string[] {
    const value = this.#next(name);
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw this.#bad(name, value, 'a list of strings is required');
    }
    return value as string[];
  }

  /** A string map, stored as [key, value, key, value, ...] sorted by key. */
  stringMap(name: string): Record<string, string> {
    const flat = this.strings(name);
    if (flat.length % 2 !== 0) throw this.#bad(name, flat.length, 'an even number of strings is required');
    const entries: Array<[string, string]> = [];
    for (let i = 0; i < flat.length; i += 2) entries.push([flat[i] ?? '', flat[i + 1] ?? '']);
    return Object.fromEntries(entries); // own properties even for a key like "__proto__"
  }

  /** Refuses trailing fields: a record with more fields than its version has is not understood. */
  end(): void {
    if (this.#index !== this.#values.length) {
      throw formatError(this.#stream, `${this.#values.length - this.#index} unexpected trailing fields`);
    }
  }
}

/** The stored form of a string map: sorted [key, value, ...] so equal maps encode equally. */
export function flattenStringMap(map: Readonly<Record<string, string>>): string[] {
  const flat: string[] = [];
  for (const key of Object.keys(map).sort()) flat.push(key, map[key] ?? '');
  return flat;
}
