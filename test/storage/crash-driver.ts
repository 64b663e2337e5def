/**
 * Child process of the storage crash test (bundled once with esbuild, run with Node 24): opens
 * a store, checks that everything the parent saw reported durable reads back identical, then
 * appends deterministic entries (content is a function of seq and offset) and prints each
 * durable seq until it is killed with SIGKILL or has appended its quota.
 *
 * argv: dir durableSeqMin checkFromSeq appendCount seed
 * stdout lines: "R lastSeq durableSeq checked" after the check, "D seq" per durable
 * notification, "C" after a clean close, "F message" on a failed check (exit 1).
 */
import { X2Error } from '../../core/base/errors.ts';
import { Store } from '../../core/storage/store.ts';
import { syntheticBatch } from '../../core/storage/synthetic-batch.ts';

const STREAMS = 5;

type Expected = { streamId: number; recordCount: number; bytes: number; timestampMs: number };

export function expectedFields(seq: number): Expected {
  const mixed = Math.imul(seq, 2654435761) >>> 0;
  return { streamId: mixed % STREAMS, recordCount: 1 + (mixed >>> 8) % 3, bytes: 120 + (mixed >>> 12) % 400,
    timestampMs: 1_700_000_000_000 + seq };
}

export function expectedBatch(seq: number, baseOffset: number): Buffer {
  const f = expectedFields(seq);
  return syntheticBatch({ baseOffset, recordCount: f.recordCount, baseTimestampMs: f.timestampMs,
    maxTimestampMs: f.timestampMs, bytes: f.bytes, fill: seq });
}

function fail(message: string): never {
  process.stdout.write(`F ${message}\n`);
  process.exit(1);
}

/** Reads seq >= fromSeq back and compares with the deterministic content; returns entries checked. */
async function check(store: Store, durableSeqMin: number, fromSeq: number): Promise<number> {
  if (store.lastSeq < durableSeqMin) fail(`lastSeq ${store.lastSeq} below the reported durable seq ${durableSeqMin}`);
  let next = Math.max(1, fromSeq);
  const firstOffsets = new Map<number, { offset: number; batches: Buffer[] }>();
  const nextOffsets = new Map<number, number>();
  while (next <= store.lastSeq) {
    const entries = await store.readBySeq(next, 256 * 1024);
    if (entries.length === 0) fail(`readBySeq(${next}) returned nothing below lastSeq ${store.lastSeq}`);
    for (const entry of entries) {
      if (entry.seq !== next) fail(`expected seq ${next}, got ${entry.seq}`);
      const f = expectedFields(entry.seq);
      if (entry.streamId !== f.streamId || entry.recordCount !== f.recordCount) fail(`seq ${entry.seq}: wrong header`);
      if (!entry.batch.equals(expectedBatch(entry.seq, entry.baseOffset))) fail(`seq ${entry.seq}: bytes differ`);
      const expectedOffset = nextOffsets.get(entry.streamId);
      if (expectedOffset !== undefined && expectedOffset !== entry.baseOffset) {
        fail(`seq ${entry.seq}: stream ${entry.streamId} offset ${entry.baseOffset} does not follow ${expectedOffset}`);
      }
      nextOffsets.set(entry.streamId, entry.baseOffset + entry.recordCount);
      const first = firstOffsets.get(entry.streamId);
      if (first === undefined) firstOffsets.set(entry.streamId, { offset: entry.baseOffset, batches: [entry.batch] });
      else if (first.batches.length < 50) first.batches.push(entry.batch);
      next += 1;
    }
  }
  for (const [streamId, first] of firstOffsets) {
    const batches = await store.read(streamId, first.offset, 1 << 30);
    for (let i = 0; i < first.batches.length; i++) {
      if (!batches[i]?.equals(first.batches[i]!)) {
        fail(`stream ${streamId} read from ${first.offset}: batch ${i} differs`);
      }
    }
  }
  return next - Math.max(1, fromSeq);
}

async function main(): Promise<void> {
  const [dir, durableText, fromText, countText, seedText] = process.argv.slice(2);
  if (dir === undefined) fail('usage: crash-driver dir durableSeqMin checkFromSeq appendCount seed');
  const store = await Store.open({ dir, sync: { kind: 'entry-set' }, segmentBytesMax: 64 * 1024,
    writeBufferBytes: 32 * 1024, indexLagMsMax: 3 });
  const checked = await check(store, Number(durableText), Number(fromText));
  process.stdout.write(`R ${store.lastSeq} ${store.durableSeq} ${checked}\n`);
  store.onDurable((seq) => process.stdout.write(`D ${seq}\n`));
  let seed = Number(seedText) >>> 0;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const count = Number(countText);
  for (let appended = 0; appended < count;) {
    const burst = 1 + Math.floor(random() * 20);
    for (let i = 0; i < burst && appended < count; i++) {
      const seq = store.lastSeq + 1;
      const f = expectedFields(seq);
      const baseOffset = store.stream(f.streamId)?.nextOffset ?? 0;
      try {
        store.append({ seq, epoch: 1, streamId: f.streamId, baseOffset, recordCount: f.recordCount,
          batch: expectedBatch(seq, baseOffset) });
        appended += 1;
      } catch (error) {
        if (!(error instanceof X2Error && error.code === 'X2_ERR_STORE_BACKPRESSURE')) throw error;
        await store.sync();
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
  process.stdout.write('C\n');
}

void main();
