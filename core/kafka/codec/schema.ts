/**
 * The declarative schema language for Kafka messages. A message is data: an ordered list of
 * named fields, each with a type and the version range in which it exists; arrays and nested
 * structs nest. compile.ts turns one (message, version) into specialised closures once, at
 * module load; nothing here runs per request.
 *
 * Conventions (those of Kafka's own message definitions): a field outside its version range
 * is neither read nor written, and decoding fills it with its default, so every decoded
 * object has every field (one stable shape per message). In flexible versions strings, bytes
 * and arrays use compact (unsigned varint) lengths and every struct ends with a tagged-field
 * section; x2 reads and skips unknown tags and writes none.
 * The TypeScript type of a decoded message is derived from its schema (`ValueOf`), so a
 * handler cannot read a field that the schema does not define.
 */

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'string'
  | 'nullableString'
  | 'bytes'
  | 'nullableBytes'
  | 'records';

export interface ArrayType<E extends FieldType = FieldType, N extends boolean = boolean> {
  readonly kind: 'array';
  readonly element: E;
  readonly nullable: N;
  /** First version in which the array may be null (-1 count); below it null is invalid. */
  readonly nullableVersionMin: number;
}

export interface StructType<F extends Fields = Fields> {
  readonly kind: 'struct';
  readonly fields: F;
}

export type FieldType = PrimitiveType | ArrayType | StructType;

export interface Field<T extends FieldType = FieldType> {
  readonly type: T;
  readonly versionMin: number;
  readonly versionMax: number;
  /** Value a decoder fills in when the field is outside the version; undefined = type's zero. */
  readonly defaultValue: unknown;
}

export interface Fields {
  readonly [name: string]: Field;
}

/** The decoded TypeScript value of a schema type. */
export type ValueOf<T> = T extends 'int8' | 'int16' | 'int32' | 'int64'
  ? number
  : T extends 'bool'
    ? boolean
    : T extends 'string'
      ? string
      : T extends 'nullableString'
        ? string | null
        : T extends 'bytes'
          ? Buffer
          : T extends 'nullableBytes' | 'records'
            ? Buffer | null
            : T extends ArrayType<infer E, infer N>
              ? N extends true
                ? ValueOf<E>[] | null
                : ValueOf<E>[]
              : T extends StructType<infer F>
                ? { [K in keyof F]: ValueOf<F[K]['type']> }
                : never;

/** A field present in versions [versionMin, versionMax] (default: every version). */
export function field<T extends FieldType>(
  type: T,
  options: { min?: number; max?: number; defaultValue?: ValueOf<T> } = {},
): Field<T> {
  return {
    type,
    versionMin: options.min ?? 0,
    versionMax: options.max ?? Number.MAX_SAFE_INTEGER,
    defaultValue: options.defaultValue,
  };
}

export function struct<F extends Fields>(fields: F): StructType<F> {
  return { kind: 'struct', fields };
}

export function array<E extends FieldType>(element: E): ArrayType<E, false> {
  return { kind: 'array', element, nullable: false, nullableVersionMin: Number.MAX_SAFE_INTEGER };
}

/** An array that may be null (count -1) from `nullableVersionMin` on. */
export function nullableArray<E extends FieldType>(
  element: E,
  nullableVersionMin = 0,
): ArrayType<E, true> {
  return { kind: 'array', element, nullable: true, nullableVersionMin };
}

/** One direction (request or response) of one API: its fields and version facts. */
export type MessageSchema<F extends Fields = Fields> = {
  readonly apiKey: number;
  readonly apiName: string;
  readonly direction: 'request' | 'response';
  readonly versionMin: number;
  readonly versionMax: number;
  /** First flexible version (compact encodings, tagged fields); above versionMax = never. */
  readonly flexibleVersionMin: number;
  readonly body: StructType<F>;
};

export type MessageValue<M> = M extends MessageSchema<infer F> ? ValueOf<StructType<F>> : never;
