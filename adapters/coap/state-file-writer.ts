// Saves one of the CoAP adapter's state files (saved-state-file.ts) after every change, coalesced and off the request
// path: at most one atomic write a second, so a burst of changes (hundreds of devices registering after a power cut)
// is one write and a crash loses at most the last second's changes. A failed save (full disk, permissions) is said
// once and tried again every 30 s.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../gateway/logger.js';
import { replaceFile } from '../../gateway/replace-file.js';
import { CoalescedWrites } from './coalesced-writes.js';

const SAVE_DELAY_MS = 1000;
const RETRY_MS = 30_000;

export class StateFileWriter {
  private readonly writes: CoalescedWrites;

  /** `text` gives the whole file as it is to be now; `lost` says what a failed save puts at risk, for the log. */
  constructor(
    readonly file: string,
    private readonly text: () => string,
    private readonly logger: Logger,
    private readonly lost: string,
  ) {
    this.writes = new CoalescedWrites(
      () => this.save(),
      SAVE_DELAY_MS,
      RETRY_MS,
      (err) => this.failed(err),
    );
  }

  changed(): void {
    this.writes.changed();
  }

  /** Saves what changed and stops saving (its owner stops). */
  close(): Promise<void> {
    return this.writes.close();
  }

  private async save(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await replaceFile(this.file, this.text());
  }

  private failed(err: unknown): void {
    if (err === undefined) this.logger.info({ file: this.file }, `${this.file} is saved again`);
    else
      this.logger.warn(
        { err, file: this.file },
        `cannot save ${this.file}: ${this.lost} (retried every ${RETRY_MS / 1000} s)`,
      );
  }
}
