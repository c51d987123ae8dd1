// Keeps the LwM2M registrations in lwm2m-registrations.json (registrations-file.ts): saved after every Register,
// Update, De-register and expiry, coalesced, off the request path; read back when the adapter starts.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../gateway/logger.js';
import { replaceFile } from '../../../gateway/replace-file.js';
import { CoalescedWrites } from '../coalesced-writes.js';
import type { Registration } from './registration-store.js';
import {
  REGISTRATIONS_FILE,
  readRegistrationsFile,
  type SavedRegistration,
  serializeRegistrations,
} from './registrations-file.js';

/**
 * One save a second at most: 1,000 clients registering after a power cut cost one write a second, and a crash loses
 * at most the last second's changes (a client registered in it gets 4.04 at its next Update and registers again).
 */
const SAVE_DELAY_MS = 1000;
/** After a failed save (full disk, permissions): said once, tried again this much later. */
const RETRY_MS = 30_000;

export class SavedRegistrations {
  readonly file: string;
  private readonly writes: CoalescedWrites;

  constructor(
    private readonly dir: string,
    private readonly registrations: () => readonly Registration[],
    private readonly logger: Logger,
  ) {
    this.file = join(dir, REGISTRATIONS_FILE);
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

  /**
   * What the file holds, checked; `unusable` names the endpoints of entries that do not pass, or is `true` when the
   * whole file cannot be used (said so): the registrations it held are lost.
   */
  async read(): Promise<{ registrations: SavedRegistration[]; unusable: string[] | true }> {
    const saved = await readRegistrationsFile(this.file);
    if (saved.state === 'none') return { registrations: [], unusable: [] };
    if (saved.state === 'unusable') {
      const where = saved.movedTo ? `moved to ${saved.movedTo}` : 'left as it is';
      this.logger.warn(
        { file: this.file, reason: saved.reason },
        `${this.file} cannot be used (${saved.reason}): ignored and ${where}; LwM2M clients registered before the restart are offline until they register again (their next Update gets 4.04)`,
      );
      return { registrations: [], unusable: true };
    }
    if (saved.invalid.length > 0) {
      this.logger.warn(
        { file: this.file, endpoints: saved.invalid },
        `${this.file}: LwM2M registrations that do not pass the check were dropped (${saved.invalid.length})`,
      );
    }
    return { registrations: saved.registrations, unusable: saved.invalid };
  }

  /** Saves what changed and stops saving (the server stops). */
  close(): Promise<void> {
    return this.writes.close();
  }

  private async save(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await replaceFile(this.file, serializeRegistrations(this.registrations()));
  }

  private failed(err: unknown): void {
    if (err === undefined) this.logger.info({ file: this.file }, `${this.file} is saved again`);
    else
      this.logger.warn(
        { err, file: this.file },
        `cannot save ${this.file}: LwM2M registrations would not survive a restart (retried every ${RETRY_MS / 1000} s)`,
      );
  }
}
