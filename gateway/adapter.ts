// The adapter contract: the only thing the core knows about a transport.
// An adapter turns device traffic into facts (telemetry, availability, device seen) through its
// AdapterContext and executes commands routed to it. Adapters never import each other or core internals
// other than this file, gateway/logger.ts and gateway/config/device-base.ts.
import type { Logger } from './logger.js';

/** A JSON object of property values, e.g. {"temperature": 23.45, "humidity": 50.55}. */
export type StateValues = Record<string, unknown>;

export type DeviceCommand =
  /** `<base>/<device>/set` payload, already validated as a JSON object. */
  | { kind: 'set'; payload: Record<string, unknown> }
  /** `<base>/<device>/get` payload: the properties (or resources) to read. */
  | { kind: 'get'; payload: Record<string, unknown> };

export interface CommandResult {
  /** Values read or confirmed by the device; merged into the device state when `merge` is true. */
  data?: Record<string, unknown>;
  merge?: boolean;
}

export type AdapterState = 'starting' | 'running' | 'unavailable' | 'stopped' | 'failed';

export interface AdapterStatus {
  state: AdapterState;
  /** Why the adapter is unavailable/failed (e.g. "EAFNOSUPPORT: no Bluetooth in this kernel"). */
  reason?: string;
  /** Free-form, JSON-serialisable details for bridge/info (ports open, connections, listeners...). Its numbers, at
   * the top and one object down, are also /metrics figures under their snake_case keys (gateway/status-figures.ts);
   * `port` is read as where the adapter listens. */
  details?: Record<string, unknown>;
}

export interface DeviceSeen {
  transport: string;
  /** Transport address: BLE MAC, CoAP [ip%zone]:port, serial path, LwM2M endpoint. */
  address: string;
  name?: string;
  /** What a config entry for this device would look like (used by the "onboard" action). */
  suggested_config?: Record<string, unknown>;
  /** A serial number the device shows before it is configured (a USB serial port's iSerial): blocklist entries
   * may name it. */
  serial_number?: string;
  /** Other addresses the device is known by (a serial port's /dev/serial/by-id links): blocklist entries may name
   * them. */
  aliases?: readonly string[];
  details?: Record<string, unknown>;
}

/** What the gateway makes of an unknown device: `blocked` when it is on the config's blocklist (counted; the adapter
 * refuses it where it can answer, as CoAP and LwM2M can), else `noted` (announced while permit_join is on). */
export type DeviceSeenVerdict = 'noted' | 'blocked';

/** What became of a device's values: `accepted`, or refused because the device is not (any more) configured, its
 * values cannot be written as JSON (nested too deep), or they alone exceed api.max_state_properties/max_state_bytes;
 * `stopped`: the adapter instance that reported them is no longer the one the gateway runs (stopped, restarted or
 * replaced), so nothing was taken, and the same values sent again later may be. */
export type TelemetryVerdict = 'accepted' | 'unknown_device' | 'unserializable' | 'state_limit' | 'stopped';

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1 | 2;
}

/** What the core gives each adapter instance. All methods are safe to call at any time and never throw. What an
 * instance reports once the host is done with it (its stop ended, or outlasted the 3 s a stop gets, or a restart or
 * a reload replaced it) is ignored; telemetry() then says `stopped`. */
export interface AdapterContext {
  readonly kind: string;
  readonly logger: Logger;
  /** Absolute path of a directory owned by this adapter (inside gateway.data_dir). */
  readonly dataDir: string;
  /** The configured devices of this transport, as of the current config. */
  devices(): readonly DeviceConfigOf[];
  /** True while permit_join is on: announce unknown devices, accept registrations from unknown ids. */
  permitJoin(): boolean;
  /** New property values for a configured device. Merged into the retained `<base>/<device>` state. Says whether
   * the gateway took them, or why not, so a transport that can answer the device (CoAP) tells it the real reason. */
  // biome-ignore lint/suspicious/noConfusingVoidType: contexts made for tests and benchmarks return nothing (accepted)
  telemetry(deviceId: string, values: StateValues): TelemetryVerdict | void;
  /** What the gateway itself reports about a device, not what the device sent: today the firmware update progress
   * of `bridge/request/device/ota_update`, `{"update": {...}}`. Merged into the retained `<base>/<device>` state and
   * published like telemetry, but not a sign of life: last_seen and availability stay as they are (a device
   * unplugged mid-upload must not be reported online by its own "failed"). `update` is one of the gateway's keys
   * (gateway/devices/state-limits.ts): it does not count against api.max_state_properties/max_state_bytes. */
  deviceStatus(deviceId: string, values: StateValues): void;
  /** Liveness from the transport (connection up/down, CON timeout, lifetime expiry, port unplugged).
   * `validForMs` (with `online`): the transport vouches that the device stays online this long even if it sends
   * nothing, e.g. a valid LwM2M registration of a sleeping client. Until then the core's availability_timeout does
   * not take it offline; afterwards the timeout counts from last_seen again. availability(id, false) ends it.
   * `lastHeard` (with `online`): reported without hearing from the device now (a registration restored after a
   * restart): last_seen becomes that time rather than now, unless the gateway heard the device later. */
  availability(deviceId: string, online: boolean, validForMs?: number, lastHeard?: Date): void;
  /** Static device information (DIS, /.well-known/core, LwM2M objects...) shown in bridge/devices. */
  deviceInfo(deviceId: string, info: Record<string, unknown>): void;
  /** An unknown device was seen. The core announces it on bridge/event while permit_join is on (deduplicated),
   * unless it is on the blocklist. */
  // biome-ignore lint/suspicious/noConfusingVoidType: contexts made for tests and benchmarks return nothing (noted)
  deviceSeen(seen: DeviceSeen): DeviceSeenVerdict | void;
  /** An id no configured device has (of any transport): `base` itself, else `base-2`, `base-3`... A suggested_config
   * whose id is made from the device's own name takes it, so that device/add accepts it as it is. Optional like
   * fatal; the gateway always gives it. */
  freeDeviceId?(base: string): string;
  /** Publish below the device's topic: `<base>/<device>/<subtopic>` (log lines, raw resource views...). */
  publish(deviceId: string, subtopic: string, payload: string | Buffer | object, opts?: PublishOptions): void;
  /** Count (and log, rate-limited) bytes from a device that could not be decoded. */
  decodeError(reason: string, detail?: { deviceId?: string; bytes?: Uint8Array; error?: unknown }): void;
  /** Count a message handled by the adapter, for /metrics (`in` = device -> gateway). */
  countMessage(direction: 'in' | 'out'): void;
  /** The adapter cannot go on (its socket or port died): the core stops it and starts it again with back-off, if
   * this instance is still the one running. Optional so hand-made test contexts need not provide it; the gateway
   * always does. */
  fatal?(error: unknown): void;
  /** Something status() reports changed (a port opened or closed): the core republishes bridge/info (debounced).
   * Optional like fatal. */
  statusChanged?(): void;
}

/** The device config type an adapter receives; adapters narrow it with their own zod schema. */
export type DeviceConfigOf = { id: string; name?: string | undefined; transport: string } & Record<string, unknown>;

export interface Adapter {
  readonly kind: string;
  start(): Promise<void>;
  /** The host calls it once per instance, and only after start() has settled (failed or not): a stop that comes
   * while the start is still running waits for it. An instance whose create() ended after the host stopped waiting
   * for it (past the start timeout, or after a stop or a restart) is stopped without ever being started: stop() then
   * releases whatever making it set up. */
  stop(): Promise<void>;
  status(): AdapterStatus;
  /** `<base>/<device>/set` and `/get`. Throw an Error with a clear message to report a failure. */
  command(deviceId: string, cmd: DeviceCommand): Promise<CommandResult>;
  /** Transport-specific requests: `bridge/request/device/<name>` (e.g. "smp", "lwm2m") for one of its devices. */
  request?(name: string, deviceId: string, data: Record<string, unknown>): Promise<unknown>;
  /** The device list of this transport changed on reload/onboarding; apply without a restart when possible. */
  devicesChanged?(): Promise<void>;
}

export interface AdapterModule<Config = unknown> {
  readonly kind: string;
  /** zod schema of `adapters.<kind>` in the config file. */
  readonly configSchema: import('zod').ZodType<Config>;
  /** zod schema of one `devices[]` entry with `transport: <kind>` (without the common keys). */
  readonly deviceSchema: import('zod').ZodObject;
  /** Rules between the keys of one device entry (runs once every key is valid on its own). */
  deviceCheck?(device: Record<string, unknown>, ctx: import('zod').RefinementCtx): void;
  /** Whether `device/ota_update` can run for this (validated) device entry; without it, for none. */
  firmwareUpdates?(device: Record<string, unknown>): boolean;
  /** May load the adapter's code on demand (a dynamic import): a disabled transport then costs no memory. */
  create(config: Config, ctx: AdapterContext): Adapter | Promise<Adapter>;
}
