// A queue file the reader cannot read (EACCES after a `sudo` run, EIO from a failing SD card...). The queue's
// reads throw it; the bridge decides whether to try again or skip the file (see read-retry.ts).
import { errnoCode } from '../../datadir-error.js';
import { fixFor, shortError } from './fs-advice.js';

/** Errors the disk or the system may get over by themselves. Anything else (permissions, a directory in the
 * file's place, a deleted file) stays until someone acts. */
const TRANSIENT = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE', 'ENOMEM', 'ETIMEDOUT']);

export class QueueReadError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    /** Messages from the reader's position to the end of the file: what skipping the file drops. */
    readonly messages: number,
    cause: unknown,
  ) {
    super(`cannot read upstream queue file ${path} (${shortError(cause)})`, { cause });
    this.name = 'QueueReadError';
    this.code = errnoCode(cause);
  }

  get transient(): boolean {
    return TRANSIENT.has(this.code ?? '');
  }

  /** What the operator can do about it, if anything. */
  get fix(): string | undefined {
    return fixFor(this.cause, this.path);
  }
}
