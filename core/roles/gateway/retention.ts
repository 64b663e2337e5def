/**
 * Topic retention, run by the controller gateway (the lowest live node id). Every check it finds,
 * per partition, the first offset retention keeps: by time (`retention.ms`, Kafka's semantics:
 * the first batch whose max timestamp is >= now - retention.ms; none = everything up to the high
 * watermark expired; -1 = unlimited) and by size (`retention.bytes` per partition: the newest
 * batches that fit; -1 = unlimited), from this gateway's batch index, once the partition is over
 * its limit by RETENTION_SLACK_FRACTION. A log start that moves is
 * appended as the same `log-start-moved` control record DeleteRecords uses, so every gateway and
 * every commit applies it in river order (commits then free whole segments, core/storage).
 *
 * Invariants: a log start never moves backwards and never beyond the high watermark (the batch
 * index holds committed batches only). Bounds: at most LOG_START_MOVES_PER_CHECK_MAX records per
 * check (the rest follow at the next one); one check at a time.
 */
import { encodeControlRecord } from '../../control/control-records.ts';
import type { ControlState } from '../../control/control-state.ts';
import { INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { counterFrom } from '../../metrics/metrics.ts';
import { CONTROL_STREAM_ID } from './gateway-state.ts';
import type { Gateway } from './gateway.ts';
import type { StreamLog } from './stream-log.ts';

/**
 * `__x2_metrics` grows by one snapshot per role per second and `x2 top` reads only its head: an
 * hour keeps enough to look back on an incident while bounding the stream.
 */
export const METRICS_RETENTION_MS = 60 * 60 * 1000;
export const METRICS_STREAM_ID = INTERNAL_TOPICS[2].streamId;
export const RETENTION_CHECK_MS_DEFAULT = 10_000;
export const LOG_START_MOVES_PER_CHECK_MAX = 4096;
/**
 * A log start moves only once the partition is over its limit by this fraction of it (Kafka moves
 * by whole segments, as coarsely): each move is a `__x2_control` record every gateway replays
 * forever, so a partition with a steady flow moves about every tenth of its retention, not at
 * every check.
 */
export const RETENTION_SLACK_FRACTION = 0.1;

export type LogStartMove = { streamId: number; logStartOffset: number; reason: string };

/** The log start retention asks for, or null when it stays where it is. */
export function retentionTarget(log: StreamLog, logStartOffset: number, limits: {
  retentionMs: number; retentionBytes: number; nowMs: number;
}): { offset: number; reason: string } | null {
  let offset = logStartOffset;
  let reason = '';
  const slackMs = Math.floor(limits.retentionMs * RETENTION_SLACK_FRACTION);
  if (limits.retentionMs >= 0
    && firstOffsetFrom(log, log.batchForTimestamp(limits.nowMs - limits.retentionMs - slackMs, logStartOffset))
      > logStartOffset) {
    const byTime = firstOffsetFrom(log, log.batchForTimestamp(limits.nowMs - limits.retentionMs, logStartOffset));
    if (byTime > offset) {
      offset = byTime;
      reason = `retention.ms ${limits.retentionMs}`;
    }
  }
  const slackBytes = Math.floor(limits.retentionBytes * RETENTION_SLACK_FRACTION);
  if (limits.retentionBytes >= 0 && log.bytesFrom(logStartOffset) > limits.retentionBytes + slackBytes) {
    const batchIndex = log.firstBatchWithinBytes(limits.retentionBytes);
    const bySize = batchIndex >= log.batchCount ? log.nextOffset : log.baseOffsetOf(batchIndex);
    if (bySize > offset) {
      offset = bySize;
      reason = `retention.bytes ${limits.retentionBytes}`;
    }
  }
  offset = Math.min(offset, log.nextOffset);
  return offset > logStartOffset ? { offset, reason } : null;
}

/** The base offset of batch `batchIndex`, the high watermark for -1 (no such batch). */
function firstOffsetFrom(log: StreamLog, batchIndex: number): number {
  return batchIndex < 0 ? log.nextOffset : log.baseOffsetOf(batchIndex);
}

/** Every log start move retention asks for now, user partitions and `__x2_metrics`. */
export function planRetention(control: ControlState, streamOf: (streamId: number) => StreamLog | undefined,
  nowMs: number): LogStartMove[] {
  const moves: LogStartMove[] = [];
  const consider = (streamId: number, retentionMs: number, retentionBytes: number): void => {
    const log = streamOf(streamId);
    if (log === undefined || moves.length >= LOG_START_MOVES_PER_CHECK_MAX) return;
    const target = retentionTarget(log, control.logStartOffset(streamId), { retentionMs, retentionBytes, nowMs });
    if (target !== null) moves.push({ streamId, logStartOffset: target.offset, reason: target.reason });
  };
  consider(METRICS_STREAM_ID, METRICS_RETENTION_MS, -1);
  for (const name of control.topicNames({ includeInternal: false })) {
    const view = control.topic(name);
    if (view === undefined) continue;
    const retentionMs = Number(control.configOf(name, 'retention.ms') ?? '-1');
    const retentionBytes = Number(control.configOf(name, 'retention.bytes') ?? '-1');
    if (retentionMs < 0 && retentionBytes < 0) continue;
    for (const streamId of view.streamIds) consider(streamId, retentionMs, retentionBytes);
  }
  return moves;
}

/** Starts the periodic check; the controller alone appends, the others only look. */
export function startRetention(gateway: Gateway, checkMs: number): NodeJS.Timeout {
  let isRunning = false;
  let movesAppended = 0;
  counterFrom(gateway.options.registry, 'x2_gateway_log_start_moves_total',
    'log start moves this gateway appended for retention', () => movesAppended);
  const check = async (): Promise<void> => {
    if (gateway.liveGateways()[0]!.nodeId !== gateway.self.nodeId) return;
    const moves = planRetention(gateway.state.control, (streamId) => gateway.state.stream(streamId), Date.now());
    if (moves.length === 0) return;
    const outcomes = await gateway.appendInternal(CONTROL_STREAM_ID, moves.map((move) => encodeControlRecord(
      { kind: 'log-start-moved', streamId: move.streamId, logStartOffset: move.logStartOffset })));
    movesAppended += moves.length;
    for (const [i, move] of moves.entries()) {
      const outcome = outcomes[i];
      if (outcome !== undefined && !outcome.ok) {
        gateway.log.warn(`retention: stream ${move.streamId} log start not moved: ${outcome.errorMessage}`);
      } else {
        gateway.log.info(`retention: stream ${move.streamId} log start -> ${move.logStartOffset} (${move.reason})`);
      }
    }
  };
  return setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    check().catch((error: unknown) => gateway.log.limited('warn', 'retention',
      `retention check failed: ${String(error)}`)).finally(() => { isRunning = false; });
  }, checkMs);
}
