// Splits a serial byte stream into lines. A line ends with LF, CR or CRLF: some firmware ends lines with a lone CR,
// and CRLF stays one ending even when its CR and LF arrive in different reads. Memory is bounded: a line longer than
// `maxLineBytes` is dropped up to the next line ending (resync) and reported once.
export type SplitEvent = { kind: 'line'; line: Buffer } | { kind: 'overlong'; dropped: number; head: Buffer };

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  #partial: Buffer[] = [];
  #partialLength = 0;
  /** Bytes dropped from the current overlong line; -1 when not discarding. */
  #dropping = -1;
  #dropHead: Buffer = Buffer.alloc(0);
  /** The last line ended with a CR at the end of a read: an LF that starts the next read belongs to it. */
  #afterCr = false;

  /** `maxLineBytes` of text, the line ending not counted. */
  constructor(private readonly maxLineBytes = 4096) {}

  /** Emits a line (possibly empty: the demux ignores blank lines, but one may end text an SMP frame cut). */
  push(chunk: Buffer, emit: (event: SplitEvent) => void): void {
    let start = 0;
    if (this.#afterCr && chunk.length > 0) {
      this.#afterCr = false;
      if (chunk[0] === LF) start = 1;
    }
    // Next LF and next CR at or after `start` (-1: none in the chunk), each found once per occurrence.
    let lf = -2;
    let cr = -2;
    while (start < chunk.length) {
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      const stop = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      const end = stop < 0 ? chunk.length : stop;
      if (this.#dropping >= 0) {
        this.#dropping += end - start;
      } else if (this.#partialLength + end - start > this.maxLineBytes) {
        this.#dropHead = Buffer.concat([...this.#partial, chunk.subarray(start, end)]).subarray(0, 64);
        this.#dropping = this.#partialLength + end - start;
        this.#partial = [];
        this.#partialLength = 0;
      } else if (stop >= 0) {
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
      if (stop < 0) return;
      if (this.#dropping >= 0) {
        emit({ kind: 'overlong', dropped: this.#dropping, head: this.#dropHead });
        this.#dropping = -1;
      }
      start = stop + 1;
      if (chunk[stop] === CR) {
        if (start === chunk.length) this.#afterCr = true;
        else if (chunk[start] === LF) start++;
      }
    }
  }

  /** Forgets a partial line (after the port reopened). */
  reset(): void {
    this.#partial = [];
    this.#partialLength = 0;
    this.#dropping = -1;
    this.#afterCr = false;
  }
}
