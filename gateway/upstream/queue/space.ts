// The free space of the queue's filesystem: the disk-full probe waits for it, and a max_bytes larger than it is
// warned about (the queue would fill the disk, and the broker's persistence on it, long before its own limit).
import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write in `dir`'s filesystem; undefined when it cannot be read. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  const fs = await statfs(dir).catch(() => undefined);
  return fs ? fs.bavail * fs.bsize : undefined;
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * A warning when the queue may grow beyond the disk: `queued` bytes are already on it (they count as room),
 * `free` is what is left. Undefined when max_bytes fits.
 */
export function maxBytesWarning(maxBytes: number, free: number, queued: number, dir: string): string | undefined {
  const room = free + queued;
  if (maxBytes <= room) return undefined;
  return (
    `bridge.queue.max_bytes (${mib(maxBytes)}) is more than the disk holds for the upstream queue in ${dir} ` +
    `(${mib(room)}): a long outage would fill the disk before the queue drops anything itself, and everything ` +
    `else on it (the broker's persistence) fails too. Set bridge.queue.max_bytes below ${mib(room)}`
  );
}
