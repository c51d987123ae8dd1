// After damage in a queue file (a record that does not decode): where the records go on.
//
// The result depends only on the file's bytes from the damage on, never on how the caller buffers its reads: the
// scan of the file being written at start and the reader later must agree on it, as both count the damaged stretch
// as one message (its sequence number).
//
// The damaged record's length may be right (a damaged body: the common case) or wrong itself (then it may still
// land on a valid record, with intact records before it). A record that passes every check, checksum included,
// found inside what the length covers tells them apart: real records lead on, record after record, to where the
// length ends; a record that is only part of the damaged record's payload does not.
import type { FileHandle } from 'node:fs/promises';
import { decodeRecord, findRecord, MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from './record.js';
import { RecordReader } from './record-reader.js';

/** Candidate offsets checked per read. */
const STEP = 1024 * 1024;
/** The longest record the search finds: a longer one right after the damage is lost with it. */
const RESYNC_RECORD_BYTES = 1024 * 1024;

/** The offset of the first whole record after damage at `at` (`size` when the damaged record ends the file), or
 * undefined when none follows up to the end of the file: a torn tail, or damage to the end. */
export async function findNextRecord(fh: FileHandle, at: number, size: number): Promise<number | undefined> {
  const byLength = await endByLength(fh, at, size);
  if (byLength === undefined) return scanFrom(fh, at + 1, size, size);
  let records: RecordReader | undefined;
  // Each candidate that does not lead to byLength is skipped with the records it leads through: one pass.
  for (let from = at + 1; from < byLength; ) {
    // Only records that end by byLength can lead to it.
    const found = await scanFrom(fh, from, byLength, byLength);
    if (found === undefined) break;
    records ??= new RecordReader(fh, size);
    const end = await chainEnd(records, found, byLength);
    if (end === byLength) return found;
    from = Math.max(end, found + 1);
  }
  return byLength;
}

/** Where the damaged record's length leads, when that is the end of the file or a valid record. */
async function endByLength(fh: FileHandle, at: number, size: number): Promise<number | undefined> {
  const bodyLen = await readLength(fh, at, size);
  if (bodyLen === undefined) return undefined;
  const next = at + RECORD_HEADER_BYTES + bodyLen;
  if (next === size) return next;
  return next < size && (await isRecordAt(fh, next, size)) ? next : undefined;
}

/** Follows valid records from `from`: the offset where they stop, or the first record end at or past `to`. */
async function chainEnd(records: RecordReader, from: number, to: number): Promise<number> {
  let pos = from;
  while (pos < to) {
    const bytes = await records.lengthAt(pos);
    if (bytes === 0) break;
    pos += bytes;
  }
  return pos;
}

async function isRecordAt(fh: FileHandle, at: number, size: number): Promise<boolean> {
  const bodyLen = await readLength(fh, at, size);
  if (bodyLen === undefined || at + RECORD_HEADER_BYTES + bodyLen > size) return false;
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLen);
  const { bytesRead } = await fh.read(buf, 0, buf.length, at);
  return decodeRecord(buf.subarray(0, bytesRead)).ok;
}

async function readLength(fh: FileHandle, at: number, size: number): Promise<number | undefined> {
  if (at + RECORD_HEADER_BYTES > size) return undefined;
  const head = Buffer.alloc(4);
  const { bytesRead } = await fh.read(head, 0, 4, at);
  const bodyLen = head.readUInt32LE(0);
  return bytesRead === 4 && bodyLen <= MAX_RECORD_BYTES ? bodyLen : undefined;
}

/** The first offset in [from, limit) where a whole record that ends by `end` starts, trying every offset, STEP at
 * a time. */
async function scanFrom(fh: FileHandle, from: number, limit: number, end: number): Promise<number | undefined> {
  const buf = Buffer.allocUnsafe(Math.max(0, Math.min(STEP + RESYNC_RECORD_BYTES, end - from)));
  for (let pos = from; pos < limit; pos += STEP) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    const found = findRecord(buf, 0, Math.min(STEP, limit - pos), bytesRead);
    if (found >= 0) return pos + found;
  }
  return undefined;
}
