/**
 * Goal: the controller's retention plan moves log starts exactly as Kafka's retention.ms and
 * retention.bytes would at batch granularity, never backwards and never past the high watermark.
 * Method: a ControlState with topics created through its planner, StreamLogs filled with batches
 * of known timestamps and sizes, and planRetention called at chosen clocks.
 */
import { describe, expect, it } from 'vitest';
import { ControlState } from '../../control/control-state.ts';
import { METRICS_RETENTION_MS, METRICS_STREAM_ID, planRetention } from './retention.ts';
import { StreamLog } from './stream-log.ts';

function stateWith(configs: Record<string, string>): { control: ControlState; streamId: number } {
  const control = new ControlState();
  const planned = control.planCreateTopic({ topic: 't', partitionCount: 1, replicationFactor: -1, configs },
    { commitCount: 1 });
  if (!planned.ok) throw new Error(planned.errorMessage);
  expect(control.apply(planned.record).ok).toBe(true);
  return { control, streamId: control.streamIdOf('t', 0)! };
}

/** Batches of two records each at the given max timestamps, 100 bytes each. */
function logOf(streamId: number, timestampsMs: number[]): StreamLog {
  const log = new StreamLog(streamId);
  timestampsMs.forEach((timestampMs, i) => log.add(i * 2, 2, i + 1, timestampMs, 100));
  return log;
}

describe('planRetention', () => {
  it('retention.ms: the first batch with max timestamp >= now - retention.ms, the whole log when none', () => {
    const { control, streamId } = stateWith({ 'retention.ms': '1000' });
    const log = logOf(streamId, [100, 1150, 5000, 6000]);
    const streams = (id: number): StreamLog | undefined => (id === streamId ? log : undefined);
    expect(planRetention(control, streams, 1100)).toEqual([]);
    expect(planRetention(control, streams, 1150)).toEqual([]); // expired by 50 ms, within the 10% slack
    expect(planRetention(control, streams, 1201)).toEqual([
      { streamId, logStartOffset: 2, reason: 'retention.ms 1000' }]);
    expect(planRetention(control, streams, 5500)).toMatchObject([{ streamId, logStartOffset: 4 }]);
    expect(planRetention(control, streams, 60_000)).toMatchObject([{ streamId, logStartOffset: 8 }]);
  });

  it('retention.bytes keeps the newest whole batches that fit; -1 keeps everything; the default is 7 days', () => {
    const under = stateWith({ 'retention.bytes': '460' }); // 500 bytes: over by less than the 10% slack
    const underLog = logOf(under.streamId, [1, 2, 3, 4, 5]);
    expect(planRetention(under.control, (id) => (id === under.streamId ? underLog : undefined), 10)).toEqual([]);
    const { control, streamId } = stateWith({ 'retention.bytes': '250' });
    const log = logOf(streamId, [1, 2, 3, 4, 5]);
    expect(planRetention(control, (id) => (id === streamId ? log : undefined), 10)).toEqual([
      { streamId, logStartOffset: 6, reason: 'retention.bytes 250' }]);
    const unlimited = stateWith({ 'retention.bytes': '-1', 'retention.ms': '-1' });
    const unlimitedLog = logOf(unlimited.streamId, [1, 2]);
    expect(planRetention(unlimited.control, (id) => (id === unlimited.streamId ? unlimitedLog : undefined),
      1e12)).toEqual([]);
    const defaults = stateWith({});
    expect(planRetention(defaults.control, (id) => (id === defaults.streamId ? logOf(id, [1, 2]) : undefined),
      Date.UTC(2026, 0, 1))).toMatchObject([{ streamId: defaults.streamId, logStartOffset: 4 }]);
  });

  it('never moves a log start backwards, and a moved one is not planned again', () => {
    const { control, streamId } = stateWith({ 'retention.ms': '1000' });
    const log = logOf(streamId, [100, 200, 5000]);
    expect(control.apply({ kind: 'log-start-moved', streamId, logStartOffset: 5 }).ok).toBe(true);
    expect(planRetention(control, (id) => (id === streamId ? log : undefined), 5500)).toEqual([]);
    expect(control.apply({ kind: 'log-start-moved', streamId, logStartOffset: 4 }).ok).toBe(true);
    expect(control.logStartOffset(streamId)).toBe(5);
  });

  it('__x2_metrics keeps METRICS_RETENTION_MS, and its log start move applies', () => {
    const control = new ControlState();
    const log = logOf(METRICS_STREAM_ID, [1000, 2000, 3000 + METRICS_RETENTION_MS]);
    const streams = (id: number): StreamLog | undefined => (id === METRICS_STREAM_ID ? log : undefined);
    expect(planRetention(control, streams, 2500 + METRICS_RETENTION_MS)).toEqual([]); // within the slack
    const [move] = planRetention(control, streams, 2500 + METRICS_RETENTION_MS * 1.1);
    expect(move).toEqual({ streamId: METRICS_STREAM_ID, logStartOffset: 4,
      reason: `retention.ms ${METRICS_RETENTION_MS}` });
    expect(control.apply({ kind: 'log-start-moved', streamId: METRICS_STREAM_ID, logStartOffset: 4 }).ok).toBe(true);
    expect(control.logStartOffset(METRICS_STREAM_ID)).toBe(4);
    expect(control.apply({ kind: 'log-start-moved', streamId: 1, logStartOffset: 1 }).ok).toBe(false);
  });
});
