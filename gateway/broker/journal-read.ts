// Reads a JSON-lines journal back, counting what could not be used in lines and bytes: a zeroed or overwritten
// block turns several records into one unreadable line, so a line count alone under-reports the damage.
import { readFileSync } from 'node:fs';

export interface JournalReadResult<T> {
  records: T[];
  /** Lines that were not valid JSON (a torn last line after a crash, or corruption) or that `parse` refused. */
  skipped: number;
  /** Bytes of those lines, their newlines included. */
  skippedBytes: number;
}

const NEWLINE = 0x0a;

/** Reads every complete line that parses and that `parse` accepts (undefined refuses); a missing file reads as empty. */
export function readJournal<T = unknown>(
  path: string,
  parse: (value: unknown) => T | undefined = (value) => value as T,
): JournalReadResult<T> {
  const data = readFile(path);
  const result: JournalReadResult<T> = { records: [], skipped: 0, skippedBytes: 0 };
  let start = 0;
  while (start < data.length) {
    const end = data.indexOf(NEWLINE, start);
    // The bytes after the last newline are a write the process did not finish: never trust them.
    if (end < 0) {
      result.skipped++;
      result.skippedBytes += data.length - start;
      break;
    }
    if (end > start) {
      const record = parseLine(data.toString('utf8', start, end), parse);
      if (record === undefined) {
        result.skipped++;
        result.skippedBytes += end + 1 - start;
      } else result.records.push(record);
    }
    start = end + 1;
  }
  return result;
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return Buffer.alloc(0);
    // EISDIR from read() names no path; the caller's message must.
    e.path ??= path;
    throw e;
  }
}

function parseLine<T>(line: string, parse: (value: unknown) => T | undefined): T | undefined {
  try {
    return parse(JSON.parse(line));
  } catch {
    return undefined;
  }
}
