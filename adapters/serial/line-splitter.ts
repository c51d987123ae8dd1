// Splits a serial byte stream on '\n'. Memory is bounded: a line longer than `maxLineBytes` is dropped up to
// the next newline (resync) and reported once.
export type SplitEvent = { kind: 'line'; line: Buffer } | { kind: 'overlong'; dropped: number; head: Buffer };

export class LineSplitter {
  #partial: Buffer[] = [];
  #partialLength = 0;
  /** Bytes dropped from the current overlong line; -1 when not discarding. */
  #dropping = -1;
  #dropHead: Buffer = Buffer.alloc(0);

  /** `maxLineBytes` of text; one byte more is allowed for the CR of a CRLF ending, which the demux strips. */
  constructor(private readonly maxLineBytes = 4096) {}

  /** Whether the text so far (the partial line, then chunk[start, end)) ends with a CR. */
  #endsWithCr(chunk: Buffer, start: number, end: number): boolean {
    if (end > start) return chunk[end - 1] === 0x0d;
    const last = this.#partial[this.#partial.length - 1];
    return last !== undefined && last[last.length - 1] === 0x0d;
  }

  push(chunk: Buffer, emit: (event: SplitEvent) => void): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      if (this.#dropping >= 0) {
        this.#dropping += end - start;
      } else if (
        this.#partialLength + end - start >
        this.maxLineBytes + (this.#endsWithCr(chunk, start, end) ? 1 : 0)
      ) {
        this.#dropHead = Buffer.concat([...this.#partial, chunk.subarray(start, end)]).subarray(0, 64);
        this.#dropping = this.#partialLength + end - start;
        this.#partial = [];
        this.#partialLength = 0;
      } else if (nl >= 0) {
        const piece = chunk.subarray(start, end);
        const line = this.#partialLength === 0 ? piece : Buffer.concat([...this.#partial, piece]);
        this.#partial = [];
        this.#partialLength = 0;
        emit({ kind: 'line', line });
      } else {
        // Copy: the caller may reuse the chunk's memory.
        this.#partial.push(Buffer.from(chunk.subarray(start, end)));
        this.#partialLength += end - start;
      }
      if (nl < 0) return;
      if (this.#dropping >= 0) {
        emit({ kind: 'overlong', dropped: this.#dropping, head: this.#dropHead });
        this.#dropping = -1;
      }
      start = nl + 1;
    }
  }

  /** Forgets a partial line (after the port reopened). */
  reset(): void {
    this.#partial = [];
    this.#partialLength = 0;
    this.#dropping = -1;
  }
}
