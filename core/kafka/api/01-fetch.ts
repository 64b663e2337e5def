/**
 * Fetch (key 1), versions 4-11 (kafka-python sends v4; librdkafka needs 4 and 10 in range for
 * magic 2 and zstd; v12+ is flexible). x2 keeps no fetch sessions: it answers session_id 0.
 * - v4 adds isolation_level, last_stable_offset and aborted_transactions.
 * - v5 adds log_start_offset (request and response); v6 only semantics.
 * - v7 adds fetch sessions (session_id, session_epoch, forgotten_topics_data, top-level error).
 * - v9 adds current_leader_epoch; v11 adds rack_id and preferred_read_replica.
 * - `records` in the response is whole stored record batches, passed as a view; to encode, it may
 *   also be RecordRuns (batches in several buffers, written run by run: FetchAnswer).
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import type { RecordRuns } from '../codec/record-runs.ts';
import { array, field, nullableArray, struct } from '../codec/schema.ts';

export const fetch = defineApi({
  apiKey: 1,
  name: 'Fetch',
  versionMin: 4,
  versionMax: 11,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    replicaId: field('int32'),
    maxWaitMs: field('int32'),
    minBytes: field('int32'),
    maxBytes: field('int32'),
    isolationLevel: field('int8'),
    sessionId: field('int32', { min: 7, defaultValue: 0 }),
    sessionEpoch: field('int32', { min: 7, defaultValue: -1 }),
    topics: field(
      array(
        struct({
          topic: field('string'),
          partitions: field(
            array(
              struct({
                partition: field('int32'),
                currentLeaderEpoch: field('int32', { min: 9, defaultValue: -1 }),
                fetchOffset: field('int64'),
                logStartOffset: field('int64', { min: 5, defaultValue: -1 }),
                partitionMaxBytes: field('int32'),
              }),
            ),
          ),
        }),
      ),
    ),
    forgottenTopicsData: field(
      array(struct({ topic: field('string'), partitions: field(array('int32')) })),
      { min: 7 },
    ),
    rackId: field('string', { min: 11 }),
  },
  response: {
    throttleTimeMs: field('int32'),
    errorCode: field('int16', { min: 7 }),
    sessionId: field('int32', { min: 7 }),
    responses: field(
      array(
        struct({
          topic: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                errorCode: field('int16'),
                highWatermark: field('int64'),
                lastStableOffset: field('int64', { defaultValue: -1 }),
                logStartOffset: field('int64', { min: 5, defaultValue: -1 }),
                abortedTransactions: field(
                  nullableArray(
                    struct({ producerId: field('int64'), firstOffset: field('int64') }),
                  ),
                ),
                preferredReadReplica: field('int32', { min: 11, defaultValue: -1 }),
                records: field('records'),
              }),
            ),
          ),
        }),
      ),
    ),
  },
});

export type FetchRequest = RequestOf<typeof fetch>;
export type FetchResponse = ResponseOf<typeof fetch>;

type FetchPartitionResponse = FetchResponse['responses'][number]['partitions'][number];

/** A Fetch response to encode, whose partitions' records may be RecordRuns (see compile.ts, recordsCodec). */
export type FetchAnswer = Omit<FetchResponse, 'responses'> & {
  responses: Array<{
    topic: string;
    partitions: Array<Omit<FetchPartitionResponse, 'records'> & { records: Buffer | RecordRuns | null }>;
  }>;
};

/** The answer as the codec's response type: the records codec writes RecordRuns as well as a Buffer. */
export function fetchAnswerAsResponse(answer: FetchAnswer): FetchResponse {
  return answer as unknown as FetchResponse;
}
