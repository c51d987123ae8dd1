// After a failed write the queue refuses appends for diskFullRetryMs, measured on the monotonic clock: a wall clock
// set back meanwhile (NTP on a board without a real-time clock) must not stretch the pause by the step. The write
// failure is injected into node:fs/promises: a real disk does not fail on demand.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { msg, queueConfig, recordHooks, tempDir } from './queue-helpers.js';

const faults = vi.hoisted(() => ({ failedWrites: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = async (path, flags, mode) => {
    const fh = await fs.open(path, flags, mode);
    if (flags !== 'a') return fh;
    const write = fh.write.bind(fh) as (buf: Buffer, off: number, len: number, pos: null) => Promise<unknown>;
    (fh as { write: unknown }).write = async (buf: Buffer, off: number, len: number, pos: null) => {
      if (faults.failedWrites <= 0) return write(buf, off, len, pos);
      faults.failedWrites--;
      throw Object.assign(new Error('ENOSPC: injected, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    return fh;
  };
  return { ...fs, open, default: { ...fs, open } };
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  faults.failedWrites = 0;
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('the pause after a failed write ends on time although the wall clock was set back during it', async () => {
  const d = await tempDir();
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  const now = { wall: Date.UTC(2026, 11, 6, 14), mono: 1_000 };
  const clocks = { wall: () => now.wall, mono: () => now.mono };
  const hooks = recordHooks();
  const config = queueConfig({ fsync: 'never' });
  const { queue } = await DiskQueue.open(join(d, 'queue'), config, hooks, { diskFullRetryMs: 5_000, clocks });
  cleanups.push(() => queue.close());

  faults.failedWrites = 1;
  expect(await queue.append(msg('t', 'lost'))).toBe('dropped');
  expect(hooks.diskFullErrors).toHaveLength(1);
  now.wall -= 3600_000;
  now.mono += 4_999;
  expect(await queue.append(msg('t', 'refused'))).toBe('dropped');
  now.mono += 2;
  expect(await queue.append(msg('t', 'queued'))).toBe('queued');
  expect(hooks.recoveries).toBe(1);
  expect(hooks.drops.disk_full).toBe(2);
});
