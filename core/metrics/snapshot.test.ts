/**
 * The snapshot format of `__x2_metrics`. Goal: what a node writes is what top reads, and bad
 * bytes are refused with an error that names the problem. Method: fast-check round trips of
 * random snapshots (seed printed), and hand-made bad values (version, type, size).
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { sampleCluster } from '../../test/top/sample-cluster.ts';
import {
  decodeSnapshot, emptySnapshot, encodeSnapshot, ROLES, SNAPSHOT_VERSION, type NodeSnapshot,
} from './snapshot.ts';

// msgpack writes -0 as the integer 0; a figure's sign of zero carries no meaning.
const noNegativeZero = (x: number): number => (Object.is(x, -0) ? 0 : x);
const figure = fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }).map(noNegativeZero);
const name = fc.string({ minLength: 1, maxLength: 40 });
const snapshotArbitrary: fc.Arbitrary<NodeSnapshot> = fc.record({
  role: fc.constantFrom(...ROLES), nodeId: name, host: name, state: name, river: name,
  atMs: figure, cpuPercent: figure, lastSeq: fc.nat(), committedSeq: fc.nat(), naksTotal: fc.nat(),
  topics: fc.array(fc.record({ name, partitions: fc.nat(10_000), highWatermark: fc.nat(), sizeBytes: fc.nat(),
    msgsPerSec: figure, bytesPerSec: figure }), { maxLength: 5 }),
  groups: fc.array(fc.record({ groupId: name, state: name, members: fc.nat(100), lagRecords: fc.nat(),
    partitions: fc.array(fc.record({ topic: name, partition: fc.nat(100), committedOffset: fc.nat(),
      highWatermark: fc.nat(), lagRecords: fc.nat(), lagSeconds: fc.double({ min: -1, max: 1e6, noNaN: true })
        .map(noNegativeZero) }),
    { maxLength: 4 }), partitionsOmitted: fc.nat() }), { maxLength: 3 }),
  sidecar: fc.option(fc.record({ group: name, members: fc.nat(1000), ownedStreams: fc.nat(10_000),
    lagRecords: fc.nat(), claimsTotal: fc.nat(), fencedAppendsTotal: fc.nat() }), { nil: null }),
  latency: fc.option(fc.record({ what: fc.constantFrom('Produce', 'write', 'append→commit'), count: fc.nat(),
    p50Ms: figure, p99Ms: figure, maxBucketMs: fc.constantFrom(-1, 0.2, 5000), meanMs: figure }), { nil: null }),
}).map((fields) => ({ ...emptySnapshot(fields.role, fields.nodeId), ...fields }));

describe('snapshot format', () => {
  it('round-trips random snapshots', () => {
    const seed = testSeed('snapshot round trip');
    fc.assert(fc.property(snapshotArbitrary, (snapshot) => {
      expect(decodeSnapshot(encodeSnapshot(snapshot))).toEqual(snapshot);
    }), { seed, numRuns: 300 });
  });

  it('round-trips a whole sample cluster and starts with the version byte', () => {
    for (const snapshot of sampleCluster()) {
      const bytes = encodeSnapshot(snapshot);
      expect(bytes[0]).toBe(SNAPSHOT_VERSION);
      expect(decodeSnapshot(bytes)).toEqual(snapshot);
    }
  });

  it('reads a snapshot of an x2 from before sidecar groups and latency (no such fields) as null', () => {
    const { sidecar, latency, ...older } = { ...emptySnapshot('sidecar', 'sidecar-f-1-ab'), msgsInPerSec: 5 };
    expect([sidecar, latency]).toEqual([null, null]);
    const decoded = decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(older)]));
    expect(decoded).toEqual({ ...older, sidecar: null, latency: null });
  });

  it('round-trips a latency figure, and a snapshot without one', () => {
    const latency = { what: 'append→commit', count: 412, p50Ms: 0.35, p99Ms: 1.9, maxBucketMs: -1, meanMs: 0.41 };
    const withLatency = { ...emptySnapshot('sequencer', 'sequencer'), latency };
    expect(decodeSnapshot(encodeSnapshot(withLatency)).latency).toEqual(latency);
    const { latency: none, ...without } = emptySnapshot('gateway', 'gateway-0');
    expect(none).toBeNull();
    expect(decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(without)])).latency).toBeNull();
  });

  it('refuses a latency figure of the wrong type, naming it', () => {
    const latency = { what: 'Produce', count: 3, p50Ms: 1, p99Ms: '2ms', maxBucketMs: 2, meanMs: 1 };
    const bad = { ...emptySnapshot('gateway', 'gateway-0'), latency };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(bad)])))
      .toThrow(expect.objectContaining({ code: 'X2_ERR_FORMAT',
        message: expect.stringMatching(/field latency\.p99Ms is "2ms", a finite number is allowed/) }));
    const notMap = { ...emptySnapshot('gateway', 'gateway-0'), latency: [1, 2] };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(notMap)])))
      .toThrow(/field latency is 1,2, a map or nil is allowed/);
    const noWhat = { ...emptySnapshot('commit', 'commit-1'), latency: { ...latency, p99Ms: 2, what: 5 } };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(noWhat)])))
      .toThrow(/field latency\.what is 5, a string is allowed/);
  });

  it('refuses a sidecar figure of the wrong type, naming it', () => {
    const sidecar = { group: 'f', members: 2, ownedStreams: 'two', lagRecords: 0, claimsTotal: 0,
      fencedAppendsTotal: 0 };
    const bad = { ...emptySnapshot('sidecar', 'sidecar-f-1-ab'), sidecar };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(bad)])))
      .toThrow(/field sidecar\.ownedStreams is "two", a finite number is allowed/);
    const notMap = { ...emptySnapshot('sidecar', 'sidecar-f-1-ab'), sidecar: 7 };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(notMap)])))
      .toThrow(/field sidecar is 7, a map or nil is allowed/);
  });

  it('refuses an unknown version, naming it', () => {
    const bytes = encodeSnapshot(emptySnapshot('commit', 'commit-1'));
    bytes[0] = 9;
    expect(() => decodeSnapshot(bytes)).toThrow(/format version 9 is unknown, this x2 reads 1/);
  });

  it('refuses a field of the wrong type, naming the field', () => {
    const bad = { ...emptySnapshot('gateway', 'gateway-0'), lastSeq: 'many' };
    const bytes = Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(bad)]);
    expect(() => decodeSnapshot(bytes)).toThrow(/field lastSeq is "many", a finite number is allowed/);
    const badTopic = { ...emptySnapshot('gateway', 'gateway-0'), topics: [{ name: 7 }] };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(badTopic)])))
      .toThrow(/field topics\[0\]\.name is 7/);
  });

  it('refuses an unknown role, truncated bytes and a body that is not a map', () => {
    const role = { ...emptySnapshot('gateway', 'gateway-0'), role: 'broker' };
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack(role)])))
      .toThrow(/field role is "broker", sequencer, commit, gateway, sidecar is allowed/);
    expect(() => decodeSnapshot(Buffer.from([SNAPSHOT_VERSION]))).toThrow(/too short/);
    expect(() => decodeSnapshot(Buffer.concat([Buffer.from([SNAPSHOT_VERSION]), pack([1, 2])])))
      .toThrow(/a map is allowed/);
    const full = encodeSnapshot(sampleCluster()[3]!);
    expect(() => decodeSnapshot(full.subarray(0, full.length - 10))).toThrow(/X2_ERR_FORMAT|msgpack|field/);
  });
});
