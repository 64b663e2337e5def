/**
 * `--exec COMMAND`: user logic in any language, as a child process (`/bin/sh -c COMMAND`) that
 * reads input records on stdin and writes answers on stdout. Frames both ways are a 4-byte
 * big-endian length followed by that many bytes of msgpack:
 *   in   {topic, partition, offset, timestamp, key, value, headers}   (key/value bin or nil,
 *        headers a map of name -> bin or nil)
 *   out  exactly one answer per input, in input order: an array of output records
 *        {key, value, headers?, partition?} (bin, str or nil), possibly empty; or a map
 *        {error: "why"} to report that this input failed (handled per --on-error).
 * The child's stderr goes to the sidecar's stderr.
 *
 * Bounds: at most EXEC_INFLIGHT_MAX inputs written and not yet answered; an answer frame is at
 * most EXEC_FRAME_BYTES_MAX. A child that exits, closes stdout or writes a malformed frame fails
 * every unanswered input of the batch with that reason (the caller applies --on-error); the next
 * batch starts a new child.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { Packr } from 'msgpackr';
import type { Outcome, Transform } from './transform.ts';
import { toOutputRecords, type InputRecord, type OutputRecord } from './sidecar-records.ts';

export const EXEC_INFLIGHT_MAX = 1000;
export const EXEC_FRAME_BYTES_MAX = 64 * 1024 * 1024;

type Run = { records: readonly InputRecord[]; outcomes: Outcome[]; next: number; done: number; resolve: () => void };

export class ExecTransform implements Transform {
  readonly kind = 'exec';
  readonly command: string;
  readonly #packr = new Packr({ useRecords: false, mapsAsObjects: true });
  #child: ChildProcessByStdio<Writable, Readable, null> | null = null;
  #failure: string | null = null;
  #pending = Buffer.allocUnsafe(64 * 1024);
  #pendingBytes = 0;
  #run: Run | null = null;
  childStarts = 0;

  constructor(command: string) {
    this.command = command;
  }

  init(): Promise<void> {
    this.#start();
    return Promise.resolve();
  }

  #start(): void {
    const child = spawn('/bin/sh', ['-c', this.command], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child = child;
    this.#failure = null;
    this.#pendingBytes = 0;
    this.childStarts += 1;
    child.stdin.on('error', () => undefined); // EPIPE: the exit handler reports it
    child.stdout.on('data', (chunk: Buffer) => { if (this.#child === child) this.#onData(chunk); });
    child.on('error', (error) => {
      if (this.#child === child) this.#fail(`cannot run "${this.command}": ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (this.#child === child) this.#fail(`the --exec child exited (${how})`);
    });
  }

  apply(records: readonly InputRecord[]): Promise<Outcome[]> {
    if (!this.#child || this.#failure !== null) this.#start();
    const outcomes: Outcome[] = new Array<Outcome>(records.length);
    if (records.length === 0) return Promise.resolve(outcomes);
    return new Promise<Outcome[]>((resolve) => {
      this.#run = { records, outcomes, next: 0, done: 0, resolve: () => resolve(outcomes) };
      this.#pump();
    });
  }

  #pump(): void {
    const run = this.#run;
    const child = this.#child;
    if (!run || !child) return;
    const frames: Buffer[] = [];
    while (run.next < run.records.length && run.next - run.done < EXEC_INFLIGHT_MAX) {
      const record = run.records[run.next]!;
      const body = this.#packr.pack({
        topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
        key: record.key, value: record.value, headers: record.headers,
      });
      const frame = Buffer.allocUnsafe(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      body.copy(frame, 4);
      frames.push(frame);
      run.next += 1;
    }
    if (frames.length > 0) child.stdin.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  #onData(chunk: Buffer): void {
    if (this.#pendingBytes + chunk.length > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#pending.length * 2, this.#pendingBytes + chunk.length));
      this.#pending.copy(grown, 0, 0, this.#pendingBytes);
      this.#pending = grown;
    }
    chunk.copy(this.#pending, this.#pendingBytes);
    this.#pendingBytes += chunk.length;
    let position = 0;
    while (this.#pendingBytes - position >= 4) {
      const bytes = this.#pending.readUInt32BE(position);
      if (bytes > EXEC_FRAME_BYTES_MAX) {
        return this.#kill(`the --exec child wrote a frame of ${bytes} bytes (at most ${EXEC_FRAME_BYTES_MAX})`);
      }
      if (this.#pendingBytes - position - 4 < bytes) break;
      const body = this.#pending.subarray(position + 4, position + 4 + bytes);
      position += 4 + bytes;
      if (!this.#answer(body)) return;
    }
    // Keep only the incomplete tail, once per chunk.
    this.#pending.copy(this.#pending, 0, position, this.#pendingBytes);
    this.#pendingBytes -= position;
  }

  /** One answer frame; false when the child was killed for a protocol error. */
  #answer(body: Buffer): boolean {
    const run = this.#run;
    if (!run || run.done >= run.next) {
      this.#kill('the --exec child wrote an answer for no input');
      return false;
    }
    const index = run.done;
    const record = run.records[index]!;
    let decoded: unknown;
    try {
      decoded = this.#packr.unpack(Buffer.from(body)) as unknown;
    } catch (error) {
      this.#kill(`the --exec child wrote malformed msgpack for offset ${record.offset}: ${(error as Error).message}`);
      return false;
    }
    if (decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded) && 'error' in decoded) {
      run.outcomes[index] = { outputs: null, error: `--exec: ${String((decoded as { error: unknown }).error)}` };
    } else if (!Array.isArray(decoded)) {
      run.outcomes[index] = { outputs: null, error: '--exec answer is neither an array of records nor {error}' };
    } else {
      try {
        run.outcomes[index] = { outputs: toOutputRecords(decoded, record), error: null };
      } catch (error) {
        run.outcomes[index] = { outputs: null, error: `--exec answer: ${(error as Error).message}` };
      }
    }
    run.done += 1;
    if (run.done === run.records.length) {
      this.#run = null;
      run.resolve();
    } else {
      this.#pump();
    }
    return true;
  }

  #kill(reason: string): void {
    this.#child?.kill('SIGKILL');
    this.#fail(reason);
  }

  /** Fails every unanswered input of the current batch with `reason`. */
  #fail(reason: string): void {
    this.#failure ??= reason;
    this.#child = null;
    const run = this.#run;
    if (!run) return;
    this.#run = null;
    for (let i = run.done; i < run.records.length; i++) run.outcomes[i] = { outputs: null, error: reason };
    run.resolve();
  }

  flush(): Promise<OutputRecord[]> { return Promise.resolve([]); }

  close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
      setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 2000).unref();
    });
  }
}
