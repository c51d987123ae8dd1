// Shared helpers for the queue and bridge tests: temp dirs, queue config, a hook recorder.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type QueueConfig, queueConfigSchema } from '../../gateway/upstream/config.js';
import type { DropReason, QueueHooks } from '../../gateway/upstream/queue/disk-queue.js';

export const tempDir = (prefix = 'z2m-upstream-') => mkdtemp(join(tmpdir(), prefix));

export const queueConfig = (over: Partial<QueueConfig> = {}): QueueConfig => queueConfigSchema.parse(over);

export interface HookLog extends QueueHooks {
  drops: Record<DropReason, number>;
  diskFullErrors: Error[];
  recoveries: number;
  warnings: Array<{ message: string; details: Record<string, unknown> }>;
  /** What cursorFailing reported, in order (undefined: writes work again). */
  cursorErrors: Array<string | undefined>;
}

export function recordHooks(): HookLog {
  const log: HookLog = {
    drops: { queue_full: 0, max_age: 0, disk_full: 0, corrupt: 0, rejected: 0 },
    diskFullErrors: [],
    recoveries: 0,
    warnings: [],
    cursorErrors: [],
    dropped(count, reason) {
      log.drops[reason] += count;
    },
    diskFull(error) {
      log.diskFullErrors.push(error);
    },
    recovered() {
      log.recoveries++;
    },
    warn(message, details) {
      log.warnings.push({ message, details });
    },
    cursorFailing(error) {
      log.cursorErrors.push(error);
    },
  };
  return log;
}

export const msg = (topic: string, body: string | Buffer, qos: 0 | 1 | 2 = 1) => ({
  topic,
  payload: typeof body === 'string' ? Buffer.from(body) : body,
  qos,
  retain: false,
});
