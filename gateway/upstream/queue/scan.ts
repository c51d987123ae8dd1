// The file being written, checked record by record at start: the queue appends after its last whole record.
import { open } from 'node:fs/promises';
import { RecordReader } from './record-reader.js';
import { findNextRecord } from './resync.js';

export interface SegmentScan {
  /** Where the records end; what follows is a torn write, or damage that nothing valid follows. */
  validBytes: number;
  /** Messages in the file: its whole records, plus one per damaged stretch that valid records follow (the reader
   * skips such a stretch as one message too). */
  count: number;
  /** Messages before `cursorOffset`, when a record or a damaged stretch starts there. */
  countAtCursor: number | undefined;
  /** When `cursorOffset` lies inside a damaged stretch that valid records follow: the messages before the
   * stretch, and where the records go on. */
  cursorInDamage: { countBefore: number; resumeAt: number } | undefined;
}

export async function scanSegment(path: string, cursorOffset = -1): Promise<SegmentScan> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const records = new RecordReader(fh, size);
    let pos = 0;
    let count = 0;
    let countAtCursor: number | undefined;
    let cursorInDamage: SegmentScan['cursorInDamage'];
    while (pos < size) {
      if (pos === cursorOffset) countAtCursor = count;
      const bytes = await records.lengthAt(pos);
      const next = bytes > 0 ? pos + bytes : await findNextRecord(fh, pos, size);
      if (next === undefined) break;
      if (bytes === 0 && pos < cursorOffset && cursorOffset < next)
        cursorInDamage = { countBefore: count, resumeAt: next };
      pos = next;
      count++;
    }
    if (pos === cursorOffset) countAtCursor = count;
    return { validBytes: pos, count, countAtCursor, cursorInDamage };
  } finally {
    await fh.close();
  }
}
