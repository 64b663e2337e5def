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
  let rest = parts;
  let done = 0;
  for (;;) {
    let written = await writevOnce(fd, rest, position + done);
    done += written;
    let first = 0;
    while (first < rest.length && written >= rest[first]!.length) written -= rest[first++]!.length;
    if (first === rest.length) return;
    rest = rest.slice(first);
    if (written > 0) rest[0] = rest[0]!.subarray(written);
  }
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
