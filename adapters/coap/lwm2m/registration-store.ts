// Live registrations, by registration id and by endpoint name.
import { randomBytes } from 'node:crypto';
import type { CoapPeer } from '../endpoint.js';
import type { LinkEntry } from './link-format.js';

export interface Registration {
  /** Location-Path second segment; 96 random bits, so another client cannot guess it. */
  readonly id: string;
  readonly endpoint: string;
  readonly version: string;
  lifetime: number;
  binding: string;
  queueMode: boolean;
  peer: CoapPeer;
  /** Shared with other registrations that sent the same payload (see SharedLinkParser): never mutate. */
  links: readonly LinkEntry[];
  /** Content format the client announced with `</>;ct=`, or TLV when it announced none. */
  contentFormat: number;
  /** Wall clock (Date.now), shown to users. */
  registeredAt: number;
  /** Wall clock (Date.now), shown to users. */
  lastUpdate: number;
  /**
   * Last Register, Update, Send, notification or answer to a request of ours: a queue-mode client listens for a
   * while after any of them.
   * Monotonic (performance.now), so that a clock step does not put the client to sleep or wake it.
   */
  lastHeard: number;
  /**
   * The same moment on the wall clock (Date.now): saved, so that after a restart the device's last_seen is when its
   * client was last heard, not when the registration was restored.
   */
  lastHeardAt: number;
  /** Manufacturer, model... read from /3/0 after registration. */
  deviceInfo?: Record<string, unknown>;
  /** Configured device id; undefined while the endpoint is not onboarded. */
  deviceId: string | undefined;
}

export function newRegistrationId(): string {
  return randomBytes(12).toString('hex');
}

export class RegistrationStore {
  readonly #byId = new Map<string, Registration>();
  readonly #byEndpoint = new Map<string, Registration>();

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): Registration | undefined {
    return this.#byId.get(id);
  }

  byEndpoint(endpoint: string): Registration | undefined {
    return this.#byEndpoint.get(endpoint);
  }

  /** Adds `reg`, returning the registration of the same endpoint it replaces (client restart). */
  add(reg: Registration): Registration | undefined {
    const previous = this.#byEndpoint.get(reg.endpoint);
    if (previous) this.#byId.delete(previous.id);
    this.#byId.set(reg.id, reg);
    this.#byEndpoint.set(reg.endpoint, reg);
    return previous;
  }

  remove(id: string): Registration | undefined {
    const reg = this.#byId.get(id);
    if (!reg) return undefined;
    this.#byId.delete(id);
    if (this.#byEndpoint.get(reg.endpoint) === reg) this.#byEndpoint.delete(reg.endpoint);
    return reg;
  }

  all(): Registration[] {
    return [...this.#byId.values()];
  }
}
