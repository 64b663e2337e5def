/**
 * defineApi: one Kafka API (key, name, version range, first flexible version) with its request
 * and response schemas, compiled once into typed codecs. Every `api/NN-name.ts` file is one
 * call of it; registry.ts collects them. The codec range may be wider than what the gateway
 * implements (Produce 0-2 are decodable so they can be answered with UNSUPPORTED_VERSION);
 * the registry holds the implemented and advertised ranges.
 */
import { MessageCodec } from './compile.ts';
import type { Fields, StructType, ValueOf } from './schema.ts';
import { struct } from './schema.ts';

export type ApiDefinition<Q, S> = {
  readonly apiKey: number;
  readonly name: string;
  readonly versionMin: number;
  readonly versionMax: number;
  /** First flexible version; Number.MAX_SAFE_INTEGER when none of our range is flexible. */
  readonly flexibleVersionMin: number;
  readonly request: MessageCodec<Q>;
  readonly response: MessageCodec<S>;
};

export const NEVER_FLEXIBLE = Number.MAX_SAFE_INTEGER;

export function defineApi<QF extends Fields, SF extends Fields>(spec: {
  apiKey: number;
  name: string;
  versionMin: number;
  versionMax: number;
  flexibleVersionMin: number;
  request: QF;
  response: SF;
}): ApiDefinition<ValueOf<StructType<QF>>, ValueOf<StructType<SF>>> {
  const common = {
    apiKey: spec.apiKey,
    apiName: spec.name,
    versionMin: spec.versionMin,
    versionMax: spec.versionMax,
    flexibleVersionMin: spec.flexibleVersionMin,
  };
  return {
    apiKey: spec.apiKey,
    name: spec.name,
    versionMin: spec.versionMin,
    versionMax: spec.versionMax,
    flexibleVersionMin: spec.flexibleVersionMin,
    request: new MessageCodec({ ...common, direction: 'request', body: struct(spec.request) }),
    response: new MessageCodec({ ...common, direction: 'response', body: struct(spec.response) }),
  };
}

export type RequestOf<A> = A extends ApiDefinition<infer Q, unknown> ? Q : never;
export type ResponseOf<A> = A extends ApiDefinition<unknown, infer S> ? S : never;
