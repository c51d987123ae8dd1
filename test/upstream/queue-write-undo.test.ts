// A write that fails part way leaves part of a record in the file being written; the queue cuts it off. When even
// that cut fails, nothing may be written after the partial record: the queue's idea of where the file ends (and
// so where the next records are read from) would be wrong from then on. Faults are injected into
// node:fs/promises: a real disk does not fail on demand.
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { readIds, recordsOf, segments } from './queue-damage-helpers.js';
import { msg, queueConfig, recordHooks, tempDir } from './queue-helpers.js';

/** What the queue's writer (a file opened for appending) does next: write only half, then fail; fail a truncate. */
const faults = vi.hoisted(() => ({ halfWrites: 0, failedTruncates: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const errno = (code: string, syscall: string) =>
    Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });
  const open: typeof fs.open = async (path, flags, mode) => {
    const fh = await fs.open(path, flags, mode);
    if (flags !== 'a') return fh;
    const write = fh.write.bind(fh) as (buf: Buffer, off: number, len: number, pos: null) => Promise<unknown>;
    (fh as { write: unknown }).write = async (buf: Buffer, off: number, len: number, pos: null) => {
      if (faults.halfWrites <= 0) return write(buf, off, len, pos);
      faults.halfWrites--;
      await write(buf, off, Math.floor(len / 2), pos);
      throw errno('ENOSPC', 'write');
    };
    const truncate = fh.truncate.bind(fh);
    fh.truncate = async (len) => {
      if (faults.failedTruncates > 0) {
        faults.failedTruncates--;
        throw errno('EIO', 'ftruncate');
      }
      return truncate(len);
    };
    return fh;
  };
  return { ...fs, open, default: { ...fs, open } };
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  faults.halfWrites = 0;
  faults.failedTruncates = 0;
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openQueue(dir: string) {
  const hooks = recordHooks();
  const config = queueConfig({ segment_bytes: 64 * 1024, fsync: 'never' });
  // No pause after a failed write: the next append tries again at once.
  const { queue } = await DiskQueue.open(dir, config, hooks, { diskFullRetryMs: 0, cursorPersistMs: 20 });
  cleanups.push(() => queue.close());
  return { queue, hooks };
}

async function queueDir(): Promise<string> {
  const d = await tempDir();
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return join(d, 'queue');
}

describe('a failed write whose partial record cannot be cut off', () => {
  it('is cut off before the next write, which then lands where the queue reads it', async () => {
    const dir = await queueDir();
    const { queue, hooks } = await openQueue(dir);
    for (let i = 0; i < 3; i++) expect(await queue.append(msg('t', `${i}:${'x'.repeat(500)}`))).toBe('queued');

    faults.halfWrites = 1;
    faults.failedTruncates = 1;
    expect(await queue.append(msg('t', `lost:${'x'.repeat(500)}`))).toBe('dropped');
    expect(hooks.drops.disk_full).toBe(1);
    for (let i = 3; i < 6; i++) expect(await queue.append(msg('t', `${i}:${'y'.repeat(500)}`))).toBe('queued');

    // Read back from the file, not from the last write kept in memory.
    expect(await readIds(queue)).toEqual([0, 1, 2, 3, 4, 5]);
    const [only] = await segments(dir);
    const file = join(dir, only!);
    expect((await recordsOf(file)).map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(queue.stats().bytes).toBe((await stat(file)).size);
    expect(hooks.drops.corrupt).toBe(0);
  });

  it('while the cut keeps failing nothing is written after the partial record', async () => {
    const dir = await queueDir();
    const { queue, hooks } = await openQueue(dir);
    expect(await queue.append(msg('t', `0:${'x'.repeat(500)}`))).toBe('queued');
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const good = await readFile(file);

    faults.halfWrites = 1;
    faults.failedTruncates = 2;
    expect(await queue.append(msg('t', `lost:${'x'.repeat(500)}`))).toBe('dropped');
    expect(await queue.append(msg('t', `refused:${'x'.repeat(500)}`))).toBe('dropped');
    expect(hooks.drops.disk_full).toBe(2);
    const torn = (await stat(file)).size;
    expect(torn).toBeGreaterThan(good.length); // the partial record is still there

    expect(await queue.append(msg('t', `1:${'y'.repeat(500)}`))).toBe('queued');
    expect((await recordsOf(file)).map((r) => r.id)).toEqual([0, 1]);
    expect(await readIds(queue)).toEqual([0, 1]);
  });
});
