// One SMP transport per device with SMP on, kept across reloads (a running upload is keyed by the transport's
// client, so a cancel must find the same one) and replaced only when the device's SMP settings change.

export class SmpTransportSet<Settings, Transport> {
  readonly #byDevice = new Map<string, { settings: string; transport: Transport }>();

  constructor(
    private readonly create: (deviceId: string, settings: Settings) => Transport,
    private readonly dispose: (transport: Transport) => void = () => {},
  ) {}

  get(deviceId: string): Transport | undefined {
    return this.#byDevice.get(deviceId)?.transport;
  }

  /** Keeps the transports whose settings are unchanged, disposes of the others and creates the new ones. */
  sync(wanted: ReadonlyMap<string, Settings>): void {
    for (const [id, entry] of this.#byDevice) {
      const next = wanted.get(id);
      if (next !== undefined && JSON.stringify(next) === entry.settings) continue;
      this.#byDevice.delete(id);
      this.dispose(entry.transport);
    }
    for (const [id, settings] of wanted) {
      if (this.#byDevice.has(id)) continue;
      this.#byDevice.set(id, { settings: JSON.stringify(settings), transport: this.create(id, settings) });
    }
  }

  clear(): void {
    this.sync(new Map());
  }
}
