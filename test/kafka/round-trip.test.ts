/**
 * Round trip of every API and version x2 speaks, requests and responses: a random valid value
 * (drawn from the schema itself, seeded, seed printed) is encoded with the compiled codec,
 * decoded back, and must match field for field; re-encoding the decoded value must give the
 * same bytes, and decoding must consume exactly the encoded bytes. Fields absent from a
 * version must decode to their defaults.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaReader } from '../../core/kafka/codec/reader.ts';
import { KafkaWriter } from '../../core/kafka/codec/writer.ts';
import type { MessageCodec } from '../../core/kafka/codec/compile.ts';
import { REGISTRY } from '../../core/kafka/registry.ts';
import { metadata } from '../../core/kafka/api/03-metadata.ts';
import { produce } from '../../core/kafka/api/00-produce.ts';
import { testSeed } from '../harness/seed.ts';
import { arbitraryMessage } from './schema-arbitrary.ts';

const seed = testSeed('kafka round trip');
const writer = new KafkaWriter(1 << 24);

function roundTrip(codec: MessageCodec<unknown>, version: number): void {
  fc.assert(
    fc.property(arbitraryMessage(codec.schema, version), (value) => {
      const encoded = Buffer.from(codec.encode(writer, value, version));
      const reader = new KafkaReader(encoded);
      const decoded = codec.decode(reader, version);
      expect(reader.remainingBytes).toBe(0);
      expect(decoded).toMatchObject(value as object);
      expect(Buffer.from(codec.encode(writer, decoded, version))).toEqual(encoded);
    }),
    { seed, numRuns: 150 },
  );
}

describe('every API and version round-trips', () => {
  for (const { api } of REGISTRY) {
    for (let version = api.versionMin; version <= api.versionMax; version++) {
      it(`${api.name} v${version} request`, () => roundTrip(api.request, version));
      it(`${api.name} v${version} response`, () => roundTrip(api.response, version));
    }
  }
});

describe('fields outside a version', () => {
  it('decode to their defaults and are not written', () => {
    const value = { topics: null, allowAutoTopicCreation: false };
    const encoded = Buffer.from(metadata.request.encode(writer, value, 3));
    expect([...encoded]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(metadata.request.decode(new KafkaReader(encoded), 3)).toEqual({
      topics: null,
      allowAutoTopicCreation: true,
    });
  });

  it('Produce v2 has no transactional id; v3 does', () => {
    const request = { transactionalId: 'tx', acks: -1, timeoutMs: 30_000, topics: [] };
    expect(produce.request.encode(writer, request, 2).length).toBe(2 + 4 + 4);
    expect(produce.request.encode(writer, request, 3).length).toBe(4 + 2 + 4 + 4);
  });

  it('a null array where the version forbids it is refused on both sides', () => {
    expect(() => metadata.request.encode(writer, { topics: null, allowAutoTopicCreation: true }, 0)).toThrow(
      /null is not allowed in version 0/,
    );
    expect(() => metadata.request.decode(new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff])), 0)).toThrow(
      /null is not allowed/,
    );
  });
});
