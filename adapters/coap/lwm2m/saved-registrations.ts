// Keeps the LwM2M registrations in lwm2m-registrations.json (registrations-file.ts): saved after every Register,
// Update, De-register and expiry, coalesced, off the request path; read back when the adapter starts.
import { join } from 'node:path';
import type { Logger } from '../../../gateway/logger.js';
import { warnUnusable } from '../saved-state-file.js';
import { StateFileWriter } from '../state-file-writer.js';
import type { Registration } from './registration-store.js';
import {
  REGISTRATIONS_FILE,
  readRegistrationsFile,
  type SavedRegistration,
  serializeRegistrations,
} from './registrations-file.js';

export class SavedRegistrations {
  readonly file: string;
  private readonly writer: StateFileWriter;

  constructor(
    dir: string,
    private readonly registrations: () => readonly Registration[],
    private readonly logger: Logger,
  ) {
    this.file = join(dir, REGISTRATIONS_FILE);
    // A client registered in the last second before a crash can be lost: it gets 4.04 at its next Update and
    // registers again.
    this.writer = new StateFileWriter(
      this.file,
      () => serializeRegistrations(this.registrations()),
      logger,
      'LwM2M registrations would not survive a restart',
    );
  }

  changed(): void {
    this.writer.changed();
  }

  /**
   * What the file holds, checked; `unusable` names the endpoints of entries that do not pass, or is `true` when the
   * whole file cannot be used (said so): the registrations it held are lost.
   */
  async read(): Promise<{ registrations: SavedRegistration[]; unusable: string[] | true }> {
    const saved = await readRegistrationsFile(this.file);
    if (saved.state === 'none') return { registrations: [], unusable: [] };
    if (saved.state === 'unusable') {
      warnUnusable(
        this.logger,
        this.file,
        saved,
        'LwM2M clients registered before the restart are offline until they register again (their next Update gets 4.04)',
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
    return this.writer.close();
  }
}
