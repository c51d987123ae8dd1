// An append-only file of JSON lines with group commit: records appended in one event-loop turn are written
// with one write() before their promises resolve, so anything the broker acknowledged is in the kernel's
// page cache and survives the process being killed. fdatasync runs at most every `syncIntervalMs` (power loss
// window). Compaction replaces the file atomically with a snapshot (temp file, fsync, rename, fsync dir).
// Latest-wins records (retained messages: one per topic) are kept by key until the flush, so a topic updated
// many times in one turn is serialised and written once; the crash-safety bound is the same group commit.
//
// A failed write (disk full) is cut off again, so no torn line glues onto the next record, and the journal is
// then "behind": records are missing from it. It keeps appending, and rewrites itself from the state in memory
// (a compaction) as soon as it can, retried with back-off, so a restart after the disk was freed loses nothing.
import {
  closeSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export type JournalOp = 'write' | 'compact' | 'sync';

export interface JournalFileOptions {
  syncIntervalMs: number;
  /** Compact when the records since the last snapshot exceed max(this, size of that snapshot). */
  compactAfterBytes: number;
  snapshot: () => Iterable<unknown>;
  /** Every failed write, compaction or sync. The journal goes on working and catches up when it can. */
  onError: (err: unknown, op: JournalOp) => void;
  /** The journal was behind after failed writes and holds every change again. */
  onRecovered?: () => void;
}

const NEWLINE = 0x0a;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/** Writes all of `text`; a short write (the disk filled up during it) is continued, so an error leaves a known prefix. */
function writeFully(fd: number, text: string): number {
  const bytes = Buffer.byteLength(text);
  let written = writeSync(fd, text);
  if (written === bytes) return bytes;
  const buf = Buffer.from(text);
  while (written < bytes) {
    const n = writeSync(fd, buf, written, bytes - written);
    if (n === 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    written += n;
  }
  return bytes;
}

function writeSnapshot(path: string, records: Iterable<unknown>): number {
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    let batch = '';
    for (const record of records) {
      batch += `${JSON.stringify(record)}\n`;
      if (batch.length > 65_536) {
        bytes += writeFully(fd, batch);
        batch = '';
      }
    }
    if (batch) bytes += writeFully(fd, batch);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

function fsyncDir(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the directory is not writable: the next compaction overwrites it
  }
}

/** Whether the file ends in the middle of a line (a torn last write): the next record must start a line. */
function endsMidLine(fd: number, size: number): boolean {
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== NEWLINE;
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
  /** The file's length after the last complete write: a failed write is truncated back to it. */
  #length: number;
  /** The file ends mid-line (a torn write that could not be cut off): the next write starts with a newline. */
  #midLine: boolean;
  /** Writes failed, so records are missing from the file until a compaction rewrites it from memory. */
  #behind = false;
  #retryAt = 0;
  #retryDelayMs = FIRST_RETRY_MS;

  constructor(
    readonly path: string,
    private readonly options: JournalFileOptions,
  ) {
    this.#fd = openSync(path, 'a+');
    this.#length = fstatSync(this.#fd).size;
    this.#midLine = endsMidLine(this.#fd, this.#length);
    this.#syncTimer = setInterval(() => this.#sync(), options.syncIntervalMs);
    this.#syncTimer.unref();
  }

  /** Records are missing from the file after failed writes (it catches up by itself). */
  get behind(): boolean {
    return this.#behind;
  }

  /** Resolves once the record reached the file (page cache), or its write failed and was reported. */
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

  /**
   * Writes the snapshot as the new file content; records pending now are already part of the state. A failure
   * leaves the file and this journal as they were (the temp file removed) and throws.
   */
  compact(): void {
    const tmp = `${this.path}.tmp`;
    let bytes: number;
    try {
      bytes = writeSnapshot(tmp, this.options.snapshot());
      renameSync(tmp, this.path);
    } catch (err) {
      removeQuietly(tmp);
      throw err;
    }
    this.#reopen(bytes);
    fsyncDir(this.path);
  }

  /** Appends go to the file the snapshot was renamed to from here on. */
  #reopen(bytes: number): void {
    try {
      closeSync(this.#fd);
    } catch {
      // the old file is replaced; nothing was pending on it
    }
    this.#fd = openSync(this.path, 'a+');
    this.#length = bytes;
    this.#midLine = false;
    this.#behind = false;
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
        if (this.#write(text)) this.#afterWrite();
      }
    } catch (err) {
      this.options.onError(err, 'write');
    }
    resolveCommitted?.();
  }

  /** Appends `text`; on failure the file is cut back to its last complete record and the journal is behind. */
  #write(text: string): boolean {
    const data = this.#midLine ? `\n${text}` : text;
    try {
      const bytes = writeFully(this.#fd, data);
      this.#length += bytes;
      this.#midLine = false;
      this.#dirty = true;
      this.#bytesSinceSnapshot += bytes;
      return true;
    } catch (err) {
      this.#cutTornWrite();
      this.#behind = true;
      this.options.onError(err, 'write');
      return false;
    }
  }

  #cutTornWrite(): void {
    try {
      ftruncateSync(this.#fd, this.#length);
    } catch {
      // The torn bytes stay: the next record starts a line of its own, and the replay skips the torn one.
      this.#midLine = true;
      try {
        this.#length = fstatSync(this.#fd).size;
      } catch {
        // keep the old length: a later cut then removes at most records written since
      }
    }
  }

  #afterWrite(): void {
    if (this.#behind) {
      this.#catchUp(performance.now());
      return;
    }
    if (this.#bytesSinceSnapshot <= Math.max(this.options.compactAfterBytes, this.#snapshotBytes)) return;
    try {
      this.compact();
    } catch (err) {
      // The journal itself is intact; try again only after as many bytes again, not on every flush.
      this.#bytesSinceSnapshot = 0;
      this.options.onError(err, 'compact');
    }
  }

  /** Rewrites the file from memory once records went missing; failures back off up to MAX_RETRY_MS. */
  #catchUp(now: number): void {
    if (now < this.#retryAt) return;
    try {
      this.compact();
    } catch (err) {
      this.options.onError(err, 'compact');
    }
    if (this.#behind) {
      this.#retryAt = now + this.#retryDelayMs;
      this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, MAX_RETRY_MS);
      return;
    }
    this.#retryAt = 0;
    this.#retryDelayMs = FIRST_RETRY_MS;
    this.options.onRecovered?.();
  }

  #sync(): void {
    if (this.#closed) return;
    // Also the retry of a journal that is behind when nothing is published.
    if (this.#behind) this.#catchUp(performance.now());
    if (!this.#dirty) return;
    this.#dirty = false;
    fdatasync(this.#fd, (err) => {
      if (!err || this.#closed) return;
      // After a failed fsync the kernel may have dropped the pages: count them as missing.
      this.#behind = true;
      this.options.onError(err, 'sync');
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    if (this.#behind) {
      this.#retryAt = 0;
      this.#catchUp(performance.now());
    } else if (this.#bytesSinceSnapshot > 0) {
      // A clean stop leaves a snapshot only: its record types are the ones every earlier version reads, so a
      // rollback does not replay (or drop as damage) change records it does not know.
      try {
        this.compact();
      } catch (err) {
        this.options.onError(err, 'compact');
      }
    }
    this.#closed = true;
    clearInterval(this.#syncTimer);
    try {
      fsyncSync(this.#fd);
    } catch (err) {
      this.options.onError(err, 'sync');
    } finally {
      closeSync(this.#fd);
    }
  }
}
