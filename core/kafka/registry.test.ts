/**
 * The registry and frame headers: what x2 advertises (ApiVersions built from the table, with
 * the Produce 0-7 exception), the request header v1/v2 rules, the response header v0/v1 rule
 * with its ApiVersions exception, the disposition table for unknown keys and versions, and
 * the v0 fallback reply to an ApiVersions version x2 does not know. Method: bytes written by
 * hand from the protocol description (e.g. librdkafka's ApiVersions v3 request) are parsed,
 * and x2's frames are checked byte by byte.
 */
import { describe, expect, it } from 'vitest';
import { apiVersions } from './api/18-api-versions.ts';
import { heartbeat } from './api/12-heartbeat.ts';
import { fetch } from './api/01-fetch.ts';
import { incrementalAlterConfigs } from './api/44-incremental-alter-configs.ts';
import { KafkaReader } from './codec/reader.ts';
import { KafkaWriter } from './codec/writer.ts';
import { KAFKA_ERROR } from './kafka-errors.ts';
import {
  API_VERSIONS_RESPONSE,
  API_VERSIONS_RESPONSE_SASL,
  encodeApiVersionsFallback,
  encodeRequestFrame,
  encodeResponseFrame,
  encodeResponseFrameGather,
  lookupApi,
  readRequestHeader,
  RequestHeader,
  requestDisposition,
} from './registry.ts';

const writer = new KafkaWriter(1 << 16);

function compactString(text: string): number[] {
  return [text.length + 1, ...Buffer.from(text)];
}

describe('advertised versions', () => {
  it('are exactly the ranges of issue 5, DeleteGroups, AlterConfigs and IncrementalAlterConfigs, sorted by key', () => {
    const ranges = Object.fromEntries(
      API_VERSIONS_RESPONSE.apiKeys.map((entry) => [entry.apiKey, `${entry.minVersion}-${entry.maxVersion}`]),
    );
    expect(ranges).toEqual({
      0: '0-7',
      1: '4-11',
      2: '0-5',
      3: '0-7',
      8: '2-7',
      9: '1-5',
      10: '0-2',
      11: '0-5',
      12: '0-3',
      13: '0-3',
      14: '0-3',
      15: '0-4',
      16: '0-2',
      18: '0-3',
      19: '0-4',
      20: '0-3',
      21: '0-1',
      22: '0-1',
      32: '0-2',
      33: '0-1',
      37: '0-1',
      42: '0-1',
      44: '0-1',
    });
    const keys = API_VERSIONS_RESPONSE.apiKeys.map((entry) => entry.apiKey);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });

  it('a SASL listener adds SaslHandshake 0-1 and SaslAuthenticate 0-2, and only it', () => {
    const ranges = (response: typeof API_VERSIONS_RESPONSE): Map<number, string> => new Map(
      response.apiKeys.map((entry) => [entry.apiKey, `${entry.minVersion}-${entry.maxVersion}`]));
    const plain = ranges(API_VERSIONS_RESPONSE);
    const sasl = ranges(API_VERSIONS_RESPONSE_SASL);
    expect(sasl.get(17)).toBe('0-1');
    expect(sasl.get(36)).toBe('0-2');
    expect(plain.has(17) || plain.has(36)).toBe(false);
    sasl.delete(17);
    sasl.delete(36);
    expect(sasl).toEqual(plain);
    const keys = API_VERSIONS_RESPONSE_SASL.apiKeys.map((entry) => entry.apiKey);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });

  it('Produce is advertised from 0 but implemented from 3', () => {
    expect(lookupApi(0)).toMatchObject({
      versionMin: 0,
      versionMax: 7,
      implementedMin: 3,
      implementedMax: 7,
    });
  });
});

describe('SaslAuthenticate v2 (flexible)', () => {
  it('round-trips a request (header v2, compact bytes) and a response (header v1, int64 lifetime)', async () => {
    const { saslAuthenticate } = await import('./api/36-sasl-authenticate.ts');
    const token = Buffer.from('n,,n=user,r=abc');
    const frame = encodeRequestFrame(writer, saslAuthenticate, 2, 9, 'client', { authBytes: token });
    const reader = new KafkaReader(Buffer.from(frame), 4);
    const header = new RequestHeader();
    readRequestHeader(reader, header);
    expect(header).toMatchObject({ apiKey: 36, apiVersion: 2, correlationId: 9, clientId: 'client' });
    expect(saslAuthenticate.request.decode(reader, 2).authBytes).toEqual(token);
    const body = { errorCode: 58, errorMessage: 'no', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
    const response = Buffer.from(encodeResponseFrame(writer, saslAuthenticate, 2, 9, body));
    expect(response[8]).toBe(0); // the response header's empty tag section
    expect(saslAuthenticate.response.decode(new KafkaReader(response, 9), 2)).toEqual(body);
  });
});

describe('request headers', () => {
  it("reads librdkafka's ApiVersions v3 request: header v2 with tags, compact strings", () => {
    const frame = Buffer.from([
      0,
      18,
      0,
      3,
      0,
      0,
      0,
      9,
      0,
      7,
      ...Buffer.from('rdkafka'),
      0,
      ...compactString('librdkafka'),
      ...compactString('2.0.2'),
      0,
    ]);
    const reader = new KafkaReader(frame);
    const header = new RequestHeader();
    readRequestHeader(reader, header);
    expect(header).toMatchObject({ apiKey: 18, apiVersion: 3, correlationId: 9, clientId: 'rdkafka' });
    expect(apiVersions.request.decode(reader, 3)).toEqual({
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    expect(reader.remainingBytes).toBe(0);
  });

  it('reads a header v1 with a null client id and leaves the reader at the body', () => {
    const frame = Buffer.from(
      encodeRequestFrame(writer, heartbeat, 1, 77, null, {
        groupId: 'g',
        generationId: 2,
        memberId: 'm',
        groupInstanceId: null,
      }),
    );
    const reader = new KafkaReader(frame, 4);
    const header = new RequestHeader();
    readRequestHeader(reader, header);
    expect(header).toMatchObject({ apiKey: 12, apiVersion: 1, correlationId: 77, clientId: null });
    expect(heartbeat.request.decode(reader, 1)).toMatchObject({
      groupId: 'g',
      generationId: 2,
      memberId: 'm',
    });
  });

  it('a short header is a KafkaDecodeError', () => {
    expect(() => readRequestHeader(new KafkaReader(Buffer.from([0, 18, 0])), new RequestHeader())).toThrow(
      /int16/,
    );
  });
});

describe('request disposition', () => {
  it.each([
    [0, 7, 'serve'],
    [0, 3, 'serve'],
    [0, 2, 'unsupported-version-reply'],
    [0, 0, 'unsupported-version-reply'],
    [0, 8, 'close-unsupported-version'],
    [1, 3, 'close-unsupported-version'],
    [18, 3, 'serve'],
    [18, 4, 'api-versions-fallback'],
    [18, -1, 'api-versions-fallback'],
    [23, 0, 'close-unknown-api'],
    [-5, 0, 'close-unknown-api'],
    [999, 0, 'close-unknown-api'],
  ] as const)('key %i v%i -> %s', (apiKey, version, disposition) => {
    expect(requestDisposition(apiKey, version)).toBe(disposition);
  });
});

describe('response frames', () => {
  it('ApiVersions v3 uses header v0 (no tag byte) but a flexible body', () => {
    const frame = encodeResponseFrame(writer, apiVersions, 3, 5, {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
      throttleTimeMs: 0,
    });
    expect([...frame]).toEqual([
      0,
      0,
      0,
      19,
      0,
      0,
      0,
      5, // size, correlation id, no header tags
      0,
      0,
      2, // error, compact array of 1
      0,
      18,
      0,
      0,
      0,
      3,
      0, // key 18, 0-3, entry tags
      0,
      0,
      0,
      0,
      0, // throttle, body tags
    ]);
  });

  it('the fallback for an unknown ApiVersions version is a v0 reply with error 35 and key 18', () => {
    const frame = Buffer.from(encodeApiVersionsFallback(writer, 31));
    expect(frame.readInt32BE(0)).toBe(frame.length - 4);
    expect(frame.readInt32BE(4)).toBe(31);
    const body = apiVersions.response.decode(new KafkaReader(frame, 8), 0);
    expect(body).toMatchObject({
      errorCode: KAFKA_ERROR.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    });
  });

  it('a non-flexible response frame is size, correlation id, body', () => {
    const frame = encodeResponseFrame(writer, heartbeat, 3, 0x01020304, { throttleTimeMs: 0, errorCode: 27 });
    expect([...frame]).toEqual([0, 0, 0, 10, 1, 2, 3, 4, 0, 0, 0, 0, 0, 27]);
  });
});

describe('gathered response frames', () => {
  it('equal the copied frame byte for byte and reference large record data without copying', () => {
    const large = Buffer.alloc(5000, 7);
    const small = Buffer.alloc(10, 9);
    const partition = (partitionIndex: number, records: Buffer) => ({
      partitionIndex,
      errorCode: 0,
      highWatermark: 10,
      lastStableOffset: 10,
      logStartOffset: 0,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    });
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        { topic: 't', partitions: [partition(0, large), partition(1, small), partition(2, large)] },
      ],
    };
    const copied = Buffer.from(encodeResponseFrame(writer, fetch, 11, 3, body));
    const chunks = encodeResponseFrameGather(writer, fetch, 11, 3, body, 4096);
    expect(Buffer.concat(chunks)).toEqual(copied);
    expect(chunks.filter((chunk) => chunk === large)).toHaveLength(2);
    expect(chunks).toHaveLength(4); // own bytes, large, own bytes (incl. small), large
  });
});

describe('api files', () => {
  it('are named by their key and their header states the codec range', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const folder = new URL('./api/', import.meta.url);
    const files = readdirSync(folder).filter(
      (name) => /^\d\d-.*\.ts$/.test(name) && !name.endsWith('.test.ts'),
    );
    expect(files).toHaveLength(25);
    for (const file of files) {
      const apiKey = Number(file.slice(0, 2));
      const registered = lookupApi(apiKey);
      expect(registered, file).toBeDefined();
      const header = readFileSync(new URL(file, folder), 'utf8').split('*/')[0] ?? '';
      const range = `versions ${registered?.api.versionMin}-${registered?.api.versionMax}`;
      expect(header.replace(/\s+\*\s+/g, ' '), file).toContain(range);
    }
  });
});

describe('flexible response headers', () => {
  it('a flexible response of any API but ApiVersions gets header v1 (a tag byte)', async () => {
    const { defineApi } = await import('./codec/define-api.ts');
    const { field } = await import('./codec/schema.ts');
    const flexibleApi = defineApi({
      apiKey: 99,
      name: 'Synthetic',
      versionMin: 0,
      versionMax: 1,
      flexibleVersionMin: 1,
      request: { name: field('string') },
      response: { value: field('int32') },
    });
    expect([...encodeResponseFrame(writer, flexibleApi, 1, 2, { value: 5 })]).toEqual([
      0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0,
    ]);
    expect([...encodeResponseFrame(writer, flexibleApi, 0, 2, { value: 5 })]).toEqual([
      0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 5,
    ]);
    const request = Buffer.from(encodeRequestFrame(writer, flexibleApi, 1, 3, 'c', { name: 'xy' }));
    expect([...request]).toEqual([0, 0, 0, 16, 0, 99, 0, 1, 0, 0, 0, 3, 0, 1, 99, 0, 3, 120, 121, 0]);
  });
});

/**
 * No client installed here speaks IncrementalAlterConfigs, so its frames are written by hand from
 * Kafka's IncrementalAlterConfigsRequest/Response.json (v1 flexible: header v2 / v1, compact
 * strings and arrays as length + 1, a tag byte closing every struct).
 */
describe('IncrementalAlterConfigs frames as Kafka lays them out', () => {
  const request = {
    resources: [{ resourceType: 2, resourceName: 't', configs: [
      { name: 'retention.ms', configOperation: 0, value: '1000' },
      { name: 'cleanup.policy', configOperation: 1, value: null },
    ] }],
    validateOnly: true,
  };
  const int16String = (text: string): number[] => [0, text.length, ...Buffer.from(text)];
  const v0Body = [
    0, 0, 0, 1, 2, ...int16String('t'), 0, 0, 0, 2,
    ...int16String('retention.ms'), 0, ...int16String('1000'),
    ...int16String('cleanup.policy'), 1, 0xff, 0xff,
    1,
  ];
  const v1Body = [
    2, 2, ...compactString('t'), 3,
    ...compactString('retention.ms'), 0, ...compactString('1000'), 0,
    ...compactString('cleanup.policy'), 1, 0, 0,
    0, 1, 0,
  ];
  // Both frames are under 256 bytes: the size is its last byte.
  const frame = (header: readonly number[], body: readonly number[]): number[] =>
    [0, 0, 0, header.length + body.length, ...header, ...body];

  for (const [version, header, body] of [
    [0, [0, 44, 0, 0, 0, 0, 0, 9, ...int16String('c')], v0Body],
    [1, [0, 44, 0, 1, 0, 0, 0, 9, ...int16String('c'), 0], v1Body],
  ] as const) {
    it(`v${version} request: x2 writes these bytes and reads them back`, () => {
      const expected = frame(header, body);
      expect([...encodeRequestFrame(writer, incrementalAlterConfigs, version, 9, 'c', request)]).toEqual(expected);
      const reader = new KafkaReader(Buffer.from(expected.slice(4)));
      const parsed = new RequestHeader();
      readRequestHeader(reader, parsed);
      expect(parsed).toMatchObject({ apiKey: 44, apiVersion: version, correlationId: 9, clientId: 'c' });
      expect(incrementalAlterConfigs.request.decode(reader, version)).toEqual(request);
      expect(reader.remainingBytes).toBe(0);
    });
  }

  it('v1 response: header v1 (a tag byte), compact fields', () => {
    const response = { throttleTimeMs: 0, responses: [
      { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' },
      { errorCode: 40, errorMessage: 'bad', resourceType: 2, resourceName: 'u' },
    ] };
    const body = [
      0, 0, 0, 0, 3,
      0, 0, 0, 2, ...compactString('t'), 0,
      0, 40, ...compactString('bad'), 2, ...compactString('u'), 0,
      0,
    ];
    expect([...encodeResponseFrame(writer, incrementalAlterConfigs, 1, 9, response)])
      .toEqual([0, 0, 0, 5 + body.length, 0, 0, 0, 9, 0, ...body]);
    expect(incrementalAlterConfigs.response.decode(new KafkaReader(Buffer.from(body)), 1)).toEqual(response);
  });
});
