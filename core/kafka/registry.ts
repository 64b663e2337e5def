/**
 * The Kafka API registry and the frame headers around every message. It sits between the
 * framing (framing.ts) and the per-API codecs (api/NN-name.ts): the gateway reads a request
 * header here, asks `requestDisposition` what to do with it, decodes the body with the API's
 * codec and writes the response frame with `encodeResponseFrame`.
 *
 * Invariants: the ApiVersions reply is built once from this table, so what x2 advertises
 * cannot drift from the codecs it has. Every advertised version above the implemented range
 * is never advertised; the one deliberate exception is Produce 0-2, advertised because
 * librdkafka 2.0.2 disables compression unless 0 is in range, and answered with
 * UNSUPPORTED_VERSION per partition. Request header: v1 (client_id as a classic nullable
 * string) and, for flexible versions, v2 (plus tagged fields). Response header: v0, and v1
 * (plus tagged fields) for flexible versions, except ApiVersions which always uses v0.
 * SaslHandshake and SaslAuthenticate are decoded like any API but advertised only by a SASL
 * listener (`apiVersionsResponse(true)`): a client that sees them may try to authenticate.
 */
import { produce } from './api/00-produce.ts';
import { fetch } from './api/01-fetch.ts';
import { listOffsets } from './api/02-list-offsets.ts';
import { metadata } from './api/03-metadata.ts';
import { offsetCommit } from './api/08-offset-commit.ts';
import { offsetFetch } from './api/09-offset-fetch.ts';
import { findCoordinator } from './api/10-find-coordinator.ts';
import { joinGroup } from './api/11-join-group.ts';
import { heartbeat } from './api/12-heartbeat.ts';
import { leaveGroup } from './api/13-leave-group.ts';
import { syncGroup } from './api/14-sync-group.ts';
import { describeGroups } from './api/15-describe-groups.ts';
import { listGroups } from './api/16-list-groups.ts';
import { saslHandshake } from './api/17-sasl-handshake.ts';
import { apiVersions, type ApiVersionsResponse } from './api/18-api-versions.ts';
import { createTopics } from './api/19-create-topics.ts';
import { deleteTopics } from './api/20-delete-topics.ts';
import { deleteRecords } from './api/21-delete-records.ts';
import { initProducerId } from './api/22-init-producer-id.ts';
import { describeConfigs } from './api/32-describe-configs.ts';
import { saslAuthenticate } from './api/36-sasl-authenticate.ts';
import { alterConfigs } from './api/33-alter-configs.ts';
import { createPartitions } from './api/37-create-partitions.ts';
import { deleteGroups } from './api/42-delete-groups.ts';
import { incrementalAlterConfigs } from './api/44-incremental-alter-configs.ts';
import type { ApiDefinition } from './codec/define-api.ts';
import type { KafkaReader } from './codec/reader.ts';
import type { KafkaWriter } from './codec/writer.ts';
import { KAFKA_ERROR } from './kafka-errors.ts';

export type RegistryEntry = {
  readonly api: ApiDefinition<unknown, unknown>;
  /** Advertised in ApiVersions. */
  readonly versionMin: number;
  readonly versionMax: number;
  /** Served for real; versions advertised outside it get UNSUPPORTED_VERSION replies. */
  readonly implementedMin: number;
  readonly implementedMax: number;
  /** Advertised only by a SASL listener. */
  readonly saslOnly: boolean;
};

function entry<Q, S>(api: ApiDefinition<Q, S>, options: { saslOnly?: boolean } = {}): RegistryEntry {
  return {
    api: api as unknown as ApiDefinition<unknown, unknown>,
    versionMin: api.versionMin,
    versionMax: api.versionMax,
    implementedMin: api.versionMin,
    implementedMax: api.versionMax,
    saslOnly: options.saslOnly ?? false,
  };
}

/** Produce: codecs 0-7 (so 0-2 can be answered), implemented 3-7 (magic-2 batches only). */
const PRODUCE_ENTRY: RegistryEntry = { ...entry(produce), implementedMin: 3 };

export const REGISTRY: readonly RegistryEntry[] = [
  PRODUCE_ENTRY,
  entry(fetch),
  entry(listOffsets),
  entry(metadata),
  entry(offsetCommit),
  entry(offsetFetch),
  entry(findCoordinator),
  entry(joinGroup),
  entry(heartbeat),
  entry(leaveGroup),
  entry(syncGroup),
  entry(describeGroups),
  entry(listGroups),
  entry(saslHandshake, { saslOnly: true }),
  entry(apiVersions),
  entry(createTopics),
  entry(deleteTopics),
  entry(deleteRecords),
  entry(initProducerId),
  entry(describeConfigs),
  entry(alterConfigs),
  entry(saslAuthenticate, { saslOnly: true }),
  entry(createPartitions),
  entry(deleteGroups),
  entry(incrementalAlterConfigs),
];

const BY_KEY: (RegistryEntry | undefined)[] = [];
for (const registered of REGISTRY) BY_KEY[registered.api.apiKey] = registered;

export function lookupApi(apiKey: number): RegistryEntry | undefined {
  return apiKey >= 0 ? BY_KEY[apiKey] : undefined;
}

function buildApiVersionsResponse(withSasl: boolean): Readonly<ApiVersionsResponse> {
  return Object.freeze({
    errorCode: KAFKA_ERROR.NONE,
    apiKeys: Object.freeze(
      REGISTRY.filter((registered) => withSasl || !registered.saslOnly)
        .sort((a, b) => a.api.apiKey - b.api.apiKey)
        .map((registered) =>
          Object.freeze({
            apiKey: registered.api.apiKey,
            minVersion: registered.versionMin,
            maxVersion: registered.versionMax,
          }),
        ),
    ) as ApiVersionsResponse['apiKeys'],
    throttleTimeMs: 0,
  });
}

/** The ApiVersions answer body of a listener without SASL, built once from the table, sorted by key; frozen. */
export const API_VERSIONS_RESPONSE: Readonly<ApiVersionsResponse> = buildApiVersionsResponse(false);
/** The same with SaslHandshake and SaslAuthenticate, for a SASL listener. */
export const API_VERSIONS_RESPONSE_SASL: Readonly<ApiVersionsResponse> = buildApiVersionsResponse(true);

export function apiVersionsResponse(withSasl: boolean): Readonly<ApiVersionsResponse> {
  return withSasl ? API_VERSIONS_RESPONSE_SASL : API_VERSIONS_RESPONSE;
}

/** A parsed request header; one object is reused per connection. */
export class RequestHeader {
  apiKey = 0;
  apiVersion = 0;
  correlationId = 0;
  clientId: string | null = null;
}

/**
 * Reads a request header (v1, or v2 when the API's version is flexible) from the start of a
 * frame, leaving the reader at the body. Throws KafkaDecodeError on a short header. For an
 * unknown API key the header is read as v1; the caller closes the connection anyway.
 */
export function readRequestHeader(reader: KafkaReader, header: RequestHeader): void {
  header.apiKey = reader.readInt16();
  header.apiVersion = reader.readInt16();
  header.correlationId = reader.readInt32();
  header.clientId = reader.readNullableString();
  const registered = lookupApi(header.apiKey);
  if (registered !== undefined && header.apiVersion >= registered.api.flexibleVersionMin) {
    reader.skipTaggedFields();
  }
}

/**
 * What the gateway does with a request, by (key, version):
 *
 * | key known | version                        | disposition                  |
 * |-----------|--------------------------------|------------------------------|
 * | no        | any                            | close-unknown-api            |
 * | 18        | outside 0-3                    | api-versions-fallback (v0)   |
 * | yes       | implemented                    | serve                        |
 * | yes       | advertised, not served         | unsupported-version-reply    |
 * | yes       | not advertised                 | close-unsupported-version    |
 */
export type RequestDisposition =
  | 'serve'
  | 'api-versions-fallback'
  | 'unsupported-version-reply'
  | 'close-unknown-api'
  | 'close-unsupported-version';

export function requestDisposition(apiKey: number, apiVersion: number): RequestDisposition {
  const registered = lookupApi(apiKey);
  if (registered === undefined) return 'close-unknown-api';
  const { implementedMin, implementedMax } = registered;
  if (apiVersion >= implementedMin && apiVersion <= implementedMax) return 'serve';
  if (apiKey === apiVersions.apiKey) return 'api-versions-fallback';
  if (apiVersion >= registered.versionMin && apiVersion <= registered.versionMax) {
    return 'unsupported-version-reply';
  }
  return 'close-unsupported-version';
}

function responseHeaderIsFlexible(api: ApiDefinition<unknown, unknown>, version: number): boolean {
  return api.apiKey !== apiVersions.apiKey && version >= api.flexibleVersionMin;
}

/**
 * Writes one whole response frame (size, header, body) into the writer and returns its view,
 * valid until the writer's next begin. Sizes are computed first; the body is written once.
 */
export function encodeResponseFrame<Q, S>(
  writer: KafkaWriter,
  api: ApiDefinition<Q, S>,
  version: number,
  correlationId: number,
  body: S,
): Buffer {
  const flexibleHeader = responseHeaderIsFlexible(api as ApiDefinition<unknown, unknown>, version);
  const headerBytes = flexibleHeader ? 5 : 4;
  const bodyBytes = api.response.bodyBytes(body, version);
  writer.begin(4 + headerBytes + bodyBytes);
  writer.writeInt32(headerBytes + bodyBytes);
  writer.writeInt32(correlationId);
  if (flexibleHeader) writer.writeUVarint(0);
  api.response.writeBody(writer, body, version);
  return writer.finish();
}

/**
 * The same frame as encodeResponseFrame, as a list of views for one gathered socket write:
 * record data of at least `gatherBytesMin` bytes (Fetch batches) is referenced, not copied.
 * Views of the writer's buffer stay valid until its next begin; see KafkaWriter.beginGather.
 */
export function encodeResponseFrameGather<Q, S>(
  writer: KafkaWriter,
  api: ApiDefinition<Q, S>,
  version: number,
  correlationId: number,
  body: S,
  gatherBytesMin: number,
): Buffer[] {
  const flexibleHeader = responseHeaderIsFlexible(api as ApiDefinition<unknown, unknown>, version);
  const headerBytes = flexibleHeader ? 5 : 4;
  const bodyBytes = api.response.bodyBytes(body, version);
  writer.beginGather(4 + headerBytes + bodyBytes, gatherBytesMin);
  writer.writeInt32(headerBytes + bodyBytes);
  writer.writeInt32(correlationId);
  if (flexibleHeader) writer.writeUVarint(0);
  api.response.writeBody(writer, body, version);
  return writer.finishGather();
}

/** Writes one whole request frame; used by tests, tools and x2's own Kafka client paths. */
export function encodeRequestFrame<Q, S>(
  writer: KafkaWriter,
  api: ApiDefinition<Q, S>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Q,
): Buffer {
  const flexibleHeader = version >= api.flexibleVersionMin;
  const clientIdBytes = clientId === null ? 0 : Buffer.byteLength(clientId, 'utf8');
  const headerBytes = 10 + clientIdBytes + (flexibleHeader ? 1 : 0);
  const bodyBytes = api.request.bodyBytes(body, version);
  writer.begin(4 + headerBytes + bodyBytes);
  writer.writeInt32(headerBytes + bodyBytes);
  writer.writeInt16(api.apiKey);
  writer.writeInt16(version);
  writer.writeInt32(correlationId);
  if (clientId === null) writer.writeInt16(-1);
  else {
    writer.writeInt16(clientIdBytes);
    writer.writeUtf8(clientId, clientIdBytes);
  }
  if (flexibleHeader) writer.writeUVarint(0);
  api.request.writeBody(writer, body, version);
  return writer.finish();
}

const API_VERSIONS_FALLBACK: ApiVersionsResponse = {
  errorCode: KAFKA_ERROR.UNSUPPORTED_VERSION,
  apiKeys: [
    {
      apiKey: apiVersions.apiKey,
      minVersion: apiVersions.versionMin,
      maxVersion: apiVersions.versionMax,
    },
  ],
  throttleTimeMs: 0,
};

/**
 * The reply to an ApiVersions version x2 does not know: header v0 and a v0 body holding
 * UNSUPPORTED_VERSION (35) and the key-18 range, so Java and librdkafka negotiate down
 * instead of assuming an ancient broker (which a closed connection would make them do).
 */
export function encodeApiVersionsFallback(writer: KafkaWriter, correlationId: number): Buffer {
  return encodeResponseFrame(writer, apiVersions, 0, correlationId, API_VERSIONS_FALLBACK);
}
