// DiskQueues that tests open on their own, each in a temp dir: quick timers (the cursor saved 20 ms after a change,
// ages checked every 20 ms), and an afterEach hook that closes the queues still open and then removes the dirs.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { QueueConfig } from '../../gateway/upstream/config.js';
import { DiskQueue, type QueueOptions } from '../../gateway/upstream/queue/disk-queue.js';
import { type HookLog, recordHooks, tempDir } from './queue-helpers.js';

const openQueues: DiskQueue[] = [];
const dirs: string[] = [];

/** Registers the hook; call once at the top of a test file. */
export function closeQueuesAfterEach(): void {
  afterEach(async () => {
    await Promise.all(openQueues.splice(0).map((q) => q.close()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
}

/** `queue` in a fresh temp dir that is removed after the test. */
export async function newQueueDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return join(d, 'queue');
}

/** The queue in `dir`, reporting to `hooks`; closed after the test unless closeQueue() closed it. */
export async function openTestQueue(
  dir: string,
  config: QueueConfig,
  hooks: HookLog = recordHooks(),
  clocks?: QueueOptions['clocks'],
) {
  const opened = await DiskQueue.open(dir, config, hooks, {
    cursorPersistMs: 20,
    ageCheckMs: 20,
    ...(clocks ? { clocks } : {}),
  });
  openQueues.push(opened.queue);
  return { ...opened, hooks };
}

/** Closes a queue openTestQueue() opened, before the end of the test. */
export async function closeQueue(q: DiskQueue): Promise<void> {
  await q.close();
  openQueues.splice(openQueues.indexOf(q), 1);
}
