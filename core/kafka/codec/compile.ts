/**
 * Compiles a declarative message schema (schema.ts) into specialised functions, once per
 * (message, version), at module load: primitives and arrays become closures, structs become
 * small generated functions with their field names spelled out (see structCodec). Together
 * they are the generic encoder/decoder every API uses: `read` builds the typed object from a
 * KafkaReader, `size` computes the exact encoded size of a value, `write` writes it into a
 * KafkaWriter sized by `size` beforehand.
 *
 * Hot-path rules kept here: fields outside a version are resolved at compile time (no
 * per-request version checks); BYTES/RECORDS values stay views of the input (the record data
 * of Produce and Fetch is never copied or parsed by this layer); decoded objects always get
 * every field in declaration order, so they share one shape.
 */
import { KafkaDecodeError } from './decode-error.ts';
import type { KafkaReader } from './reader.ts';
import { RecordRuns } from './record-runs.ts';
import type { ArrayType, Field, FieldType, MessageSchema, StructType, ValueOf } from './schema.ts';
import { uvarintBytes } from './varint.ts';
import { KafkaEncodeError, type KafkaWriter } from './writer.ts';

/** The compiled form of one type in one version. `value` is typed by the message codec. */
export type Codec = {
  read(reader: KafkaReader): unknown;
  size(value: unknown): number;
  write(writer: KafkaWriter, value: unknown): void;
  /** Fewest bytes one value can take; bounds array counts against the bytes left. */
  readonly bytesMin: number;
};

const EMPTY_BUFFER = Buffer.alloc(0);

function fixed(bytesMin: number, read: Codec['read'], write: Codec['write']): Codec {
  return { read, write, size: () => bytesMin, bytesMin };
}

const INT8 = fixed(1, (r) => r.readInt8(), (w, v) => w.writeInt8(v as number));
const INT16 = fixed(2, (r) => r.readInt16(), (w, v) => w.writeInt16(v as number));
const INT32 = fixed(4, (r) => r.readInt32(), (w, v) => w.writeInt32(v as number));
const INT64 = fixed(8, (r) => r.readInt64(), (w, v) => w.writeInt64(v as number));
const BOOL = fixed(1, (r) => r.readBool(), (w, v) => w.writeBool(v as boolean));

function stringCodec(flexible: boolean, nullable: boolean): Codec {
  const what = nullable ? 'nullable string' : 'string';
  const prefixBytes = (length: number): number => (flexible ? uvarintBytes(length + 1) : 2);
  return {
    bytesMin: flexible ? 1 : 2,
    read: flexible
      ? nullable
        ? (r) => r.readCompactNullableString()
        : (r) => r.readCompactString()
      : nullable
        ? (r) => r.readNullableString()
        : (r) => r.readString(),
    size(value) {
      if (value === null) return flexible ? 1 : 2;
      const length = Buffer.byteLength(value as string, 'utf8');
      return prefixBytes(length) + length;
    },
    write(w, value) {
      if (value === null) {
        if (!nullable) throw new KafkaEncodeError(`${what}: null is not allowed`);
        if (flexible) w.writeUVarint(0);
        else w.writeInt16(-1);
        return;
      }
      const length = Buffer.byteLength(value as string, 'utf8');
      if (flexible) w.writeUVarint(length + 1);
      else if (length > 0x7fff) throw new KafkaEncodeError(`${what}: ${length} bytes exceed 32767`);
      else w.writeInt16(length);
      w.writeUtf8(value as string, length);
    },
  };
}

function bytesCodec(flexible: boolean, nullable: boolean): Codec {
  return {
    bytesMin: flexible ? 1 : 4,
    read: flexible
      ? nullable
        ? (r) => r.readCompactNullableBytes()
        : (r) => r.readCompactBytes()
      : nullable
        ? (r) => r.readNullableBytes()
        : (r) => r.readBytes(),
    size(value) {
      if (value === null) return flexible ? 1 : 4;
      const length = (value as Buffer).length;
      return (flexible ? uvarintBytes(length + 1) : 4) + length;
    },
    write(w, value) {
      if (value === null) {
        if (!nullable) throw new KafkaEncodeError('bytes: null is not allowed');
        if (flexible) w.writeUVarint(0);
        else w.writeInt32(-1);
        return;
      }
      const bytes = value as Buffer;
      if (flexible) w.writeUVarint(bytes.length + 1);
      else w.writeInt32(bytes.length);
      w.writeRaw(bytes);
    },
  };
}

/**
 * RECORDS: nullable bytes, and when encoding also RecordRuns (batches in several buffers), written
 * run by run; a gathered write refers to every run, whatever its length (the runs are built so).
 */
function recordsCodec(flexible: boolean): Codec {
  const bytes = bytesCodec(flexible, true);
  return {
    ...bytes,
    write(w, value) {
      if (!(value instanceof RecordRuns)) return bytes.write(w, value);
      if (flexible) w.writeUVarint(value.length + 1);
      else w.writeInt32(value.length);
      for (const run of value.runs) w.writeRawReferenced(run);
    },
  };
}

function arrayCodec(type: ArrayType, version: number, flexible: boolean): Codec {
  const element = compileType(type.element, version, flexible);
  const nullAllowed = type.nullable && version >= type.nullableVersionMin;
  const elementBytesFixed =
    typeof type.element === 'string' && isFixedSize(type.element) ? element.bytesMin : -1;
  return {
    bytesMin: flexible ? 1 : 4,
    read(r) {
      const start = r.position;
      const count = flexible
        ? r.readCompactArrayLength(element.bytesMin)
        : r.readArrayLength(element.bytesMin);
      if (count === -1) {
        if (!nullAllowed) {
          throw new KafkaDecodeError('array', start, 'null is not allowed in this version');
        }
        return null;
      }
      const values = new Array<unknown>(count);
      for (let index = 0; index < count; index++) values[index] = element.read(r);
      return values;
    },
    size(value) {
      if (value === null) return flexible ? 1 : 4;
      const values = value as unknown[];
      const prefixBytes = flexible ? uvarintBytes(values.length + 1) : 4;
      if (elementBytesFixed >= 0) return prefixBytes + values.length * elementBytesFixed;
      let bytes = prefixBytes;
      for (let index = 0; index < values.length; index++) bytes += element.size(values[index]);
      return bytes;
    },
    write(w, value) {
      if (value === null) {
        if (!nullAllowed) {
          throw new KafkaEncodeError(`array: null is not allowed in version ${version}`);
        }
        if (flexible) w.writeUVarint(0);
        else w.writeInt32(-1);
        return;
      }
      const values = value as unknown[];
      if (flexible) w.writeUVarint(values.length + 1);
      else w.writeInt32(values.length);
      for (let index = 0; index < values.length; index++) element.write(w, values[index]);
    },
  };
}

function isFixedSize(type: string): boolean {
  return FIXED_FIELDS[type] !== undefined;
}

const FIXED_FIELDS: Partial<Record<string, { read: string; write: string; bytes: number }>> = {
  int8: { read: 'readInt8', write: 'writeInt8', bytes: 1 },
  int16: { read: 'readInt16', write: 'writeInt16', bytes: 2 },
  int32: { read: 'readInt32', write: 'writeInt32', bytes: 4 },
  int64: { read: 'readInt64', write: 'writeInt64', bytes: 8 },
  bool: { read: 'readBool', write: 'writeBool', bytes: 1 },
};

const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A struct compiles to three generated functions with the field names spelled out: reads
 * build one object literal (one hidden class per struct and version), fixed-size fields are
 * read and written inline and their sizes folded into one constant. The generated source
 * comes only from the schema's own field names (checked to be identifiers), never from input.
 */
function structCodec(type: StructType, version: number, flexible: boolean): Codec {
  const children: Codec[] = [];
  const defaults: (() => unknown)[] = [];
  const readParts: string[] = [];
  const sizeParts: string[] = [];
  const writeParts: string[] = [];
  let bytesMin = flexible ? 1 : 0;
  let bytesFixed = flexible ? 1 : 0;
  for (const [name, spec] of Object.entries(type.fields) as [string, Field][]) {
    if (!FIELD_NAME.test(name)) {
      throw new KafkaEncodeError(`schema field name "${name}" is not an identifier`);
    }
    const isActive = version >= spec.versionMin && version <= spec.versionMax;
    if (!isActive) {
      defaults.push(defaultMaker(spec.type, spec.defaultValue));
      readParts.push(`${name}: d[${defaults.length - 1}]()`);
      continue;
    }
    const fixedField = typeof spec.type === 'string' ? FIXED_FIELDS[spec.type] : undefined;
    if (fixedField !== undefined) {
      readParts.push(`${name}: r.${fixedField.read}()`);
      writeParts.push(`w.${fixedField.write}(v.${name});`);
      bytesFixed += fixedField.bytes;
      bytesMin += fixedField.bytes;
      continue;
    }
    const codec = compileType(spec.type, version, flexible);
    children.push(codec);
    const child = `c[${children.length - 1}]`;
    readParts.push(`${name}: ${child}.read(r)`);
    sizeParts.push(`${child}.size(v.${name})`);
    writeParts.push(`${child}.write(w, v.${name});`);
    bytesMin += codec.bytesMin;
  }
  const source = `
    return {
      read(r) {
        const v = { ${readParts.join(', ')} };
        ${flexible ? 'r.skipTaggedFields();' : ''}
        return v;
      },
      size(v) { return ${[String(bytesFixed), ...sizeParts].join(' + ')}; },
      write(w, v) { ${writeParts.join(' ')} ${flexible ? 'w.writeUVarint(0);' : ''} },
    };`;
  const build = new Function('c', 'd', source) as (
    c: Codec[],
    d: (() => unknown)[],
  ) => Pick<Codec, 'read' | 'size' | 'write'>;
  return { ...build(children, defaults), bytesMin };
}

/** Fresh default per decode for arrays and structs, so decoded objects never share state. */
function defaultMaker(type: FieldType, defaultValue: unknown): () => unknown {
  if (defaultValue !== undefined) {
    if (!Array.isArray(defaultValue)) return () => defaultValue;
    return () => [...(defaultValue as unknown[])];
  }
  if (typeof type !== 'string') {
    if (type.kind === 'array') return () => [];
    const makers = Object.entries(type.fields).map(
      ([name, spec]: [string, Field]) =>
        [name, defaultMaker(spec.type, spec.defaultValue)] as const,
    );
    return () => {
      const value: Record<string, unknown> = {};
      for (const [name, make] of makers) value[name] = make();
      return value;
    };
  }
  switch (type) {
    case 'bool':
      return () => false;
    case 'string':
      return () => '';
    case 'bytes':
      return () => EMPTY_BUFFER;
    case 'nullableString':
    case 'nullableBytes':
    case 'records':
      return () => null;
    default:
      return () => 0;
  }
}

export function compileType(type: FieldType, version: number, flexible: boolean): Codec {
  if (typeof type !== 'string') {
    if (type.kind === 'array') return arrayCodec(type, version, flexible);
    return structCodec(type, version, flexible);
  }
  switch (type) {
    case 'int8':
      return INT8;
    case 'int16':
      return INT16;
    case 'int32':
      return INT32;
    case 'int64':
      return INT64;
    case 'bool':
      return BOOL;
    case 'string':
      return stringCodec(flexible, false);
    case 'nullableString':
      return stringCodec(flexible, true);
    case 'bytes':
      return bytesCodec(flexible, false);
    case 'nullableBytes':
      return bytesCodec(flexible, true);
    case 'records':
      return recordsCodec(flexible);
    default:
      throw new KafkaEncodeError(`unknown schema type ${String(type satisfies never)}`);
  }
}

/** A message's compiled codecs for every version of its range, typed by its schema. */
export class MessageCodec<V> {
  readonly schema: MessageSchema;
  readonly #codecs: Codec[] = [];

  constructor(schema: MessageSchema) {
    this.schema = schema;
    for (let version = schema.versionMin; version <= schema.versionMax; version++) {
      const flexible = version >= schema.flexibleVersionMin;
      this.#codecs[version] = compileType(schema.body, version, flexible);
    }
  }

  #codec(version: number): Codec {
    const codec = this.#codecs[version];
    if (codec === undefined) {
      throw new KafkaEncodeError(
        `${this.schema.apiName} ${this.schema.direction} v${version} is outside ` +
          `v${this.schema.versionMin}-${this.schema.versionMax}`,
      );
    }
    return codec;
  }

  isFlexible(version: number): boolean {
    return version >= this.schema.flexibleVersionMin;
  }

  /** Decodes a body from the reader's position; throws only KafkaDecodeError. */
  decode(reader: KafkaReader, version: number): V {
    const codec = this.#codecs[version];
    if (codec === undefined) {
      throw new KafkaDecodeError(
        `${this.schema.apiName} ${this.schema.direction}`,
        reader.position,
        `version ${version} is outside v${this.schema.versionMin}-${this.schema.versionMax}`,
      );
    }
    return codec.read(reader) as V;
  }

  bodyBytes(value: V, version: number): number {
    return this.#codec(version).size(value);
  }

  /** Writes the body at the writer's position; the caller reserved `bodyBytes` for it. */
  writeBody(writer: KafkaWriter, value: V, version: number): void {
    this.#codec(version).write(writer, value);
  }

  /** Encodes the body alone into the writer; the view is valid until the writer's next begin. */
  encode(writer: KafkaWriter, value: V, version: number): Buffer {
    const codec = this.#codec(version);
    writer.begin(codec.size(value));
    codec.write(writer, value);
    return writer.finish();
  }
}

/** Builds the typed codec of a message schema. */
export function messageCodec<M extends MessageSchema>(
  schema: M,
): MessageCodec<M extends MessageSchema<infer F> ? ValueOf<StructType<F>> : never> {
  return new MessageCodec(schema);
}
