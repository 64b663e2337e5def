/**
 * History reads: batches of one stream that are no longer in the live-tail cache, read from a
 * commit over its peer link (PeerClient, reads by seq). The gateway's StreamLog index gives the
 * seq of every batch, so a read asks for exactly the seqs it needs; entries of other streams
 * that come along in the same answer are skipped.
 *
 * Bounds: one read returns at most `bytesMax` of batches (but always at least one, as Kafka's
 * Fetch must); each peer request asks for at most HISTORY_REQUEST_BYTES_MAX. One PeerClient per
 * commit, reopened after a failure; a failing commit is skipped for the next one.
 */
import type { Log } from '../../base/log.ts';
import { PeerClient } from '../../river/peer-client.ts';
import type { StreamLog } from './stream-log.ts';

export const HISTORY_REQUEST_BYTES_MAX = 1024 * 1024;

export class HistoryReader {
  readonly #peers: () => readonly string[];
  readonly #log: Log;
  readonly #clients = new Map<string, PeerClient>();
  reads = 0;

  constructor(peers: () => readonly string[], log: Log) {
    this.#peers = peers;
    this.#log = log;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  /** Whole batches of `log` from its batch number `fromBatch` on, up to `bytesMax`. */
  async read(log: StreamLog, fromBatch: number, bytesMax: number): Promise<Buffer[]> {
    const peers = this.#peers();
    let lastError: unknown = new Error('no commit is known to read history from');
    for (const peer of peers) {
      try {
        return await this.#readFrom(peer, log, fromBatch, bytesMax);
      } catch (error) {
        lastError = error;
        this.#clients.get(peer)?.close();
        this.#clients.delete(peer);
        this.#log.limited('warn', `history-${peer}`, `history read from ${peer} failed: ${String(error)}`);
      }
    }
    throw lastError;
  }

  async #readFrom(peer: string, log: StreamLog, fromBatch: number, bytesMax: number): Promise<Buffer[]> {
    let client = this.#clients.get(peer);
    if (client === undefined) {
      client = new PeerClient(peer);
      this.#clients.set(peer, client);
    }
    const batches: Buffer[] = [];
    let bytes = 0;
    let batchIndex = fromBatch;
    while (batchIndex < log.batchCount && (batches.length === 0 || bytes < bytesMax)) {
      const wantedSeq = log.seqOf(batchIndex);
      this.reads += 1;
      const entries = await client.readBySeq(wantedSeq, Math.min(HISTORY_REQUEST_BYTES_MAX, Math.max(1,
        bytesMax - bytes)));
      if (entries.length === 0 || entries[0]!.seq !== wantedSeq) {
        throw new Error(`commit ${peer} does not hold seq ${wantedSeq}`);
      }
      for (const entry of entries) {
        if (batchIndex >= log.batchCount || entry.seq > log.seqOf(batchIndex)) break;
        if (entry.seq !== log.seqOf(batchIndex) || entry.streamId !== log.streamId) continue;
        if (batches.length > 0 && bytes + entry.batch.length > bytesMax) return batches;
        const batch = Buffer.from(entry.batch.buffer, entry.batch.byteOffset, entry.batch.length);
        batches.push(batch);
        bytes += batch.length;
        batchIndex += 1;
      }
    }
    return batches;
  }
}
