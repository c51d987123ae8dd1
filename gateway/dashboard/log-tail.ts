// The last log lines, for the dashboard's log view. Fed by the logger as one more destination.
import { Writable } from 'node:stream';

export class LogTail extends Writable {
  readonly #lines: string[] = [];

  constructor(private readonly capacity = 300) {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      this.#lines.push(line.length > 4000 ? line.slice(0, 4000) : line);
      if (this.#lines.length > this.capacity) this.#lines.shift();
    }
    done();
  }

  lines(): string[] {
    return [...this.#lines];
  }
}

/** One process-wide tail: the logger writes to it, the dashboard reads it. */
export const logTail = new LogTail();
