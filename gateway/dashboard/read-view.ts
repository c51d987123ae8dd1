// What one dashboard user may see of the model: the same as that user's broker ACL would let them subscribe to.
// Device data goes by `<base>/<id>`; gateway-wide views (bridge info, events, unknown devices, logs) need the whole
// of `<base>/#`.

import type { DashboardChange, DashboardModel } from './model.js';
import type { DashboardAuth } from './server.js';

export class ReadView {
  /** May read all of `<base>/#`: sees everything unfiltered. */
  readonly gatewayWide: boolean;

  constructor(
    private readonly auth: DashboardAuth,
    private readonly base: string,
    private readonly user: string | undefined,
  ) {
    this.gatewayWide = auth.canRead(user, `${base}/#`);
  }

  canReadDevice(id: string): boolean {
    return this.gatewayWide || this.#canRead(`${this.base}/${id}`);
  }

  snapshot(model: DashboardModel): Record<string, unknown> {
    if (this.gatewayWide) return model.snapshot();
    return {
      base_topic: this.base,
      bridge_state: this.#canRead(`${this.base}/bridge/state`) ? model.bridgeState : null,
      info: null,
      devices: this.#devices(model.devices),
      states: this.#byDevice(model.states),
      availability: this.#byDevice(model.availability),
      events: [],
      unknown_devices: [],
    };
  }

  /** The device page, or undefined when the user may not read the device. */
  device(model: DashboardModel, id: string): Record<string, unknown> | undefined {
    if (!this.canReadDevice(id)) return undefined;
    const detail = model.device(id);
    if (this.gatewayWide) return detail;
    const topics = Object.entries(detail.topics as Record<string, string>);
    return { ...detail, topics: Object.fromEntries(topics.filter(([t]) => this.#canRead(`${this.base}/${t}`))) };
  }

  /** The change as this user may see it, or undefined to send nothing. */
  change(change: DashboardChange): DashboardChange | undefined {
    if (this.gatewayWide) return change;
    switch (change.kind) {
      case 'state':
      case 'availability':
        return change.device !== undefined && this.canReadDevice(change.device) ? change : undefined;
      case 'devices':
        return { ...change, data: this.#devices(change.data) };
      case 'bridge_state':
        return this.#canRead(`${this.base}/bridge/state`) ? change : undefined;
      default:
        return undefined;
    }
  }

  #canRead(topic: string): boolean {
    return this.auth.canRead(this.user, topic);
  }

  #devices(list: unknown): unknown[] {
    if (!Array.isArray(list)) return [];
    return list.filter((d) => typeof d?.id === 'string' && this.canReadDevice(d.id));
  }

  #byDevice<T>(map: ReadonlyMap<string, T>): Record<string, T> {
    return Object.fromEntries([...map].filter(([id]) => this.canReadDevice(id)));
  }
}
