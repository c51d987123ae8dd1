// The BLE SMP transports of the configured devices. A dropped or replaced transport is detached by its session's
// disconnect, which the connection manager does for every device whose entry changed.
import type { AdapterContext } from '../../gateway/adapter.js';
import { smpPacketEvents } from '../common/smp/packet-events.js';
import { SmpTransportSet } from '../common/smp/transport-set.js';
import { type BleSmpSettings, smpSettings } from './config.js';
import type { BleDevice } from './identity.js';
import { BleSmpTransport } from './smp-transport.js';

export class SmpTransports {
  readonly #set: SmpTransportSet<BleSmpSettings, BleSmpTransport>;

  constructor(ctx: Pick<AdapterContext, 'countMessage' | 'decodeError' | 'logger'>) {
    this.#set = new SmpTransportSet((id, settings) => new BleSmpTransport(id, settings, smpPacketEvents(ctx, id)));
  }

  get(deviceId: string): BleSmpTransport | undefined {
    return this.#set.get(deviceId);
  }

  sync(devices: readonly BleDevice[]): void {
    const wanted = new Map<string, BleSmpSettings>();
    for (const d of devices) {
      const settings = d.disabled ? undefined : smpSettings(d);
      if (settings) wanted.set(d.id, settings);
    }
    this.#set.sync(wanted);
  }
}
