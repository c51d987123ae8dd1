// File system errors on the queue's files, in words for the log and last_error: what failed and what to do.
import { dirname } from 'node:path';
import { errnoCode } from '../../datadir-error.js';

/** `EACCES: permission denied` out of a Node file system error (whose message repeats the path). */
export function shortError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^([A-Z][A-Z0-9]+: [^,]+)/.exec(message)?.[1] ?? message;
}

/** What the operator can do about `err` on `path`, if anything. */
export function fixFor(err: unknown, path: string): string | undefined {
  const dir = dirname(path);
  switch (errnoCode(err)) {
    case 'EACCES':
    case 'EPERM':
      return `give ${dir} and its files back to the user the gateway runs as: chown -R ${owner()} ${dir} (a gateway run with sudo leaves files only root can read)`;
    case 'EISDIR':
      return `${path} is a directory where the queue keeps a file: remove it`;
    case 'EROFS':
      return `the file system holding ${dir} is mounted read-only`;
    case 'EIO':
      return 'the disk reports I/O errors (a failing SD card or disk?): check the kernel log (dmesg) and replace it';
    default:
      return undefined;
  }
}

function owner(): string {
  return process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : '<gateway user>';
}
