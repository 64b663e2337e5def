/**
 * ApiVersions (key 18), versions 0-3. The first request of librdkafka and Java clients
 * (v3), and of kafkajs (v2, falling back to v1 and v0); kafka-python sends v0.
 * - v1 adds throttle_time_ms, last in the response.
 * - v3 is flexible: the request carries the client's software name and version as compact
 *   strings; the response gains tagged fields (x2 writes none).
 * - The response header is always v0, even for v3 (KIP-511): see registry.ts.
 * - An unknown (newer) version is answered in the v0 layout with UNSUPPORTED_VERSION and the
 *   key-18 range, never with a closed connection (registry.ts `encodeApiVersionsFallback`).
 */
import { defineApi, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const apiVersions = defineApi({
  apiKey: 18,
  name: 'ApiVersions',
  versionMin: 0,
  versionMax: 3,
  flexibleVersionMin: 3,
  request: {
    clientSoftwareName: field('string', { min: 3 }),
    clientSoftwareVersion: field('string', { min: 3 }),
  },
  response: {
    errorCode: field('int16'),
    apiKeys: field(
      array(
        struct({
          apiKey: field('int16'),
          minVersion: field('int16'),
          maxVersion: field('int16'),
        }),
      ),
    ),
    throttleTimeMs: field('int32', { min: 1 }),
  },
});

export type ApiVersionsRequest = RequestOf<typeof apiVersions>;
export type ApiVersionsResponse = ResponseOf<typeof apiVersions>;
