/**
 * History reads: batches of one stream that are no longer in the live-tail cache, read from a
 * commit over its peer link (PeerClient.readStream: by stream and offset, through the commit's
 * index). The cost of a read follows the batches it returns, not the other streams stored around
 * them; reading the river by seq and skipping other streams' entries cost a peer round trip and
 * a megabyte read per batch with 10,000 topics. Every batch returned is checked against the
 * gateway's StreamLog (its seq), so a commit that holds something else is never served.
 *
 * Bounds: one read returns at most `bytesMax` of batches (but always at least one, as Kafka's
 * Fetch must); each peer request asks for at most HISTORY_REQUEST_BYTES_MAX. One PeerClient per
 * commit, reopened once its link breaks. Each stream starts at its own commit (by stream id), so the
 * commits share the reads; a failing commit (or one that does not hold the batch yet) is skipped
 * for the next one.
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
    // Streams start at different commits, so the commits share the reads of many partitions.
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(log.streamId + i) % peers.length]!;
      try {
        return await this.#readFrom(peer, log, fromBatch, bytesMax);
      } catch (error) {
        lastError = error;
        // Only a broken link is replaced: a commit's refusal, or one that does not hold the batch
        // yet, leaves the link to the other reads in flight on it (a Fetch runs many at once).
        const client = this.#clients.get(peer);
        if (client?.closed) this.#clients.delete(peer);
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
      const entries = await client.readStream(log.streamId, log.baseOffsetOf(batchIndex),
        Math.min(HISTORY_REQUEST_BYTES_MAX, Math.max(1, bytesMax - bytes)));
      if (entries.length === 0 || entries[0]!.seq !== wantedSeq || entries[0]!.streamId !== log.streamId) {
        if (batches.length > 0) return batches; // the commit's stream ends earlier: serve what it had
        throw new Error(`commit ${peer} does not hold seq ${wantedSeq} (stream ${log.streamId})`);
      }
      for (const entry of entries) {
        // The commit's stream may end earlier (a commit behind the quorum), never differ.
        if (batchIndex >= log.batchCount || entry.seq !== log.seqOf(batchIndex) || entry.streamId !== log.streamId) {
          return batches;
        }
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
