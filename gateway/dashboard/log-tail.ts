// The last log lines, for the dashboard's log view, and every line as it comes for bridge/logging. Fed by the
// logger as one more destination.
import { Writable } from 'node:stream';

export class LogTail extends Writable {
  readonly #lines: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();

  constructor(private readonly capacity = 300) {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      const kept = line.length > 4000 ? line.slice(0, 4000) : line;
      this.#lines.push(kept);
      if (this.#lines.length > this.capacity) this.#lines.shift();
      for (const listener of this.#listeners) listener(kept);
    }
    done();
  }

  /** Calls `listener` with every line from now on; returns the function that stops it. */
  follow(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  lines(): string[] {
    return [...this.#lines];
  }
}

/** One process-wide tail: the logger writes to it, the dashboard reads it. */
export const logTail = new LogTail();
