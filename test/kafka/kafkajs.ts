/**
 * Test helper: typed access to kafkajs 2.2.4's own protocol encoders and decoders (a second,
 * independent implementation of the Kafka protocol) for the cross-implementation tests.
 * Only kafkajs's published CommonJS sources are loaded; nothing of it is copied here.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type KafkajsRequest = {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
};
export type KafkajsResponse = {
  decode(payload: Buffer): Promise<unknown>;
  parse(decoded: unknown): Promise<unknown>;
};
type Frame = { buffer: Buffer };

const encodeFrame = require('kafkajs/src/protocol/request') as (options: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<Frame>;

export function kafkajsRequest(
  api: string,
  version: number,
): (args: Record<string, unknown>) => KafkajsRequest {
  return require(`kafkajs/src/protocol/requests/${api}/v${version}/request`) as (
    args: Record<string, unknown>,
  ) => KafkajsRequest;
}

/** kafkajs's response decoder; a few (DeleteRecords) are factories of the request's arguments. */
export function kafkajsResponse(
  api: string,
  version: number,
  requestArgs: Record<string, unknown> = {},
): KafkajsResponse {
  const loaded = require(`kafkajs/src/protocol/requests/${api}/v${version}/response`) as
    | KafkajsResponse
    | ((args: Record<string, unknown>) => KafkajsResponse);
  return typeof loaded === 'function' ? loaded(requestArgs) : loaded;
}

/** A whole request frame (size, header v1, body) as kafkajs puts it on the wire. */
export async function kafkajsRequestFrame(
  request: KafkajsRequest,
  correlationId: number,
  clientId: string,
): Promise<Buffer> {
  return (await encodeFrame({ correlationId, clientId, request })).buffer;
}

export const kafkajsRecordBatch = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(options: Record<string, unknown>): Promise<{ buffer: Buffer }>;
};
export const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
}) => unknown;
export const kafkajsCompression = (
  require('kafkajs/src/protocol/message/compression') as { Types: Record<string, number> }
).Types;
