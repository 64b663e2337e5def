/**
 * Record data given as runs of whole batches that lie in different buffers, for encoding only: a
 * Fetch answer built from the gateway's tail cache refers to the large cached batches instead of
 * concatenating them (small ones are copied together into one run), and a gathered write
 * (KafkaWriter.beginGather) hands every run to the socket as it is. Decoding a `records` field
 * always gives one Buffer.
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
