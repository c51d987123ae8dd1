// Keeps the session owners in a file of their own, <data_dir>/broker/session-owners.json, not in the journal:
// older versions read the journal after a rollback, count record types they do not know as damage and compact
// them away, while a file they do not know is left alone for the next upgrade. Written at most once a second and
// at close (temp file, fsync, rename): an owner claimed in the last second before a crash is lost, and such a
// session is then treated like one with no recorded owner (see session-owners.ts).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { z } from 'zod';

const ownersFileSchema = z.object({ owners: z.record(z.string(), z.string().nullable()) });

export type OwnerEntries = Iterable<[string, string | null]>;

export class SessionOwnersFile {
  #timer: NodeJS.Timeout | undefined;
  #entries: (() => OwnerEntries) | undefined;

  constructor(
    readonly path: string,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 1000,
  ) {}

  /** The owners stored, or none when the file is missing; an unreadable file is reported and read as none. */
  load(): Map<string, string | null> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err);
      return new Map();
    }
    try {
      return new Map(Object.entries(ownersFileSchema.parse(JSON.parse(text)).owners));
    } catch (err) {
      this.onError(new Error(`${this.path} is not a session owners file (${(err as Error).message.slice(0, 200)})`));
      return new Map();
    }
  }

  /** Writes `entries()` soon; later calls before the write are folded into it. */
  schedule(entries: () => OwnerEntries): void {
    this.#entries = entries;
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.flush(), this.delayMs);
    this.#timer.unref();
  }

  /** Writes a scheduled change now (at close). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const entries = this.#entries;
    this.#entries = undefined;
    if (!entries) return;
    try {
      this.#write(JSON.stringify({ owners: Object.fromEntries(entries()) }));
    } catch (err) {
      this.onError(err);
    }
  }

  #write(text: string): void {
    const tmp = `${this.path}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      throw err;
    }
  }
}
