/**
 * Record data given as runs of whole batches that lie in different buffers, for encoding only: a
 * Fetch answer built from the gateway's tail cache refers to the cached batches instead of
 * concatenating them, and a gathered write (KafkaWriter.beginGather) hands the long runs to the
 * socket as they are. Decoding a `records` field always gives one Buffer.
 */
export class RecordRuns {
  readonly runs: readonly Buffer[];
  /** Bytes of all runs together (what the field's length prefix says). */
  readonly length: number;

  constructor(runs: readonly Buffer[]) {
    this.runs = runs;
    let length = 0;
    for (const run of runs) length += run.length;
    this.length = length;
  }
}
