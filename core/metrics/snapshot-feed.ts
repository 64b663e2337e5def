/**
 * Reads `__x2_metrics` through any gateway with plain Kafka requests (ApiVersions, Metadata,
 * ListOffsets, Fetch): what `x2 top` and `x2 top --once` see. No list of nodes is needed: every
 * node's snapshots are in the one stream, and Metadata names the other gateways, which the feed
 * tries in turn when its gateway goes away.
 *
 * It starts at the head (every node publishes each second, so within a second or two every live
 * node has spoken; history of `__x2_metrics` is not needed for a live view) and long-polls from
 * there. After losing its gateway it starts again at the head of the next one.
 * Bounds: Fetch asks for at most FETCH_BYTES_MAX; a snapshot that does not decode is skipped and
 * counted in `malformedTotal`, never fatal.
 * Uses the bench's pipelined Kafka connection (core/bench/kafka-client.ts) and record walker;
 * with client TLS files every gateway is reached over TLS, with SASL credentials it authenticates.
 */
import { X2Error } from '../base/errors.ts';
import type { TlsClientFiles } from '../base/tls-files.ts';
import type { SaslClientCredentials } from '../kafka/sasl-mechanisms.ts';
import { KafkaConnection, type BrokerAddress } from '../bench/kafka-client.ts';
import { forEachRecordValue } from '../bench/kafka-client-batch.ts';
import { fetch as fetchApi } from '../kafka/api/01-fetch.ts';
import { listOffsets } from '../kafka/api/02-list-offsets.ts';
import { metadata } from '../kafka/api/03-metadata.ts';
import { kafkaErrorName } from '../kafka/kafka-errors.ts';
import { INTERNAL_TOPICS } from '../control/topic-name.ts';
import { decodeSnapshot, type NodeSnapshot } from './snapshot.ts';

export const METRICS_TOPIC = INTERNAL_TOPICS[2].name;
export const FETCH_BYTES_MAX = 8 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 3000;

export type FeedState = { connected: boolean; gateway: string; problem: string | null };

export class SnapshotFeed {
  readonly #candidates: BrokerAddress[];
  readonly #tls: TlsClientFiles | null;
  readonly #sasl: SaslClientCredentials | null;
  #connection: KafkaConnection | null = null;
  #fetchVersion = 4;
  #nextOffset = -1;
  #candidateIndex = 0;
  #problem: string | null = null;
  malformedTotal = 0;
  highWatermark = 0;

  constructor(bootstrap: readonly BrokerAddress[], tls: TlsClientFiles | null = null,
    sasl: SaslClientCredentials | null = null) {
    this.#candidates = [...bootstrap];
    this.#tls = tls;
    this.#sasl = sasl;
  }

  get state(): FeedState {
    const address = this.#connection?.address ?? this.#candidates[this.#candidateIndex];
    return { connected: this.#connection !== null, gateway: address ? `${address.host}:${address.port}` : '',
      problem: this.#problem };
  }

  /**
   * The snapshots that arrived since the last call (waiting up to `maxWaitMs` for one). Throws
   * X2_ERR_IO naming the gateway when it cannot reach one; the next call tries the next gateway.
   */
  async poll(maxWaitMs: number): Promise<NodeSnapshot[]> {
    try {
      const connection = this.#connection ?? await this.#connect();
      const response = await connection.request(fetchApi, this.#fetchVersion, {
        replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: FETCH_BYTES_MAX, isolationLevel: 0, sessionId: 0,
        sessionEpoch: -1, topics: [{ topic: METRICS_TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1,
          logStartOffset: -1, fetchOffset: this.#nextOffset, partitionMaxBytes: FETCH_BYTES_MAX }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const snapshots: NodeSnapshot[] = [];
      for (const partition of response.responses[0]?.partitions ?? []) {
        if (partition.errorCode === 1) { // OFFSET_OUT_OF_RANGE: the stream was trimmed; start over at the head
          this.#nextOffset = await this.#startOffset(connection);
          continue;
        }
        if (partition.errorCode !== 0) {
          throw new X2Error('X2_ERR_IO', `Fetch ${METRICS_TOPIC}: ${kafkaErrorName(partition.errorCode)}`);
        }
        this.highWatermark = Number(partition.highWatermark);
        if (partition.records === null || partition.records.length === 0) continue;
        this.#nextOffset = forEachRecordValue(partition.records, this.#nextOffset, FETCH_BYTES_MAX,
          (buffer, start, end) => {
            try {
              snapshots.push(decodeSnapshot(buffer.subarray(start, end)));
            } catch {
              this.malformedTotal += 1;
            }
          });
      }
      this.#problem = null;
      return snapshots;
    } catch (error) {
      const address = this.#connection?.address ?? this.#candidates[this.#candidateIndex];
      this.#connection?.close();
      this.#connection = null;
      // A live view skips what it missed: the next connection starts at the head again.
      this.#nextOffset = -1;
      this.#candidateIndex = (this.#candidateIndex + 1) % Math.max(1, this.#candidates.length);
      this.#problem = `${address?.host}:${address?.port}: ${(error as Error).message}`;
      throw new X2Error('X2_ERR_IO', `cannot read ${METRICS_TOPIC} from ${this.#problem}`, { cause: error });
    }
  }

  close(): void {
    this.#connection?.close();
    this.#connection = null;
  }

  async #connect(): Promise<KafkaConnection> {
    const address = this.#candidates[this.#candidateIndex];
    if (address === undefined) throw new X2Error('X2_ERR_IO', 'no gateway address to try');
    const connection = await KafkaConnection.connect(address, CONNECT_TIMEOUT_MS, this.#tls, this.#sasl);
    try {
      await connection.negotiate();
      this.#fetchVersion = connection.pickVersion(fetchApi, 4, 11);
      const described = await connection.request(metadata, connection.pickVersion(metadata, 1, 7), {
        topics: [{ name: METRICS_TOPIC }], allowAutoTopicCreation: false,
      });
      for (const broker of described.brokers) {
        const known = this.#candidates.some((c) => c.host === broker.host && c.port === broker.port);
        if (!known && this.#candidates.length < 64) this.#candidates.push({ host: broker.host, port: broker.port });
      }
      if (this.#nextOffset < 0) this.#nextOffset = await this.#startOffset(connection);
    } catch (error) {
      connection.close();
      throw error;
    }
    this.#connection = connection;
    return connection;
  }

  async #startOffset(connection: KafkaConnection): Promise<number> {
    const response = await connection.request(listOffsets, connection.pickVersion(listOffsets, 1, 5), {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: METRICS_TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1,
        maxNumOffsets: 1 }] }],
    });
    const partition = response.topics[0]?.partitions[0];
    if (partition === undefined || partition.errorCode !== 0) {
      const why = partition === undefined ? 'no answer' : kafkaErrorName(partition.errorCode);
      throw new X2Error('X2_ERR_IO', `ListOffsets ${METRICS_TOPIC}: ${why}`);
    }
    return Math.max(0, Number(partition.offset));
  }
}
