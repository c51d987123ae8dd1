// One GATT connection to one configured device: connect, discover, identify (DIS serial), read Device
// Information once, read and subscribe the known characteristics, route notifications, and carry `/set`.
import type { StateValues } from '../../../gateway/adapter.js';
import type { BleDeviceConfig } from '../config.js';
import { encodeWithCodec } from '../decoders/codec.js';
import { decodePnpId, decodeUtf8 } from '../decoders/gatt-services.js';
import { encodeLine, NdjsonSplitter } from '../decoders/ndjson.js';
import type { NoblePeripheral } from '../noble-types.js';
import { type BleSmpTransport, fragmentSize } from '../smp-transport.js';
import {
  CCC_UUID,
  CUD_UUID,
  type GattCharacteristic,
  GattClient,
  PROP_WRITE,
  PROP_WRITE_NO_RSP,
} from './gatt-client.js';
import { closeLink, openLink } from './link.js';
import {
  buildHandlers,
  type CharacteristicHandler,
  DIS_FIELDS,
  DIS_SERVICE,
  NUS_RX,
  NUS_SERVICE,
  NUS_TX,
} from './service-handlers.js';
import { openSmpEndpoint, type SmpEndpoint } from './smp-characteristic.js';

export interface SessionEvents {
  telemetry(values: StateValues): void;
  deviceInfo(info: Record<string, unknown>): void;
  /** `kind` is a fixed label (a metric's), `reason` the detail. */
  decodeError(
    kind: 'gatt_value' | 'gatt_subscribe' | 'dis_value' | 'nus_line',
    reason: string,
    bytes?: Uint8Array,
  ): void;
  /** A NUS line that is not a JSON object: published as sent on `<device>/nus`. */
  nusText(line: string): void;
}

export class IdentityMismatchError extends Error {
  constructor(readonly serial: string | undefined) {
    super(`serial number ${serial === undefined ? '(none)' : `"${serial}"`} does not match`);
  }
}

export class DeviceSession {
  readonly #gatt: GattClient;
  #handlers: CharacteristicHandler[] = [];
  #byHandle = new Map<number, CharacteristicHandler>();
  #nusTx: GattCharacteristic | undefined;
  #nusRx: GattCharacteristic | undefined;
  readonly #ndjson = new NdjsonSplitter();
  #smpEndpoint: SmpEndpoint | undefined;
  #onNotify = (handle: number, data: Buffer) => this.#notification(handle, data);

  constructor(
    readonly peripheral: NoblePeripheral,
    private readonly device: { id: string } & BleDeviceConfig,
    private readonly opts: { gattTimeoutMs: number; connectTimeoutMs: number },
    private readonly events: SessionEvents,
    /** The device's SMP transport when its config enables SMP. */
    private readonly smp?: BleSmpTransport,
  ) {
    this.#gatt = new GattClient(peripheral, opts.gattTimeoutMs);
  }

  async connect(): Promise<void> {
    await openLink(this.peripheral, this.opts.connectTimeoutMs);
    try {
      await this.#setup();
    } catch (err) {
      this.disconnect();
      throw err;
    }
  }

  async #setup(): Promise<void> {
    const chars = await this.#gatt.discover();
    const dis = await this.#readDeviceInformation(chars);
    const wanted = this.device.match.serial_number;
    if (wanted !== undefined && dis.serial_number !== wanted)
      throw new IdentityMismatchError(dis.serial_number as string);
    if (Object.keys(dis).length > 0) this.events.deviceInfo(dis);
    const labels = await this.#readLabels(chars);
    this.#handlers = buildHandlers(chars, this.device.characteristics, labels);
    this.#byHandle = new Map(this.#handlers.map((h) => [h.char.valueHandle, h]));
    if (this.device.nus) {
      this.#nusTx = chars.find((c) => c.serviceUuid === NUS_SERVICE && c.uuid === NUS_TX);
      this.#nusRx = chars.find((c) => c.serviceUuid === NUS_SERVICE && c.uuid === NUS_RX);
    }
    this.peripheral.on('handleNotify', this.#onNotify);
    // Initial values go out as one state update rather than one per characteristic.
    const initial: StateValues = {};
    for (const h of this.#handlers) {
      if (!h.read) continue;
      const bytes = await this.#gatt.read(h.char.valueHandle, `read of ${h.property}`);
      const r = h.decode(bytes);
      if (r.ok) Object.assign(initial, r.value);
      else this.events.decodeError('gatt_value', `${h.property}: ${r.error}`, bytes);
    }
    if (Object.keys(initial).length > 0) this.events.telemetry(initial);
    for (const h of this.#handlers) {
      if (!h.subscribe) continue;
      // A twin characteristic whose descriptor layout differs from its sibling's has no known CCC: read-only then.
      if (!h.char.descriptors.has(CCC_UUID))
        this.events.decodeError('gatt_subscribe', `${h.property}: no CCC handle known, not subscribed`);
      else await this.#gatt.subscribe(h.char);
    }
    if (this.#nusTx) await this.#gatt.subscribe(this.#nusTx);
    if (this.smp) await this.#openSmp(chars, this.smp);
  }

  async #openSmp(chars: GattCharacteristic[], smp: BleSmpTransport): Promise<void> {
    const opened = await openSmpEndpoint(this.#gatt, chars, this.peripheral, (why) => this.disconnect(why));
    if ('unavailable' in opened) {
      smp.unavailable(opened.unavailable);
      return;
    }
    this.#smpEndpoint = opened;
    smp.attach(opened.pipe);
  }

  async #readDeviceInformation(chars: GattCharacteristic[]): Promise<Record<string, unknown>> {
    const info: Record<string, unknown> = {};
    for (const char of chars) {
      if (char.serviceUuid !== DIS_SERVICE) continue;
      const field = DIS_FIELDS[char.uuid];
      if (!field && char.uuid !== '2a50') continue;
      const bytes = await this.#gatt.read(char.valueHandle, `read of Device Information ${char.uuid}`);
      const r = field ? decodeUtf8(bytes) : decodePnpId(bytes);
      if (r.ok) info[field ?? 'pnp_id'] = r.value;
      else this.events.decodeError('dis_value', `device information ${char.uuid}: ${r.error}`, bytes);
    }
    return info;
  }

  /** 0x2901 User Descriptions of characteristics whose UUID occurs more than once. */
  async #readLabels(chars: GattCharacteristic[]): Promise<Map<number, string>> {
    const labels = new Map<number, string>();
    const counts = new Map<string, number>();
    for (const c of chars)
      counts.set(`${c.serviceUuid}/${c.uuid}`, (counts.get(`${c.serviceUuid}/${c.uuid}`) ?? 0) + 1);
    for (const c of chars) {
      const cud = c.descriptors.get(CUD_UUID);
      if (cud === undefined || (counts.get(`${c.serviceUuid}/${c.uuid}`) ?? 0) < 2) continue;
      const r = decodeUtf8(await this.#gatt.read(cud, `read of the user description of ${c.uuid}`));
      if (r.ok && r.value) labels.set(c.valueHandle, r.value);
    }
    return labels;
  }

  #notification(handle: number, data: Buffer): void {
    if (this.#smpEndpoint && handle === this.#smpEndpoint.char.valueHandle) {
      this.smp?.receive(data);
      return;
    }
    if (this.#nusTx && handle === this.#nusTx.valueHandle) {
      for (const line of this.#ndjson.push(data)) {
        if (line.kind === 'object') this.events.telemetry(line.value);
        else if (line.kind === 'text') this.events.nusText(line.line);
        else this.events.decodeError('nus_line', line.error, data);
      }
      return;
    }
    const h = this.#byHandle.get(handle);
    if (h) this.#emitDecoded(h, data);
  }

  #emitDecoded(h: CharacteristicHandler, bytes: Buffer): void {
    const r = h.decode(bytes);
    if (r.ok) this.events.telemetry(r.value);
    else this.events.decodeError('gatt_value', `${h.property}: ${r.error}`, bytes);
  }

  /** `/set`: mapped writable properties are written to their characteristic; the rest go over NUS as one line. */
  async set(payload: Record<string, unknown>): Promise<StateValues> {
    const written: StateValues = {};
    const rest: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) {
      const h = this.#handlers.find((x) => x.mapping?.writable && x.property === key);
      if (!h?.mapping) {
        rest[key] = value;
        continue;
      }
      // The device would answer Write Not Permitted, which noble does not report: the write would wait for its
      // timeout, and the timeout drops the link.
      if ((h.char.properties & (PROP_WRITE | PROP_WRITE_NO_RSP)) === 0)
        throw new Error(`${key}: characteristic ${h.char.uuid} is not writable (the device offers no write)`);
      const enc = encodeWithCodec(h.mapping.codec, value, h.mapping.scale);
      if (!enc.ok) throw new Error(`${key}: ${enc.error}`);
      const withoutResponse = (h.char.properties & PROP_WRITE) === 0;
      await this.#gatt.write(h.char.valueHandle, enc.value, withoutResponse, `write of ${key}`);
      written[key] = value;
    }
    if (Object.keys(rest).length > 0) {
      if (!this.#nusRx) {
        throw new Error(
          `no writable characteristic for ${Object.keys(rest)
            .map((k) => `"${k}"`)
            .join(', ')} and no NUS`,
        );
      }
      await this.#writeNus(encodeLine(rest));
    }
    return written;
  }

  /** Splits a line into ATT-sized chunks (MTU - 3) and writes them in order to NUS RX. */
  async #writeNus(line: Buffer): Promise<void> {
    const rx = this.#nusRx!;
    const chunk = fragmentSize(this.peripheral.mtu);
    const withoutResponse = (rx.properties & PROP_WRITE) === 0;
    for (let off = 0; off < line.length; off += chunk) {
      await this.#gatt.write(rx.valueHandle, line.subarray(off, off + chunk), withoutResponse, 'write to NUS RX');
    }
  }

  /** `/get`: reads the named readable properties (all of them when none is named). */
  async get(properties: string[]): Promise<StateValues> {
    const wanted = this.#handlers.filter((h) => h.read && (properties.length === 0 || properties.includes(h.property)));
    if (properties.length > 0 && wanted.length === 0)
      throw new Error(`no readable property among ${properties.join(', ')}`);
    const out: StateValues = {};
    for (const h of wanted) {
      const bytes = await this.#gatt.read(h.char.valueHandle, `read of ${h.property}`);
      const r = h.decode(bytes);
      if (!r.ok) throw new Error(`${h.property}: ${r.error}`);
      Object.assign(out, r.value);
    }
    return out;
  }

  describe(): Record<string, unknown> {
    return {
      properties: this.#handlers.map((h) => h.property),
      nus: this.#nusRx !== undefined || this.#nusTx !== undefined,
    };
  }

  /** `why` is what a pending SMP request is told (default: "device disconnected"). */
  disconnect(why?: string): void {
    this.peripheral.off('handleNotify', this.#onNotify);
    this.#ndjson.reset();
    // Also without an endpoint: a reason such as "no SMP characteristic" holds only while the link is up.
    this.smp?.detach(this.#smpEndpoint?.pipe, why);
    this.#smpEndpoint = undefined;
    closeLink(this.peripheral);
  }
}
