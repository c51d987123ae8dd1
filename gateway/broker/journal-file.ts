// An append-only file of JSON lines with group commit: records appended in one event-loop turn are written
// with one write() before their promises resolve, so anything the broker acknowledged is in the kernel's
// page cache and survives the process being killed. fdatasync runs at most every `syncIntervalMs` (power loss
// window). Compaction replaces the file atomically with a snapshot (temp file, fsync, rename, fsync dir).
// Latest-wins records (retained messages: one per topic) are kept by key until the flush, so a topic updated
// many times in one turn is serialised and written once; the crash-safety bound is the same group commit.
import { closeSync, fdatasync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JournalReadResult {
  records: unknown[];
  /** Lines that were not valid JSON (a torn last line after a crash, or corruption). */
  skipped: number;
}

/** Reads every complete, parseable line; a missing file reads as empty. */
export function readJournal(path: string): JournalReadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: 0 };
    throw err;
  }
  const records: unknown[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  // The text after the last newline is a write the process did not finish: never trust it.
  if (lines.at(-1) !== '') skipped++;
  for (const line of lines.slice(0, -1)) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

function fsyncDir(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class JournalFile {
  #fd: number;
  #pending: string[] = [];
  /** Latest-wins records by key, built lazily at the flush; their replay order relative to others is irrelevant. */
  #pendingLatest = new Map<string, () => unknown>();
  /** One promise per group commit, shared by every record appended in that turn (not one per record). */
  #committed: Promise<void> | undefined;
  #resolveCommitted: (() => void) | undefined;
  #dirty = false;
  #syncTimer: NodeJS.Timeout;
  #bytesSinceSnapshot = 0;
  #snapshotBytes = 0;
  #closed = false;

  constructor(
    readonly path: string,
    private readonly options: {
      syncIntervalMs: number;
      /** Compact when the records since the last snapshot exceed max(this, size of that snapshot). */
      compactAfterBytes: number;
      snapshot: () => Iterable<unknown>;
      onError: (err: unknown) => void;
    },
  ) {
    this.#fd = openSync(path, 'a');
    this.#syncTimer = setInterval(() => this.#sync(), options.syncIntervalMs);
    this.#syncTimer.unref();
  }

  /** Resolves once the record reached the file (page cache). */
  append(record: unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pending.push(`${JSON.stringify(record)}\n`);
    return this.#schedule();
  }

  /**
   * Like append for records where only the last one per key matters on replay (and whose replay does not depend
   * on other records): a later call with the same key before the flush replaces the earlier record.
   */
  appendLatest(key: string, record: () => unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pendingLatest.delete(key); // re-insert: the map keeps the order of the latest updates
    this.#pendingLatest.set(key, record);
    return this.#schedule();
  }

  #schedule(): Promise<void> {
    if (!this.#committed) {
      this.#committed = new Promise((resolve) => {
        this.#resolveCommitted = resolve;
      });
      setImmediate(() => this.#flush());
    }
    return this.#committed;
  }

  /** Writes the snapshot as the new file content; records pending now are already part of the state. */
  compact(): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    try {
      let batch = '';
      for (const record of this.options.snapshot()) {
        batch += `${JSON.stringify(record)}\n`;
        if (batch.length > 65_536) {
          bytes += writeSync(fd, batch);
          batch = '';
        }
      }
      if (batch) bytes += writeSync(fd, batch);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    fsyncDir(this.path);
    closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a');
    this.#snapshotBytes = bytes;
    this.#bytesSinceSnapshot = 0;
    this.#pending = [];
    this.#pendingLatest.clear();
    this.#dirty = false;
  }

  #flush(): void {
    const resolveCommitted = this.#resolveCommitted;
    this.#committed = undefined;
    this.#resolveCommitted = undefined;
    try {
      for (const record of this.#pendingLatest.values()) this.#pending.push(`${JSON.stringify(record())}\n`);
      this.#pendingLatest.clear();
      if (this.#pending.length > 0 && !this.#closed) {
        const text = this.#pending.join('');
        this.#pending = [];
        writeSync(this.#fd, text);
        this.#dirty = true;
        this.#bytesSinceSnapshot += text.length;
        if (this.#bytesSinceSnapshot > Math.max(this.options.compactAfterBytes, this.#snapshotBytes)) {
          try {
            this.compact();
          } catch (err) {
            // The journal itself is intact; try again only after as many bytes again, not on every flush.
            this.#bytesSinceSnapshot = 0;
            this.options.onError(err);
          }
        }
      }
    } catch (err) {
      this.options.onError(err);
    }
    resolveCommitted?.();
  }

  #sync(): void {
    if (!this.#dirty || this.#closed) return;
    this.#dirty = false;
    fdatasync(this.#fd, (err) => {
      if (err && !this.#closed) this.options.onError(err);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    clearInterval(this.#syncTimer);
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }
}
