/**
 * A small cache of read-only file descriptors for segment reads. Bounded (READ_FILES_MAX idle
 * descriptors) so the number of open files does not depend on the number of segments or
 * streams; a descriptor in use is never closed under a read (reference counts).
 */
import { closeFile, openFile } from './file-io.ts';

const READ_FILES_MAX = 4;

type Entry = { fd: number; users: number; isEvicted: boolean };

export class ReadFiles {
  readonly #entries = new Map<string, Entry>();

  /** Runs `work` with a descriptor for `file`, opened or reused. */
  async use<T>(file: string, work: (fd: number) => Promise<T>): Promise<T> {
    let entry = this.#entries.get(file);
    if (entry === undefined) {
      const fd = await openFile(file, 'r');
      entry = this.#entries.get(file);
      if (entry === undefined) {
        entry = { fd, users: 0, isEvicted: false };
        this.#entries.set(file, entry);
        await this.#evict();
      } else {
        await closeFile(fd);
      }
    } else {
      this.#entries.delete(file);
      this.#entries.set(file, entry);
    }
    entry.users += 1;
    try {
      return await work(entry.fd);
    } finally {
      entry.users -= 1;
      if (entry.isEvicted && entry.users === 0) await closeFile(entry.fd);
    }
  }

  /** Forgets `file` (deleted or truncated); its descriptor closes once unused. */
  async drop(file: string): Promise<void> {
    const entry = this.#entries.get(file);
    if (entry === undefined) return;
    this.#entries.delete(file);
    entry.isEvicted = true;
    if (entry.users === 0) await closeFile(entry.fd);
  }

  async #evict(): Promise<void> {
    for (const [file, entry] of this.#entries) {
      if (this.#entries.size <= READ_FILES_MAX) return;
      if (entry.users > 0) continue;
      this.#entries.delete(file);
      entry.isEvicted = true;
      await closeFile(entry.fd);
    }
  }

  async close(): Promise<void> {
    for (const file of [...this.#entries.keys()]) await this.drop(file);
  }
}
