// The firmware check the gateway runs by itself: at start-up and for devices a reload adds or changes, the newest image of each
// updatable device's own directory, firmware/<id>/ (the image ota_update/check and an update without a file take),
// becomes its `update.latest_version`, so Home Assistant's update entity and the dashboard know it before anyone sends
// ota_update/check. Only image headers are read, one device after the other, after the gateway is up. The device is
// not asked which version it runs (its link may not be up yet, and start-up sends nothing to devices):
// `installed_version` stays as the last check or update read it, and the next ota_update/check refreshes both.

import { deviceFirmwareDir, deviceFirmwareFiles, newestImage } from '../adapters/common/smp/firmware-files.js';
import { checkedUpdate } from '../adapters/common/smp/ota-request.js';
import type { StateValues } from './adapter.js';
import { AdapterHost } from './adapter-host.js';
import type { Logger } from './logger.js';
import { RateLimitedLog } from './rate-limited-log.js';

export interface FirmwareCheckDeps {
  /** gateway.data_dir, resolved: a device's directory is <data_dir>/adapters/<kind>/firmware/<id>/. */
  dataDir: string;
  logger: Logger;
  /** The device's transport when its adapter can update its firmware; undefined for others, unknown ids, disabled. */
  updatableTransport(id: string): string | undefined;
  /** The device's current state, whose `update` the result is compared with. */
  state(id: string): StateValues | undefined;
  /** Merges `{update}` into the device state and publishes it as the gateway's status (AdapterContext.deviceStatus):
   * last_seen and availability untouched. */
  publishStatus(id: string, values: StateValues): void;
}

/** A problem with a device's directory is logged once an hour, not at every reload. */
const LOG_INTERVAL_MS = 60 * 60 * 1000;

export class FirmwareCheck {
  readonly #queue = new Set<string>();
  readonly #log: RateLimitedLog;
  #run: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly deps: FirmwareCheckDeps) {
    this.#log = new RateLimitedLog(deps.logger, 1, LOG_INTERVAL_MS);
  }

  /**
   * Queues these devices (each at most once) and checks them one after the other, in the background: the returned
   * promise, for tests and tools, settles when the queue is empty; it never rejects.
   */
  check(ids: Iterable<string>): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    for (const id of ids) this.#queue.add(id);
    if (this.#queue.size === 0) return this.#run ?? Promise.resolve();
    // #drain awaits before it can finish, so #run is set before its `finally` clears it.
    this.#run ??= this.#drain();
    return this.#run;
  }

  /** Nothing more is checked or published (a device in the middle of its check is dropped). */
  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
  }

  async #drain(): Promise<void> {
    try {
      // A Set visits what check() adds meanwhile.
      for (const id of this.#queue) {
        this.#queue.delete(id);
        if (this.#stopped) return;
        try {
          await this.#checkDevice(id);
        } catch (err) {
          this.#log.warn(
            `firmware_check:${id}`,
            { device: id, err: err instanceof Error ? err.message : String(err) },
            `device "${id}": its firmware directory could not be checked`,
          );
        }
      }
    } finally {
      this.#run = undefined;
    }
  }

  async #checkDevice(id: string): Promise<void> {
    const transport = this.deps.updatableTransport(id);
    if (!transport) return;
    const root = { dataDir: AdapterHost.dataDirFor(this.deps.dataDir, transport) };
    const { files, missing } = await deviceFirmwareFiles(root, id);
    if (missing || files.length === 0) return; // no directory of its own: nothing to offer, nothing to say
    const newest = newestImage(files);
    if (newest?.version === undefined) {
      this.#log.warn(
        `firmware_check:${id}`,
        { device: id, dir: deviceFirmwareDir(root, id), files: files.length },
        `device "${id}": no MCUboot image among the files of its firmware directory`,
      );
      return;
    }
    // Read now, right before publishing (no await in between): an update that started meanwhile is not overwritten.
    const update = this.deps.state(id)?.update as Record<string, unknown> | undefined;
    if (this.#stopped || update?.state === 'updating') return;
    // A check, an update or an earlier start said it already (and a failed update's error stays in view).
    if (update?.latest_version === newest.version) return;
    const installed = typeof update?.installed_version === 'string' ? update.installed_version : undefined;
    this.deps.logger.debug({ device: id, file: `${id}/${newest.name}`, version: newest.version }, 'firmware checked');
    this.deps.publishStatus(id, { update: checkedUpdate(installed, newest.version) });
  }
}
