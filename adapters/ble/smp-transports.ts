// One BLE SMP transport per configured device with SMP on, kept across reconnects (an upload's bookkeeping is keyed
// by the transport's client) and replaced only when the device's SMP settings change.
import type { AdapterContext } from '../../gateway/adapter.js';
import { type BleSmpSettings, smpSettings } from './config.js';
import type { BleDevice } from './identity.js';
import { BleSmpTransport } from './smp-transport.js';

export class SmpTransports {
  readonly #byDevice = new Map<string, { settings: string; transport: BleSmpTransport }>();

  constructor(private readonly ctx: Pick<AdapterContext, 'countMessage' | 'decodeError' | 'logger'>) {}

  get(deviceId: string): BleSmpTransport | undefined {
    return this.#byDevice.get(deviceId)?.transport;
  }

  /** Applies a device list. A dropped or replaced transport is detached by its session's disconnect, which the
   * connection manager does for every device whose entry changed. */
  sync(devices: readonly BleDevice[]): void {
    const wanted = new Map<string, BleSmpSettings>();
    for (const d of devices) {
      const settings = d.disabled ? undefined : smpSettings(d);
      if (settings) wanted.set(d.id, settings);
    }
    for (const [id, entry] of this.#byDevice) {
      const next = wanted.get(id);
      if (!next || JSON.stringify(next) !== entry.settings) this.#byDevice.delete(id);
    }
    for (const [id, settings] of wanted) {
      if (this.#byDevice.has(id)) continue;
      const transport = new BleSmpTransport(id, settings, {
        packetIn: () => this.ctx.countMessage('in'),
        decodeError: (reason, bytes) =>
          this.ctx.decodeError('smp_packet', { deviceId: id, bytes: Buffer.from(bytes), error: reason }),
        unsolicited: () => this.ctx.logger.debug({ device: id }, 'unsolicited SMP response ignored'),
      });
      this.#byDevice.set(id, { settings: JSON.stringify(settings), transport });
    }
  }
}
