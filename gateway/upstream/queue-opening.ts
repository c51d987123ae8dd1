// Opening the upstream's durable queue, with its problems (disk full, files it cannot read or write) wired to
// the log and bridge/event, and a warning when queue.max_bytes does not fit on the disk.
import type { Logger } from '../logger.js';
import type { RateLimitedLog } from '../rate-limited-log.js';
import type { UpstreamConfig } from './config.js';
import { DiskQueue, type DropReason, type QueueOptions } from './queue/disk-queue.js';
import { freeBytes, maxBytesWarning } from './queue/space.js';

export interface QueueOpeningDeps {
  dir: string;
  logger: Logger;
  event: (type: string, data: Record<string, unknown>) => void;
  /** Warnings of the queue's files, rate-limited per file. */
  queueLog: RateLimitedLog;
  dropped(count: number, reason: DropReason): void;
  cursorFailing(error: string | undefined): void;
  /** Test hooks for the queue's timers. */
  options: QueueOptions | undefined;
  /** The queue is open (called before it is said to be). */
  opened(queue: DiskQueue): void;
}

export async function openUpstreamQueue(config: UpstreamConfig['queue'], deps: QueueOpeningDeps): Promise<void> {
  const { logger, dir } = deps;
  const { queue, recovery } = await DiskQueue.open(
    dir,
    config,
    {
      dropped: (count, reason) => deps.dropped(count, reason),
      diskFull: (error) => {
        logger.error({ err: error, dir }, 'upstream queue cannot write: refusing new messages');
        deps.event('upstream', { event: 'queue_disk_full', error: error.message, dir });
      },
      recovered: () => {
        logger.warn({ dir }, 'upstream queue writes again');
        deps.event('upstream', { event: 'queue_recovered', dir });
      },
      warn: (message, details) => deps.queueLog.warn(String(details.file ?? message), details, message),
      cursorFailing: (error) => deps.cursorFailing(error),
    },
    deps.options,
  );
  deps.opened(queue);
  logger.info({ depth: recovery.depth, dir }, 'upstream queue open');
}

/** Warns when queue.max_bytes does not fit on the disk: the disk would fill up before the queue's own limit. */
export async function checkQueueSpace(
  queue: DiskQueue | undefined,
  config: UpstreamConfig['queue'],
  deps: Pick<QueueOpeningDeps, 'dir' | 'logger' | 'event'>,
): Promise<void> {
  const { dir } = deps;
  const free = queue && (await freeBytes(dir));
  if (!queue || free === undefined) return;
  const { max_bytes } = config;
  const warning = maxBytesWarning(max_bytes, free, queue.stats().bytes, dir);
  if (!warning) return;
  deps.logger.warn({ max_bytes, free_bytes: free, dir }, warning);
  deps.event('upstream', { event: 'queue_space_low', warning, max_bytes, free_bytes: free, dir });
}
