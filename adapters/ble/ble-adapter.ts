// The BLE adapter: loads noble lazily (no Bluetooth is a normal, reported condition, retried with back-off),
// scans passively for adverts (BTHome, manufacturer data, names) and keeps GATT connections to the devices
// configured with `connect: true`.
import type {
  Adapter,
  AdapterContext,
  AdapterStatus,
  CommandResult,
  DeviceCommand,
  StateValues,
} from '../../gateway/adapter.js';
import { isOtaRequestName, runOta } from '../common/smp/ota-request.js';
import { runSmpRequest } from '../common/smp/smp-request.js';
import { type AdvertDecode, advertContent, decodeAdvert } from './advert.js';
import { AdvertSequences } from './advert-sequence.js';
import { AdvertiserCache } from './advertiser-cache.js';
import { type BleAdapterConfig, bleDeviceSchema, normalizeMac, wantsConnection } from './config.js';
import { ConnectionManager } from './connection-manager.js';
import type { SessionEvents } from './gatt/device-session.js';
import { GattTimeoutError } from './gatt/operation.js';
import { type BleDevice, DeviceIndex } from './identity.js';
import { guardAdvertParsing } from './noble-advert-guard.js';
import { guardCancelConnect } from './noble-cancel-guard.js';
import { explainNobleState, loadNoble, NobleUnavailableError } from './noble-loader.js';
import { forgetPeripheral } from './noble-prune.js';
import type { Noble, NoblePeripheral } from './noble-types.js';
import { SerialProbe } from './serial-probe.js';
import { SmpTransports } from './smp-transports.js';
import { describeUnknown } from './unknown-advertiser.js';

/** How long a connected device is vouched for: until its link drops (which ends it), in practice. */
const LINK_VOUCH_MS = 365 * 24 * 3600 * 1000;
/** A trigger-based BTHome device (a door contact) advertises only when something happens: like Home Assistant's
 * BTHome integration, it never expires once seen. */
const TRIGGER_VOUCH_MS = LINK_VOUCH_MS;

export class BleAdapter implements Adapter {
  readonly kind = 'ble';
  #noble: Noble | undefined;
  #state: AdapterStatus['state'] = 'stopped';
  #reason: string | undefined;
  #retryMs: number;
  #retryTimer: NodeJS.Timeout | undefined;
  /** The first retry notice is logged at info, the rest at debug. */
  #retryLogged = false;
  #stopped = true;
  #index: DeviceIndex;
  /** Unknown advertisers only (announcements); configured devices' adverts are judged in #sequences. */
  readonly #advertisers: AdvertiserCache;
  readonly #sequences = new AdvertSequences();
  readonly #connections: ConnectionManager;
  readonly #serials: SerialProbe;
  readonly #keyCache = new Map<string, Buffer>();
  /** noble's peripheral id per tracked unknown address, to prune noble's own maps on eviction. */
  readonly #nobleIds = new Map<string, string>();
  readonly #smp: SmpTransports;
  #adverts = 0;

  readonly #onStateChange = (state: string) => this.#nobleState(state);
  readonly #onDiscover = (p: NoblePeripheral) => this.#discover(p);
  readonly #onWarning = (message: string) => this.ctx.logger.debug({ message }, 'noble warning');

  constructor(
    private readonly config: BleAdapterConfig,
    private readonly ctx: AdapterContext,
  ) {
    this.#retryMs = config.unavailable_retry_min_ms;
    this.#index = new DeviceIndex(this.#loadDevices());
    this.#smp = new SmpTransports(ctx);
    this.#smp.sync(this.#index.devices);
    this.#advertisers = new AdvertiserCache(config.max_advertisers, (address) => this.#forget(address));
    this.#serials = new SerialProbe(
      {
        max: config.max_advertisers,
        retryMs: config.reconnect_min_ms,
        gattTimeoutMs: config.gatt_timeout_ms,
        connectTimeoutMs: config.connect_timeout_ms,
      },
      ctx.logger,
    );
    this.#connections = new ConnectionManager(
      {
        maxConnections: config.max_connections,
        gattTimeoutMs: config.gatt_timeout_ms,
        connectTimeoutMs: config.connect_timeout_ms,
        reconnectMinMs: config.reconnect_min_ms,
        reconnectMaxMs: config.reconnect_max_ms,
      },
      {
        // Online for as long as the link is up, however quiet the peripheral (a NUS device between lines, an ESS
        // value that does not change): the disconnect reports offline.
        online: (id) => ctx.availability(id, true, LINK_VOUCH_MS),
        offline: (id) => ctx.availability(id, false),
        events: (id) => this.#sessionEvents(id),
        mismatch: (address, serial) => this.#serials.remember(normalizeMac(address), serial),
        linksElsewhere: () => this.#serials.running,
        smp: (id) => this.#smp.get(id),
      },
      ctx.logger,
    );
  }

  #loadDevices(): BleDevice[] {
    const out: BleDevice[] = [];
    for (const raw of this.ctx.devices()) {
      const parsed = bleDeviceSchema.safeParse(raw);
      if (parsed.success) {
        out.push({
          ...parsed.data,
          connect: wantsConnection(parsed.data),
          id: raw.id,
          disabled: raw.disabled === true,
        });
      } else
        this.ctx.logger.error({ device: raw.id, issues: parsed.error.issues }, 'invalid ble device config ignored');
    }
    return out;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#state = 'starting';
    await this.#tryLoad();
  }

  /** Never throws: a missing Bluetooth stack makes the adapter `unavailable` and schedules a retry. */
  async #tryLoad(): Promise<void> {
    let noble: Noble;
    try {
      noble = await loadNoble(this.config.binding);
    } catch (err) {
      if (this.#stopped) return; // stopped while it loaded: stopped it stays
      const reason = err instanceof NobleUnavailableError ? err.message : `noble failed to load: ${String(err)}`;
      this.#unavailable(reason);
      this.#scheduleRetry();
      return;
    }
    if (this.#stopped) return;
    this.#noble = noble;
    guardCancelConnect(noble);
    guardAdvertParsing(noble, (address, eir, err) =>
      this.ctx.decodeError('advertisement', {
        deviceId: this.#index.match(normalizeMac(address), undefined)?.id,
        bytes: eir,
        error: `malformed advertising data from ${address}: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
    noble.on('warning', this.#onWarning);
    noble.on('discover', this.#onDiscover);
    noble.on('stateChange', this.#onStateChange);
    // Reading `state` initialises the binding when no stateChange listener did yet.
    if (noble.state === 'poweredOn') this.#nobleState('poweredOn');
  }

  #scheduleRetry(): void {
    if (this.#stopped || this.#retryTimer) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.config.unavailable_retry_max_ms);
    // Said once at info: on a host without Bluetooth the retries go on for as long as the gateway runs.
    const level = this.#retryLogged ? 'debug' : 'info';
    this.#retryLogged = true;
    this.ctx.logger[level]({ retryInMs: delay }, 'ble: will retry opening Bluetooth');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#stopped) void this.#tryLoad();
    }, delay);
    this.#retryTimer.unref();
  }

  #unavailable(reason: string): void {
    if (this.#reason !== reason || this.#state !== 'unavailable')
      this.ctx.logger.warn({ reason }, 'ble adapter unavailable');
    this.#state = 'unavailable';
    this.#reason = reason;
  }

  #nobleState(state: string): void {
    if (this.#stopped || !this.#noble) return;
    if (state !== 'poweredOn') {
      this.#unavailable(explainNobleState(state));
      this.#connections.dropLinks();
      return;
    }
    if (this.#state === 'running') return;
    this.#noble.startScanning([], true, (err) => {
      if (this.#stopped) return; // the scan started as the adapter stopped: stop() ended it, running it is not
      if (err) {
        this.#unavailable(`cannot start scanning: ${err.message}`);
        return;
      }
      this.#state = 'running';
      this.#reason = undefined;
      this.#retryMs = this.config.unavailable_retry_min_ms;
      this.ctx.logger.info({ binding: this.config.binding }, 'ble scanning');
    });
  }

  #discover(p: NoblePeripheral): void {
    this.#adverts++;
    const address = normalizeMac(p.address && p.address !== 'unknown' ? p.address : p.id);
    const device = this.#index.match(address, p.advertisement?.localName) ?? this.#bySerial(address);
    const now = performance.now(); // monotonic: a clock step must not stall connections or repeat checks
    if (!device) {
      this.#unknown(p, address, now);
      return;
    }
    if (device.connect && this.#mayBe(device, address)) this.#connections.offer(device, p, now);
    this.#advert(device, p, address, now);
  }

  /** False when a connection already read another serial number at this address than the device's match wants
   * (connecting again would only fail the same way). */
  #mayBe(device: BleDevice, address: string): boolean {
    const wanted = device.match.serial_number;
    const known = wanted === undefined ? undefined : this.#serials.serialAt(address);
    return known === undefined || known === wanted;
  }

  /** A serial-only device a probe found at this address. */
  #bySerial(address: string): BleDevice | undefined {
    const serial = this.#serials.serialAt(address);
    return typeof serial === 'string' ? this.#index.bySerial(serial) : undefined;
  }

  #advert(device: BleDevice, p: NoblePeripheral, address: string, now: number): void {
    const adv = p.advertisement ?? {};
    const decoded = decodeAdvert(adv, p.rssi, address, device, this.#keyCache);
    for (const e of decoded.errors)
      this.ctx.decodeError(e.kind, { deviceId: device.id, error: e.reason, ...(e.bytes ? { bytes: e.bytes } : {}) });
    // Refused BTHome data (wrong key, a plain frame for a keyed device) is not the device, or not only: it must
    // not refresh its state, last_seen or availability.
    if (decoded.refused) return;
    const frame = decoded.bthome;
    const verdict = this.#sequences.judge(
      device.id,
      { counter: frame?.counter, packetId: frame?.packetId, content: advertContent(adv) },
      now,
    );
    if (verdict.kind === 'replay') {
      this.ctx.decodeError('bthome', {
        deviceId: device.id,
        error: `replayed counter ${verdict.counter} < ${verdict.last}`,
      });
      return;
    }
    // Only adverts taken as the device's: refused and replayed ones are counted as decode errors instead.
    this.ctx.countMessage('in');
    // A device kept over GATT is online while its link is up, however often it advertises: an advert says it is in
    // range, not that it can be reached (a refused or failing connection, a reconnect after link loss).
    const vouches = !device.connect;
    const vouch = frame?.triggerBased ? TRIGGER_VOUCH_MS : undefined;
    // With duplicates allowed the radio hands over the same advert many times a second: it shows the device is
    // there, and publishing the whole state again for a new RSSI each time would only be noise.
    if (verdict.kind === 'repeat') {
      if (vouches) this.ctx.availability(device.id, true, vouch);
      return;
    }
    this.#publish(device, decoded);
    if (vouches && vouch !== undefined) this.ctx.availability(device.id, true, vouch);
  }

  /** Advert-only devices: the core marks them online on telemetry and offline after availability_timeout.
   * A device kept over GATT gets its availability from the link: its adverts' values (RSSI alone is not worth a
   * publish) are published without marking it online while no link is up. */
  #publish(device: BleDevice, decoded: AdvertDecode): void {
    const keys = Object.keys(decoded.values);
    if (keys.length === 0) return;
    if (!device.connect) this.ctx.telemetry(device.id, decoded.values);
    else if (keys.some((k) => k !== 'rssi' && k !== 'linkquality')) {
      if (this.#connections.isConnected(device.id)) this.ctx.telemetry(device.id, decoded.values);
      else this.ctx.deviceStatus(device.id, decoded.values);
    }
  }

  #unknown(p: NoblePeripheral, address: string, now: number): void {
    this.#probeSerial(p, address, now);
    const entry = this.#advertisers.touch(address, now);
    this.#nobleIds.set(address, p.id);
    if (!this.ctx.permitJoin()) return;
    if (now - entry.lastReported < this.config.seen_interval_s * 1000) return;
    entry.lastReported = now;
    this.ctx.deviceSeen(describeUnknown(p, address));
  }

  /** A connectable stranger may be a device configured by serial number only: read its serial once. */
  #probeSerial(p: NoblePeripheral, address: string, now: number): void {
    if (!p.connectable || !this.#serials.wants(address, now)) return;
    if (!this.#index.serialOnly.some((d) => !this.#connections.isConnected(d.id))) return;
    if (!this.#connections.hasFreeLink() || this.#connections.holds(p.id)) return;
    void this.#serials.probe(p, address);
  }

  /** An unknown advertiser fell out of the cache: drop what noble keeps about it too (it never forgets). */
  #forget(address: string): void {
    const id = this.#nobleIds.get(address);
    this.#nobleIds.delete(address);
    if (id !== undefined && this.#noble) forgetPeripheral(this.#noble, id);
  }

  #sessionEvents(id: string): SessionEvents {
    return {
      telemetry: (values: StateValues) => {
        this.ctx.countMessage('in');
        this.ctx.telemetry(id, values);
      },
      deviceInfo: (info) => this.ctx.deviceInfo(id, info),
      decodeError: (kind, reason, bytes) =>
        this.ctx.decodeError(kind, { deviceId: id, error: reason, ...(bytes ? { bytes } : {}) }),
      nusText: (line) => this.ctx.publish(id, 'nus', line),
    };
  }

  async command(deviceId: string, cmd: DeviceCommand): Promise<CommandResult> {
    const device = this.#index.get(deviceId);
    if (!device) throw new Error(`"${deviceId}" is not a ble device`);
    if (!device.connect) throw new Error(`"${deviceId}" is advert-only (connect: false): nothing to ${cmd.kind}`);
    const session = this.#connections.session(deviceId);
    if (!session) throw new Error(`"${deviceId}" is not connected`);
    this.ctx.countMessage('out');
    try {
      if (cmd.kind === 'set') return { data: await session.set(cmd.payload), merge: true };
      return { data: await session.get(Object.keys(cmd.payload)), merge: true };
    } catch (err) {
      // ATT allows one outstanding request per link: an unanswered one blocks every later request, so the link is
      // dropped and the connection manager reconnects with back-off (as during set-up).
      if (err instanceof GattTimeoutError) session.disconnect();
      throw err;
    }
  }

  /** `device/smp` and `device/ota_update` (Zigbee2MQTT's `ota_update/update` and `/check` too) over the SMP GATT
   * service. */
  async request(name: string, deviceId: string, data: Record<string, unknown>): Promise<unknown> {
    const isOta = isOtaRequestName(name);
    if (name !== 'smp' && !isOta) throw new Error(`the ble adapter has no "${name}" request (known: smp, ota_update)`);
    const device = this.#index.get(deviceId);
    if (!device) throw new Error(`"${deviceId}" is not a ble device`);
    if (!device.connect) throw new Error(`"${deviceId}" is advert-only (connect: false): SMP needs a GATT link`);
    const smp = this.#smp.get(deviceId);
    if (!smp) throw new Error(`device "${deviceId}" has no SMP: set \`smp: true\` in its config`);
    // A cancel finds the running upload whatever the link does; anything else needs the link now.
    if (!smp.connected && !(isOta && data.cancel === true)) throw new Error(smp.unavailableReason);
    this.ctx.countMessage('out');
    if (name === 'smp') return runSmpRequest(smp.client, data);
    return runOta(name, { ctx: this.ctx, deviceId, smp: smp.client }, data);
  }

  async devicesChanged(): Promise<void> {
    this.#index = new DeviceIndex(this.#loadDevices());
    this.#smp.sync(this.#index.devices);
    this.#sequences.retain(this.#index.devices.map((d) => d.id));
    this.#connections.retain(this.#index.devices.filter((d) => d.connect && !d.disabled));
  }

  status(): AdapterStatus {
    return {
      state: this.#state,
      ...(this.#reason ? { reason: this.#reason } : {}),
      details: {
        binding: this.config.binding,
        adverts: this.#adverts,
        advertisers_tracked: this.#advertisers.size,
        advertisers_evicted: this.#advertisers.evictions,
        connections: this.#connections.status(),
      },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#connections.stop();
    const noble = this.#noble;
    this.#noble = undefined;
    if (!noble) return;
    noble.off('discover', this.#onDiscover);
    noble.off('stateChange', this.#onStateChange);
    noble.off('warning', this.#onWarning);
    try {
      noble.stopScanning();
    } catch {
      // not scanning, or the binding is already gone
    }
    this.#advertisers.clear();
    this.#nobleIds.clear();
    this.#sequences.clear();
    this.#serials.clear();
  }
}
