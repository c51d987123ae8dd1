// One emulated Zephyr peripheral: its address, advertising and scan response payloads, a GATT database and
// the radio conditions (in range, accepting connections). Tests drive values; the world carries them to noble.
import { EventEmitter } from 'node:events';
import { type CharacteristicDef, type DbCharacteristic, GattDb, type ServiceDef } from './gatt-db.js';

export interface SimPeripheralOptions {
  address: string;
  addressType?: 'public' | 'random';
  connectable?: boolean;
  rssi?: number;
  advertising: Buffer;
  scanResponse?: Buffer;
  services?: ServiceDef[];
  /** ATT MTU the link settles on after connecting (noble's `peripheral.mtu`); none: no exchange reported. */
  mtu?: number;
}

export class SimPeripheral extends EventEmitter {
  readonly address: string;
  readonly addressType: 'public' | 'random';
  readonly connectable: boolean;
  rssi: number;
  advertising: Buffer;
  scanResponse: Buffer | undefined;
  readonly db: GattDb;
  readonly mtu: number | undefined;
  inRange = true;
  /** When false, connection attempts get no answer at all (the central's own timeout must fire). */
  acceptConnections = true;
  connected = false;
  /** Writes received, in order: [handle, bytes]. */
  readonly writes: [number, Buffer][] = [];

  constructor(opts: SimPeripheralOptions) {
    super();
    this.address = opts.address.toLowerCase();
    this.addressType = opts.addressType ?? 'random';
    this.connectable = opts.connectable ?? true;
    this.rssi = opts.rssi ?? -60;
    this.advertising = opts.advertising;
    this.scanResponse = opts.scanResponse;
    this.db = new GattDb(opts.services ?? []);
    this.mtu = opts.mtu;
  }

  /** noble's peripheral id: the address without colons. */
  get id(): string {
    return this.address.replace(/:/g, '');
  }

  /** Sets a characteristic value (the `index`-th with this UUID) and notifies/indicates it when subscribed. */
  update(uuid: string, value: Buffer, index = 0): void {
    const char = this.db.all(uuid)[index];
    if (!char) throw new Error(`${this.address} has no characteristic ${uuid}[${index}]`);
    this.#attr(char.valueHandle).value = value;
    if (this.subscribed(char)) this.emit('notification', char.valueHandle, value);
  }

  /** Sends raw bytes as a notification of a characteristic (e.g. NUS TX), if subscribed. */
  send(uuid: string, value: Buffer, index = 0): boolean {
    const char = this.db.all(uuid)[index];
    if (!char || !this.subscribed(char)) return false;
    this.emit('notification', char.valueHandle, value);
    return true;
  }

  subscribed(char: DbCharacteristic): boolean {
    if (!this.connected || char.cccHandle === undefined) return false;
    const ccc = this.#attr(char.cccHandle).value.readUInt16LE(0);
    return (ccc & 0x03) !== 0;
  }

  /** CCC value of the `index`-th characteristic with this UUID (1 notify, 2 indicate). */
  cccOf(uuid: string, index = 0): number {
    const char = this.db.all(uuid)[index];
    if (char?.cccHandle === undefined) return 0;
    return this.#attr(char.cccHandle).value.readUInt16LE(0);
  }

  /** The radio link drops (out of range, power loss): the central sees a supervision timeout. */
  loseLink(): void {
    this.emit('linkLost');
  }

  charDef(handle: number): CharacteristicDef | undefined {
    return this.db.attributes.get(handle)?.char?.def;
  }

  #attr(handle: number) {
    const a = this.db.attributes.get(handle);
    if (!a) throw new Error(`no attribute ${handle}`);
    return a;
  }
}
