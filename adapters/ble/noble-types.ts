// The slice of noble's runtime API the adapter uses, typed structurally (noble's own d.ts is loose and
// importing it would tempt an eager import of the main entry, which opens the HCI socket).
import type { EventEmitter } from 'node:events';

export interface NobleAdvertisement {
  localName?: string | undefined;
  txPowerLevel?: number | undefined;
  manufacturerData?: Buffer | undefined;
  serviceData?: { uuid: string; data: Buffer }[];
  serviceUuids?: string[];
}

export interface NoblePeripheral extends EventEmitter {
  id: string;
  address: string;
  addressType: string;
  connectable: boolean;
  rssi: number;
  state: string;
  mtu?: number | null;
  advertisement: NobleAdvertisement;
  connect(): void;
  cancelConnect(): void;
  disconnect(): void;
  discoverServices(uuids: string[]): void;
  readHandle(handle: number): void;
  writeHandle(handle: number, data: Buffer, withoutResponse: boolean): void;
}

export interface NobleService extends EventEmitter {
  uuid: string;
  characteristics: NobleCharacteristic[] | null;
  discoverCharacteristics(uuids: string[]): void;
}

export interface NobleCharacteristic extends EventEmitter {
  uuid: string;
  properties: string[];
  discoverDescriptors(): void;
}

export interface NobleDescriptor {
  uuid: string;
}

/** What a binding's `characteristicsDiscovered` event carries per characteristic (HCI and our simulator). */
export interface RawCharacteristic {
  uuid: string;
  startHandle: number;
  valueHandle: number;
  endHandle?: number;
  properties: number;
}

export interface Noble extends EventEmitter {
  readonly state: string;
  startScanning(serviceUuids: string[], allowDuplicates: boolean, callback?: (err?: Error | null) => void): void;
  stopScanning(callback?: () => void): void;
}

/** A noble binding object (the layer below noble): an EventEmitter with init(), startScanning(), connect()... */
export interface NobleBinding extends EventEmitter {
  init(): void;
}
