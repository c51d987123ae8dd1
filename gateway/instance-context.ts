// The context one adapter instance reports through. Once the host has let go of the instance (stopped, restarted or
// replaced it), what the instance still reports, from a start that outlived the stop budget or a stop still running
// beside its successor, would publish over that successor: it is dropped, and telemetry() says `stopped` so that a
// transport that answers the device (CoAP) does not tell it the values were taken.
import type { AdapterContext } from './adapter.js';
import type { Logger } from './logger.js';

export interface InstanceOwner {
  readonly kind: string;
  readonly logger: Logger;
  /** Whether the instance is the one the host runs (or is starting) now. */
  current(): boolean;
  /** The current instance's fatal error: the host restarts the adapter. */
  fail(error: unknown): void;
}

export class InstanceContext {
  readonly ctx: AdapterContext;
  #retired = false;
  #dropLogged = false;

  constructor(
    base: AdapterContext,
    private readonly owner: InstanceOwner,
  ) {
    this.ctx = this.#wrap(base);
  }

  /** From now on nothing the instance reports reaches the gateway. */
  retire(): void {
    this.#retired = true;
  }

  #heard(report: string): boolean {
    if (!this.#retired) return true;
    this.#dropped(report);
    return false;
  }

  #dropped(report: string): void {
    if (this.#dropLogged) return;
    this.#dropLogged = true;
    this.owner.logger.debug(
      { report },
      `adapter ${this.owner.kind}: an instance no longer running reported after it was stopped or replaced; ` +
        'ignored (said once per instance)',
    );
  }

  #wrap(base: AdapterContext): AdapterContext {
    // Checked inline, not through a callback: telemetry and countMessage run for every message a device sends.
    return {
      kind: base.kind,
      logger: base.logger,
      dataDir: base.dataDir,
      devices: () => base.devices(),
      permitJoin: () => base.permitJoin(),
      freeDeviceId: base.freeDeviceId?.bind(base),
      telemetry: (id, values) => (this.#heard('telemetry') ? base.telemetry(id, values) : 'stopped'),
      deviceStatus: (id, values) => (this.#heard('deviceStatus') ? base.deviceStatus(id, values) : undefined),
      availability: (id, online, validForMs, lastHeard) =>
        this.#heard('availability') ? base.availability(id, online, validForMs, lastHeard) : undefined,
      deviceInfo: (id, info) => (this.#heard('deviceInfo') ? base.deviceInfo(id, info) : undefined),
      deviceSeen: (seen) => (this.#heard('deviceSeen') ? base.deviceSeen(seen) : undefined),
      publish: (id, subtopic, payload, opts) =>
        this.#heard('publish') ? base.publish(id, subtopic, payload, opts) : undefined,
      decodeError: (reason, detail) => (this.#heard('decodeError') ? base.decodeError(reason, detail) : undefined),
      countMessage: (direction) => (this.#heard('countMessage') ? base.countMessage(direction) : undefined),
      // Only the current instance's: one the host has let go of would otherwise restart its successor.
      fatal: (error) => (this.owner.current() ? this.owner.fail(error) : this.#dropped('fatal')),
      statusChanged: () => (this.#heard('statusChanged') ? base.statusChanged?.() : undefined),
    };
  }
}
