/**
 * Test helper: fast-check arbitraries derived from a message schema, so every API and version
 * gets random valid values without hand-written generators. Only the fields present in the
 * version are generated; the decoder fills the others with defaults (tests compare with
 * toMatchObject for that reason).
 */
import fc from 'fast-check';
import type { Field, FieldType, MessageSchema } from '../../core/kafka/codec/schema.ts';

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const bytes = fc.uint8Array({ maxLength: 24 }).map((array) => Buffer.from(array));

export function arbitraryOf(type: FieldType, version: number): fc.Arbitrary<unknown> {
  if (typeof type !== 'string') {
    if (type.kind === 'array') {
      const values = fc.array(arbitraryOf(type.element, version), { maxLength: 3 });
      return type.nullable && version >= type.nullableVersionMin ? fc.option(values, { nil: null }) : values;
    }
    const record: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, spec] of Object.entries(type.fields) as [string, Field][]) {
      if (version >= spec.versionMin && version <= spec.versionMax) record[name] = arbitraryOf(spec.type, version);
    }
    return fc.record(record);
  }
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'int64':
      return fc.maxSafeInteger();
    case 'bool':
      return fc.boolean();
    case 'string':
      return text;
    case 'nullableString':
      return fc.option(text, { nil: null });
    case 'bytes':
      return bytes;
    case 'nullableBytes':
    case 'records':
      return fc.option(bytes, { nil: null });
  }
}

export function arbitraryMessage(schema: MessageSchema, version: number): fc.Arbitrary<unknown> {
  return arbitraryOf(schema.body, version);
}
