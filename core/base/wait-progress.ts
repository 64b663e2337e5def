/**
 * Waits for a condition that is reached by steady progress (a role replaying the river before it
 * serves): no deadline while the progress value moves, a failure once it has stood still for
 * `stallMs`. A fixed deadline would refuse a large store for being large; this refuses only a
 * stuck one. Progress is reported every `reportEveryMs` so an operator sees how far it got.
 */
import { X2Error } from './errors.ts';

/** A role replaying the river before it serves gives up after this long without progress. */
export const REPLAY_STALL_MS = 120_000;

export type ProgressWait = {
  /** What is awaited, for the error: "river replay". */
  what: string;
  isDone(): boolean;
  /** A value that grows while work is done (an applied seq). */
  progress(): number;
  stallMs: number;
  pollMs?: number;
  reportEveryMs?: number;
  report?(progress: number): void;
  /** A reason to stop waiting at once (the role was stopped), or null. */
  abortReason?(): string | null;
};

export async function waitWhileProgressing(wait: ProgressWait): Promise<void> {
  const pollMs = wait.pollMs ?? 20;
  const reportEveryMs = wait.reportEveryMs ?? 10_000;
  let last = wait.progress();
  let movedAtMs = Date.now();
  let reportedAtMs = Date.now();
  for (;;) {
    if (wait.isDone()) return;
    const abort = wait.abortReason?.() ?? null;
    if (abort !== null) {
      throw new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE', `${wait.what}: ${abort}`, { retriable: true });
    }
    const nowMs = Date.now();
    const current = wait.progress();
    if (current !== last) {
      last = current;
      movedAtMs = nowMs;
    } else if (nowMs - movedAtMs > wait.stallMs) {
      throw new X2Error('X2_ERR_SEQUENCER_UNAVAILABLE',
        `${wait.what} made no progress for ${wait.stallMs} ms (stuck at ${current})`, { retriable: true });
    }
    if (nowMs - reportedAtMs >= reportEveryMs) {
      reportedAtMs = nowMs;
      wait.report?.(current);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
