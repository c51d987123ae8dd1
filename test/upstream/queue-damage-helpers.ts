// Helpers for the damaged-queue tests: a queue's files, their records, damage written into them, what is read.
import { open, readdir, readFile } from 'node:fs/promises';
import type { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { decodeRecord } from '../../gateway/upstream/queue/record.js';

export const segments = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();

/** The message number of each record of a queue file (payloads `<n>:...`), with where it starts. */
export async function recordsOf(file: string): Promise<Array<{ id: number; offset: number; bytes: number }>> {
  const buf = await readFile(file);
  const out: Array<{ id: number; offset: number; bytes: number }> = [];
  for (let off = 0; off < buf.length; ) {
    const res = decodeRecord(buf, off);
    if (!res.ok) throw new Error(`unexpected damage at ${off}`);
    out.push({ id: Number(res.message.payload.toString().split(':')[0]), offset: off, bytes: res.bytes });
    off += res.bytes;
  }
  return out;
}

export async function overwrite(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  await fh.write(bytes, 0, bytes.length, offset);
  await fh.close();
}

/** The message numbers the queue hands out, in order. */
export async function readIds(q: DiskQueue): Promise<number[]> {
  const ids: number[] = [];
  for (;;) {
    const n = await q.readBatch(1000, 1 << 20, (v) =>
      ids.push(Number(v.buf.toString('latin1', v.topicEnd, v.topicEnd + 8).split(':')[0])),
    );
    if (n === 0) return ids;
  }
}

export const allBut = (count: number, lost: number[]) =>
  Array.from({ length: count }, (_, i) => i).filter((i) => !lost.includes(i));
