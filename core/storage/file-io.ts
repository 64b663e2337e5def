/**
 * Small promise wrappers over raw file descriptors (fs callbacks), used by the segment writer,
 * reads and recovery. Raw fds keep the hot path free of FileHandle bookkeeping; one promise per
 * batch-sized operation, never per record.
 */
import * as fs from 'node:fs';

/** `flags`: fs.open's, a string ('r', 'r+', 'w') or O_* constants ORed together. */
export function openFile(file: string, flags: string | number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, flags, 0o644, (error, fd) => (error ?
    reject(error) : resolve(fd))));
}

export function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (error) => (error ? reject(error) : resolve())));
}

export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

export function ftruncate(fd: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, bytes, (error) => (error ? reject(error) : resolve())));
}

function writeOnce(fd: number, bytes: Buffer, start: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, bytes, start, length, position, (error, written) => (error ? reject(error) : resolve(written))));
}

/** Writes `bytes[start, start+length)` at file `position`, looping over short writes. */
export async function writeAll(fd: number, bytes: Buffer, start: number, length: number,
  position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    done += await writeOnce(fd, bytes, start + done, length - done, position + done);
  }
}

function writevOnce(fd: number, parts: Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.writev(fd, parts, position, (error, written) => (error ? reject(error) : resolve(written))));
}

/** Writes `parts` back to back at file `position` (one gathered write), looping over short writes. */
export async function writevAll(fd: number, parts: Uint8Array[], position: number): Promise<void> {
  let rest: Uint8Array[] | null = parts;
  let done = 0;
  while (rest !== null) {
    const written = await writevOnce(fd, rest, position + done);
    done += written;
    rest = unwritten(rest, written);
  }
}

/**
 * writevAll on the calling thread, blocking it: no trip through the libuv pool, which costs a
 * wake-up of a pool thread and one back to the loop. For small writes, where those wake-ups take
 * longer than the write itself.
 */
export function writevAllInline(fd: number, parts: Uint8Array[], position: number): void {
  let rest: Uint8Array[] | null = parts;
  let done = 0;
  while (rest !== null) {
    const written = fs.writevSync(fd, rest, position + done);
    done += written;
    rest = unwritten(rest, written);
  }
}

/** What a gathered write of `parts` left to write after `written` bytes; null when nothing. */
function unwritten(parts: Uint8Array[], written: number): Uint8Array[] | null {
  let first = 0;
  let rest = written;
  while (first < parts.length && rest >= parts[first]!.length) rest -= parts[first++]!.length;
  if (first === parts.length) return null;
  const left = parts.slice(first);
  if (rest > 0) left[0] = left[0]!.subarray(rest);
  return left;
}

function readOnce(fd: number, bytes: Buffer, start: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, bytes, start, length, position, (error, read) => (error ? reject(error) : resolve(read))));
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
export async function readAt(fd: number, bytes: Buffer, start: number, length: number,
  position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const read = await readOnce(fd, bytes, start + done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

/** fsync of a directory, so that a created, renamed or deleted name survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await openFile(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    await closeFile(fd);
  }
}

export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
