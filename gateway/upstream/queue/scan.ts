// The file being written, checked record by record at start: the queue appends after its last whole record.
import { type FileHandle, open } from 'node:fs/promises';
import { decodeRecordView, RECORD_HEADER_BYTES, type RecordView, VIEW_OK, VIEW_TRUNCATED } from './record.js';
import { findNextRecord } from './resync.js';

const READ_CHUNK = 1024 * 1024;

export interface SegmentScan {
  /** Where the records end; what follows is a torn write, or damage that nothing valid follows. */
  validBytes: number;
  /** Messages in the file: its whole records, plus one per damaged stretch that valid records follow (the reader
   * skips such a stretch as one message too). */
  count: number;
  /** Messages before `cursorOffset`, when a record or a damaged stretch starts there. */
  countAtCursor: number | undefined;
}

export async function scanSegment(path: string, cursorOffset = -1): Promise<SegmentScan> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const records = new RecordReader(fh, size);
    let pos = 0;
    let count = 0;
    let countAtCursor: number | undefined;
    while (pos < size) {
      if (pos === cursorOffset) countAtCursor = count;
      const bytes = await records.lengthAt(pos);
      const next = bytes > 0 ? pos + bytes : await findNextRecord(fh, pos, size);
      if (next === undefined) break;
      pos = next;
      count++;
    }
    if (pos === cursorOffset) countAtCursor = count;
    return { validBytes: pos, count, countAtCursor };
  } finally {
    await fh.close();
  }
}

/** Reads a file a chunk at a time and checks the record at an offset, without a copy per record. */
class RecordReader {
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
