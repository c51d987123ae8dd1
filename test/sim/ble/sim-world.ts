// The simulated radio: peripherals in the air and noble bindings (the layer below noble) that scan for and
// connect to them. SimBinding implements the binding API noble's HCI bindings implement and emits the same
// events with the same arguments, so the real noble runs on top unchanged.
import { EventEmitter } from 'node:events';
import { emptyAdvertisement, type ParsedAdvertisement, parseAdvertisingData } from './ad.js';
import type { SimPeripheral } from './sim-peripheral.js';

const HCI_REMOTE_USER_TERMINATED = 0x13;
const HCI_CONNECTION_TIMEOUT = 0x08;
const HCI_LOCAL_HOST_TERMINATED = 0x16;

export class SimWorld {
  readonly peripherals = new Map<string, SimPeripheral>();
  readonly bindings = new Set<SimBinding>();
  #timer: NodeJS.Timeout | undefined;
  /** Connection attempts seen, per peripheral id (for the connection-limit test). */
  readonly connectAttempts = new Map<string, number>();

  /** The controller state new bindings report on init ('poweredOff', 'unauthorized'... to test those paths). */
  initialState = 'poweredOn';

  constructor(public advertisingIntervalMs = 50) {}

  add(p: SimPeripheral): SimPeripheral {
    this.peripherals.set(p.id, p);
    p.on('notification', (handle: number, data: Buffer) => {
      for (const b of this.bindings) b.deliverNotification(p, handle, data);
    });
    p.on('linkLost', () => {
      p.inRange = false;
      for (const b of this.bindings) b.dropLink(p, HCI_CONNECTION_TIMEOUT);
    });
    return p;
  }

  /** The peripheral leaves for good (a passer-by): nothing about it stays in the world or its bindings. */
  remove(p: SimPeripheral): void {
    this.peripherals.delete(p.id);
    p.removeAllListeners();
    for (const b of this.bindings) b.forget(p.id);
  }

  createBinding(): SimBinding {
    const b = new SimBinding(this);
    b.initialState = this.initialState;
    this.bindings.add(b);
    return b;
  }

  /** One advertising event from every in-range peripheral to every scanning binding. */
  advertiseAll(): void {
    for (const p of this.peripherals.values()) if (p.inRange) this.advertise(p);
  }

  advertise(p: SimPeripheral): void {
    for (const b of this.bindings) {
      b.answerPendingConnect(p);
      b.receiveAdvert(p);
    }
  }

  startAdvertising(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.advertiseAll(), this.advertisingIntervalMs);
    this.#timer.unref();
  }

  reset(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const b of this.bindings) b.removeAllListeners();
    this.bindings.clear();
    this.peripherals.clear();
    this.connectAttempts.clear();
    this.initialState = 'poweredOn';
  }
}

export class SimBinding extends EventEmitter {
  #scanning = false;
  /** Parsed advertisement per peripheral id, merged AD + SR like gap.js keeps it. */
  readonly #adverts = new Map<string, ParsedAdvertisement>();
  readonly #connected = new Set<string>();
  /** Connection requests the controller keeps trying (LE Create Connection has no timeout of its own). */
  readonly #pending = new Set<string>();
  initialState = 'poweredOn';

  constructor(readonly world: SimWorld) {
    super();
  }

  get scanning(): boolean {
    return this.#scanning;
  }

  init(): void {
    setImmediate(() => this.emit('stateChange', this.initialState));
  }

  setScanParameters(): void {
    setImmediate(() => this.emit('scanParametersSet'));
  }

  startScanning(_serviceUuids: string[] | undefined, allowDuplicates: boolean): void {
    this.#scanning = true;
    setImmediate(() => this.emit('scanStart', !allowDuplicates));
  }

  stopScanning(): void {
    this.#scanning = false;
    setImmediate(() => this.emit('scanStop'));
  }

  reset(): void {}

  forget(id: string): void {
    this.#adverts.delete(id);
  }

  /**
   * The controller changes state (powered off by rfkill, taken by bluetoothd, back on). Leaving poweredOn ends its
   * links and pending connections without a Disconnection Complete: noble over HCI reports no 'disconnect' then.
   */
  setState(state: string): void {
    if (state !== 'poweredOn') {
      for (const id of this.#connected) {
        const p = this.world.peripherals.get(id);
        if (!p) continue;
        p.connected = false;
        p.db.resetSubscriptions();
      }
      this.#connected.clear();
      this.#pending.clear();
      this.#scanning = false;
    }
    this.emit('stateChange', state);
  }

  /** Emulates a legacy advertising report, then the scan response for scannable connectable advertisers. */
  receiveAdvert(p: SimPeripheral): void {
    if (!this.#scanning) return;
    const adv = parseAdvertisingData(p.advertising, this.#adverts.get(p.id) ?? emptyAdvertisement(), false);
    this.#adverts.set(p.id, adv);
    if (p.scanResponse && p.connectable) parseAdvertisingData(p.scanResponse, adv, true);
    // gap.js hands over copies merged into one object per address; noble merges again into its Peripheral.
    this.emit('discover', p.id, p.address, p.addressType, p.connectable, { ...adv }, p.rssi, false);
  }

  connect(id: string): void {
    const p = this.world.peripherals.get(id);
    this.world.connectAttempts.set(id, (this.world.connectAttempts.get(id) ?? 0) + 1);
    if (!p) return;
    if (!p.inRange || !p.acceptConnections) {
      // No answer yet: the controller goes on trying until the central cancels, or the peripheral takes it.
      this.#pending.add(id);
      return;
    }
    this.#establish(p);
  }

  /** A pending connection request completes at the peripheral's next advert once it accepts connections. */
  answerPendingConnect(p: SimPeripheral): void {
    if (!this.#pending.has(p.id) || !p.inRange || !p.acceptConnections) return;
    this.#pending.delete(p.id);
    this.#establish(p);
  }

  #establish(p: SimPeripheral): void {
    const id = p.id;
    if (p.connected) {
      setImmediate(() => this.emit('connect', id, new Error('already connected')));
      return;
    }
    p.connected = true;
    p.db.resetSubscriptions();
    this.#connected.add(id);
    setImmediate(() => {
      this.emit('connect', id, null);
      // noble's HCI bindings report the exchanged ATT MTU as 'onMtu' once the link is up.
      if (p.mtu !== undefined) this.emit('onMtu', id, p.mtu);
    });
  }

  /** Like HCI: the cancelled request completes with status 0x02. */
  cancelConnect(id: string): void {
    if (!this.#pending.delete(id)) return;
    setImmediate(() => this.emit('connect', id, new Error('Unknown Connection Identifier (0x2)')));
  }

  /** Like noble's HCI binding, which has no connection handle for a link that is not up (a pending connect too). */
  disconnect(id: string): void {
    const p = this.world.peripherals.get(id);
    if (!p || !this.#connected.has(id)) throw new TypeError(`no connection handle for ${id}`);
    this.dropLink(p, HCI_LOCAL_HOST_TERMINATED);
  }

  /** The peripheral closed the link (or it was lost). */
  dropLink(p: SimPeripheral, reason = HCI_REMOTE_USER_TERMINATED): void {
    if (!this.#connected.delete(p.id)) return;
    p.connected = false;
    p.db.resetSubscriptions();
    setImmediate(() => this.emit('disconnect', p.id, reason));
  }

  updateRssi(id: string): void {
    const p = this.world.peripherals.get(id);
    if (p) setImmediate(() => this.emit('rssiUpdate', id, p.rssi));
  }

  #link(id: string): SimPeripheral | undefined {
    const p = this.world.peripherals.get(id);
    return p && this.#connected.has(id) ? p : undefined;
  }

  discoverServices(id: string, uuids: string[] = []): void {
    const p = this.#link(id);
    if (!p) return;
    const services = p.db.services.filter((s) => uuids.length === 0 || uuids.includes(s.uuid));
    setImmediate(() => {
      this.emit(
        'servicesDiscovered',
        id,
        services.map((s) => ({ uuid: s.uuid, startHandle: s.startHandle, endHandle: s.endHandle })),
      );
      this.emit(
        'servicesDiscover',
        id,
        services.map((s) => s.uuid),
      );
    });
  }

  discoverIncludedServices(id: string, serviceUuid: string): void {
    if (this.#link(id)) setImmediate(() => this.emit('includedServicesDiscover', id, serviceUuid, []));
  }

  discoverCharacteristics(id: string, serviceUuid: string, uuids: string[] = []): void {
    const service = this.#link(id)?.db.service(serviceUuid);
    if (!service) return;
    const raw = service.characteristics.map((c) => ({
      startHandle: c.startHandle,
      properties: c.properties,
      valueHandle: c.valueHandle,
      uuid: c.uuid,
      endHandle: c.endHandle,
      propsDecoded: c.propertyNames,
      rawProps: c.properties,
    }));
    const decoded = service.characteristics
      .filter((c) => uuids.length === 0 || uuids.includes(c.uuid))
      .map((c) => ({ uuid: c.uuid, properties: [...c.propertyNames] }));
    setImmediate(() => {
      this.emit('characteristicsDiscovered', id, serviceUuid, raw);
      this.emit('characteristicsDiscover', id, serviceUuid, decoded);
    });
  }

  discoverDescriptors(id: string, serviceUuid: string, charUuid: string): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    if (!p || !char) return;
    const uuids = p.db.descriptorsOf(char).map((a) => a.uuid);
    setImmediate(() => this.emit('descriptorsDiscover', id, serviceUuid, charUuid, uuids));
  }

  read(id: string, serviceUuid: string, charUuid: string): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    if (!p || !char || char.def.silent) return;
    const value = p.db.attributes.get(char.valueHandle)!.value;
    setImmediate(() => this.emit('read', id, serviceUuid, charUuid, value, false));
  }

  write(id: string, serviceUuid: string, charUuid: string, data: Buffer, withoutResponse: boolean): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    if (!p || !char) return;
    if (this.#applyWrite(p, char.valueHandle, data) || withoutResponse) {
      setImmediate(() => this.emit('write', id, serviceUuid, charUuid));
    }
  }

  notify(id: string, serviceUuid: string, charUuid: string, on: boolean): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    if (!p || !char || char.cccHandle === undefined) return;
    const mode = char.properties & 0x10 ? 1 : 2;
    p.db.attributes.get(char.cccHandle)!.value = Buffer.from([on ? mode : 0, 0]);
    setImmediate(() => this.emit('notify', id, serviceUuid, charUuid, on));
  }

  readValue(id: string, serviceUuid: string, charUuid: string, descriptorUuid: string): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    const attr = char && p?.db.descriptorsOf(char).find((a) => a.uuid === descriptorUuid);
    if (attr) setImmediate(() => this.emit('valueRead', id, serviceUuid, charUuid, descriptorUuid, attr.value));
  }

  writeValue(id: string, serviceUuid: string, charUuid: string, descriptorUuid: string, data: Buffer): void {
    const p = this.#link(id);
    const char = p?.db.byUuid(serviceUuid, charUuid);
    const attr = char && p?.db.descriptorsOf(char).find((a) => a.uuid === descriptorUuid);
    if (!attr) return;
    attr.value = Buffer.from(data);
    setImmediate(() => this.emit('valueWrite', id, serviceUuid, charUuid, descriptorUuid));
  }

  readHandle(id: string, handle: number): void {
    const p = this.#link(id);
    const attr = p?.db.attributes.get(handle);
    if (!attr || (attr.kind === 'value' && attr.char?.def.silent)) return;
    setImmediate(() => this.emit('handleRead', id, handle, attr.value));
  }

  writeHandle(id: string, handle: number, data: Buffer, withoutResponse: boolean): void {
    const p = this.#link(id);
    if (!p) return;
    if (this.#applyWrite(p, handle, data) || withoutResponse) setImmediate(() => this.emit('handleWrite', id, handle));
  }

  /** Applies a write; false when the peripheral refuses it (and, like a stubborn device, never answers). */
  #applyWrite(p: SimPeripheral, handle: number, data: Buffer): boolean {
    const attr = p.db.attributes.get(handle);
    if (!attr) return false;
    p.writes.push([handle, Buffer.from(data)]);
    let accepted = true;
    if (attr.kind === 'descriptor') {
      if (handle === attr.char?.cccHandle && attr.char.def.refuseSubscribe) accepted = false;
      else attr.value = Buffer.from(data);
    } else if (attr.char && (attr.char.properties & 0x0c) === 0) {
      // ATT Write Not Permitted: noble's writeHandle reports no error response, so the write is never answered.
      accepted = false;
    } else {
      accepted = attr.char?.def.onWrite?.(Buffer.from(data)) ?? true;
      if (accepted) attr.value = Buffer.from(data);
    }
    p.emit('write', handle, Buffer.from(data));
    return accepted;
  }

  /** HCI emits handleNotify for every notification, plus a UUID-keyed `read` for the characteristic noble
   * reaches by that UUID (the last one with it). Indications are confirmed by the HCI layer itself. */
  deliverNotification(p: SimPeripheral, handle: number, data: Buffer): void {
    if (!this.#connected.has(p.id)) return;
    const char = p.db.attributes.get(handle)?.char;
    setImmediate(() => {
      this.emit('handleNotify', p.id, handle, data);
      if (char && p.db.byUuid(char.serviceUuid, char.uuid) === char) {
        this.emit('read', p.id, char.serviceUuid, char.uuid, data, true);
      }
    });
  }
}
