/**
 * The record shapes a sidecar's user logic sees and returns, and the normalisation of what it
 * returns into bytes. Input records are decoded from the river's RecordBatches (key and value as
 * Buffers, decompressed); output records may give key, value and header values as Buffer,
 * Uint8Array or string (UTF-8), or null. Anything else is a user error naming the field.
 *
 * Bounds: an output record's key plus value is at most OUTPUT_RECORD_BYTES_MAX (so one record's
 * outputs fit one append below the sequencer's 8 MiB limit).
 */
import type { RecordHeader } from '../../records/record-batch-writer.ts';

export const OUTPUT_RECORD_BYTES_MAX = 4 * 1024 * 1024;

export type InputRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values by key (the last one wins when a key repeats). */
  headers: Record<string, Buffer | null>;
};

/** A normalised output record; `partition` -1 = by key (murmur2) or round-robin when keyless. */
export type OutputRecord = {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  partition: number;
  timestampMs: number;
};

function bytesOf(field: string, value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`output ${field} must be a Buffer, Uint8Array, string or null, got ${typeof value}`);
}

/** Normalises one returned record; throws TypeError naming the bad field. */
export function toOutputRecord(returned: unknown, input: { timestamp: number }): OutputRecord {
  if (returned === null || typeof returned !== 'object' || Array.isArray(returned) || returned instanceof Uint8Array) {
    throw new TypeError('an output record must be an object {key, value, headers, partition}');
  }
  const fields = returned as Record<string, unknown>;
  const key = bytesOf('key', fields['key']);
  const value = bytesOf('value', fields['value']);
  if ((key?.length ?? 0) + (value?.length ?? 0) > OUTPUT_RECORD_BYTES_MAX) {
    throw new TypeError(`output key + value exceed ${OUTPUT_RECORD_BYTES_MAX} bytes`);
  }
  const headers: RecordHeader[] = [];
  const rawHeaders = fields['headers'];
  if (rawHeaders !== undefined && rawHeaders !== null) {
    if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders)) {
      throw new TypeError('output headers must be an object {name: value}');
    }
    for (const [name, headerValue] of Object.entries(rawHeaders as Record<string, unknown>)) {
      headers.push({ key: name, value: bytesOf(`header ${name}`, headerValue) });
    }
  }
  const partition = fields['partition'];
  const partitionOk = partition === undefined || partition === null
    || (Number.isSafeInteger(partition) && (partition as number) >= 0);
  if (!partitionOk) {
    throw new TypeError(`output partition must be a whole number >= 0, got ${String(partition)}`);
  }
  const timestamp = fields['timestamp'];
  const timestampMs = typeof timestamp === 'number' && Number.isSafeInteger(timestamp) ? timestamp : input.timestamp;
  return { key, value, headers, partition: typeof partition === 'number' ? partition : -1, timestampMs };
}

/** What user logic returned for one input: nothing, one record or an array of records. */
export function toOutputRecords(returned: unknown, input: { timestamp: number }): OutputRecord[] {
  if (returned === undefined || returned === null) return [];
  if (Array.isArray(returned)) return returned.map((one) => toOutputRecord(one, input));
  return [toOutputRecord(returned, input)];
}

/** The input passed through unchanged (the --where filter's output). */
export function passThrough(input: InputRecord): OutputRecord {
  const headers: RecordHeader[] = [];
  for (const [key, value] of Object.entries(input.headers)) headers.push({ key, value });
  return { key: input.key, value: input.value, headers, partition: -1, timestampMs: input.timestamp };
}
