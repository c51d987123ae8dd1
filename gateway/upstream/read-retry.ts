// What the bridge does about a queue file it cannot read. One bad file must not stop delivery for good: an error
// the disk may get over (EIO...) is tried again with the reconnect back-off, READ_RETRIES times, and then, like an
// error that stays until someone acts (EACCES after a `sudo` run...) at once, the file is skipped: its messages
// are counted as dropped (corrupt) and the queue goes on with the next file.
import type { QueueReadError } from './queue/read-error.js';

export const READ_RETRIES = 5;

export class ReadRetry {
  #path: string | undefined;
  #attempts = 0;

  /** The retry number (0 for the first) for this failure, or undefined: skip the file. */
  next(err: QueueReadError): number | undefined {
    if (err.path !== this.#path) {
      this.#path = err.path;
      this.#attempts = 0;
    }
    if (err.transient && this.#attempts < READ_RETRIES) return this.#attempts++;
    this.#path = undefined; // skipped: the next read that works is of another file
    this.#attempts = 0;
    return undefined;
  }

  /** A read worked: true when it ends a run of retries (the file could be read after all). */
  succeeded(): boolean {
    if (this.#path === undefined) return false;
    const retried = this.#attempts > 0;
    this.#path = undefined;
    this.#attempts = 0;
    return retried;
  }
}
