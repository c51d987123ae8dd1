// Keeps the /ps/<id>/set relations and last commands in command-observers.json (command-observers-file.ts): saved
// after every change, coalesced, off the request path; read back when the adapter starts, for the devices still
// configured.
import { join } from 'node:path';
import type { Logger } from '../../gateway/logger.js';
import type { CommandObservers, SavedDevice } from './command-observers.js';
import { OBSERVERS_FILE, readObserversFile, serializeObservers } from './command-observers-file.js';
import { addressMatcher } from './identity.js';
import { warnUnusable } from './saved-state-file.js';
import { StateFileWriter } from './state-file-writer.js';

/** What restoring needs of a device entry. */
export interface RestoreDevice {
  id: string;
  ps_id?: string | undefined;
  address?: string | undefined;
  lwm2m?: unknown;
}

export class CommandObserversStore {
  readonly file: string;
  private readonly writer: StateFileWriter;

  constructor(
    dir: string,
    private readonly observers: () => CommandObservers,
    private readonly logger: Logger,
  ) {
    this.file = join(dir, OBSERVERS_FILE);
    // A relation registered in the last second before a crash can be lost; the sequence numbers it used are covered
    // by RESTORED_SEQUENCE_JUMP.
    this.writer = new StateFileWriter(
      this.file,
      () => serializeObservers(this.observers().saved()),
      logger,
      '/ps/<id>/set observations and kept commands would not survive a crash',
    );
  }

  changed(): void {
    this.writer.changed();
  }

  /** What the file holds, checked; undefined when there is none or it cannot be used (said so). */
  async read(): Promise<ReadonlyMap<string, SavedDevice> | undefined> {
    const saved = await readObserversFile(this.file);
    if (saved.state === 'none') return undefined;
    if (saved.state === 'unusable') {
      warnUnusable(
        this.logger,
        this.file,
        saved,
        'devices that observed /ps/<id>/set before the restart get commands again once they register again, and commands kept for sleeping devices are lost',
      );
      return undefined;
    }
    if (saved.invalid.length > 0) {
      this.logger.warn(
        { file: this.file, devices: saved.invalid },
        `${this.file}: entries that do not pass the check were dropped (${saved.invalid.length})`,
      );
    }
    return saved.devices;
  }

  /**
   * Takes back what read() gave for `devices` (the configured ones): a device no longer configured, an LwM2M one
   * (it has no /ps), or an observer from another address than the device's configured one is dropped, not told:
   * whoever has that address now never asked for it.
   */
  restore(saved: ReadonlyMap<string, SavedDevice>, devices: readonly RestoreDevice[]): void {
    let relations = 0;
    let commands = 0;
    const dropped: string[] = [];
    // By the id it was saved under, else by the old id a device renamed since keeps as ps_id (moved to its new id
    // with the devices).
    const byId = new Map(devices.map((d) => [d.id, d]));
    const byPsId = new Map(devices.flatMap((d) => (d.ps_id === undefined ? [] : [[d.ps_id, d] as const])));
    for (const [id, entry] of saved) {
      const device = byId.get(id) ?? byPsId.get(id);
      if (!device || device.lwm2m) {
        dropped.push(id);
        continue;
      }
      relations += this.observers().restore(id, { ...entry, observers: fromItsAddress(device, entry) });
      if (entry.command) commands++;
    }
    this.logger.info(
      { file: this.file, relations, commands, ...(dropped.length > 0 ? { dropped } : {}) },
      `/ps/<id>/set: restored ${relations} observations and ${commands} kept commands from before the restart${dropped.length > 0 ? `; dropped those of ${dropped.length} devices no longer configured (or now LwM2M)` : ''}`,
    );
  }

  /** Saves what changed and stops saving (the adapter stops). */
  close(): Promise<void> {
    return this.writer.close();
  }
}

function fromItsAddress(device: RestoreDevice, entry: SavedDevice): SavedDevice['observers'] {
  if (!device.address) return entry.observers;
  const matches = addressMatcher(device.address);
  return entry.observers.filter((o) => matches(o.peer.address));
}
