// cursor.json: the queue's read position (the oldest unacknowledged message), written often and read at start.
// Written atomically (a new file renamed over the old) but not synced: a lost or stale cursor only means sending
// again, never losing. What goes wrong with it is said once: a damaged file at start; a failing write when it
// starts failing, and again when a write works.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { errnoCode } from '../../datadir-error.js';
import { fixFor, shortError } from './fs-advice.js';

export interface Position {
  seq: number;
  segFirst: number;
  offset: number;
}

export interface CursorReports {
  warn(message: string, details: Record<string, unknown>): void;
  /** Writes fail (a directory in its place, permissions): the error, or undefined once a write works again. */
  failing(error: string | undefined): void;
}

export class CursorFile {
  #failing = false;

  constructor(
    readonly path: string,
    private readonly reports: CursorReports,
  ) {}

  /** The saved position; undefined when there is none (first start) or it cannot be used (said so). */
  async read(): Promise<Position | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.#unusable(shortError(err));
      return undefined;
    }
    const pos = parsePosition(text);
    if (!pos) this.#unusable(text.trim() === '' ? 'it is empty' : 'it does not hold a queue position');
    return pos;
  }

  /** False when the disk refused it (retried by the caller). */
  async write(pos: Position): Promise<boolean> {
    const tmp = `${this.path}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(pos));
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {}); // a full disk leaves it empty
      this.#failed(err);
      return false;
    }
    if (this.#failing) {
      this.#failing = false;
      this.reports.failing(undefined);
    }
    return true;
  }

  #unusable(why: string): void {
    this.reports.warn(
      `upstream queue: ${this.path} cannot be used (${why}): sending again from the oldest queued message (upstream may get duplicates)`,
      { file: this.path },
    );
  }

  #failed(err: unknown): void {
    const code = errnoCode(err);
    // A full disk is the queue's disk-full state, which deletes acknowledged files to make room for the cursor.
    if (this.#failing || code === 'ENOSPC' || code === 'EDQUOT') return;
    this.#failing = true;
    const { dest, path } = err as { dest?: string; path?: string };
    const fix = fixFor(err, dest ?? path ?? this.path); // rename names the directory in the way as its dest
    this.reports.failing(
      `upstream queue cannot save its read position in ${this.path} (${shortError(err)}): a restart sends messages again that were already delivered${fix ? `. Fix: ${fix}` : ''}`,
    );
  }
}

function parsePosition(text: string): Position | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const { seq, segFirst, offset } = raw as Record<string, unknown>;
  const valid = [seq, segFirst, offset].every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  return valid ? { seq: seq as number, segFirst: segFirst as number, offset: offset as number } : undefined;
}
