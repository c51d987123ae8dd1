// Checks the records of a file one offset after another, reading it a chunk at a time rather than once per record.
import type { FileHandle } from 'node:fs/promises';
import { decodeRecordView, RECORD_HEADER_BYTES, type RecordView, VIEW_OK, VIEW_TRUNCATED } from './record.js';

const READ_CHUNK = 1024 * 1024;

/** Reads a file a chunk at a time and checks the record at an offset, without a copy per record. */
export class RecordReader {
  #buf = Buffer.allocUnsafe(READ_CHUNK);
  #start = 0;
  #len = 0;
  readonly #view = {} as RecordView;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
  ) {}

  /** The length of the whole, valid record at `pos`, or 0 (damage, or a torn write). */
  async lengthAt(pos: number): Promise<number> {
    let needed = RECORD_HEADER_BYTES;
    // A chunk, then (a record larger than the chunk) the whole record.
    for (let reads = 0; reads <= 2; reads++) {
      if (pos >= this.#start && pos + needed <= this.#start + this.#len) {
        const status = decodeRecordView(this.#buf, pos - this.#start, this.#len, this.#view);
        if (status === VIEW_OK) return this.#view.bytes;
        if (status !== VIEW_TRUNCATED) return 0;
        needed = this.#view.bytes;
      }
      if (pos + needed > this.size) return 0;
      await this.#fill(pos, Math.max(READ_CHUNK, needed));
    }
    return 0;
  }

  async #fill(pos: number, want: number): Promise<void> {
    const len = Math.min(want, this.size - pos);
    if (len > this.#buf.length) this.#buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await this.fh.read(this.#buf, 0, len, pos);
    this.#start = pos;
    this.#len = bytesRead;
  }
}
