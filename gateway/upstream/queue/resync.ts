// After damage in a queue file (a record that does not decode): where the records go on.
//
// The result depends only on the file's bytes from the damage on, never on how the caller buffers its reads: the
// scan of the file being written at start and the reader later must agree on it, as both count the damaged stretch
// as one message (its sequence number).
import type { FileHandle } from 'node:fs/promises';
import { decodeRecord, findRecord, MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from './record.js';

/** How far past the damage the search goes; when nothing valid starts within it, the rest of the file is lost. */
export const RESYNC_SCAN_BYTES = 16 * 1024 * 1024;
/** Candidate offsets checked per read. */
const STEP = 1024 * 1024;
/** The longest record the search finds: a longer one right after the damage is lost with it. */
const RESYNC_RECORD_BYTES = 1024 * 1024;

/** The offset of the first whole record after damage at `at` (`size` when the damaged record ends the file), or
 * undefined when none follows within RESYNC_SCAN_BYTES: a torn tail, or damage to the end. */
export async function findNextRecord(fh: FileHandle, at: number, size: number): Promise<number | undefined> {
  return (await skipByLength(fh, at, size)) ?? (await scanFrom(fh, at + 1, size));
}

/** The common case, a damaged body: the length still leads to the end of the file or to a valid record. */
async function skipByLength(fh: FileHandle, at: number, size: number): Promise<number | undefined> {
  const bodyLen = await readLength(fh, at, size);
  if (bodyLen === undefined) return undefined;
  const next = at + RECORD_HEADER_BYTES + bodyLen;
  if (next === size) return next;
  return next < size && (await isRecordAt(fh, next, size)) ? next : undefined;
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

/** Tries every offset from `from` on, STEP at a time. */
async function scanFrom(fh: FileHandle, from: number, size: number): Promise<number | undefined> {
  const limit = Math.min(size, from + RESYNC_SCAN_BYTES);
  const buf = Buffer.allocUnsafe(STEP + RESYNC_RECORD_BYTES);
  for (let pos = from; pos < limit; pos += STEP) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    const found = findRecord(buf, 0, Math.min(STEP, limit - pos), bytesRead);
    if (found >= 0) return pos + found;
  }
  return undefined;
}
