import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { decodeAdvert, linkquality } from '../../../adapters/ble/advert.js';
import { AdvertiserCache } from '../../../adapters/ble/advertiser-cache.js';
import { bleDeviceSchema } from '../../../adapters/ble/config.js';
import { buildHandlers, slug } from '../../../adapters/ble/gatt/service-handlers.js';
import { DeviceIndex, formatMac } from '../../../adapters/ble/identity.js';
import { forgetPeripheral } from '../../../adapters/ble/noble-prune.js';
import type { Noble } from '../../../adapters/ble/noble-types.js';
import { bthomeEncrypt } from '../../sim/ble/peripherals.js';

const device = (id: string, rest: Record<string, unknown>) => ({
  id,
  ...bleDeviceSchema.parse({ transport: 'ble', ...rest }),
});

describe('advertiser cache', () => {
  it('evicts the least recently seen advertiser and reports it', () => {
    const evicted: string[] = [];
    const cache = new AdvertiserCache(3, (a) => evicted.push(a));
    cache.touch('a', 1);
    cache.touch('b', 2);
    cache.touch('c', 3);
    cache.touch('a', 4); // a is now the most recent
    cache.touch('d', 5);
    expect(evicted).toEqual(['b']);
    expect(cache.size).toBe(3);
    expect(cache.has('a') && cache.has('c') && cache.has('d')).toBe(true);
    for (let i = 0; i < 1000; i++) cache.touch(`x${i}`, 10 + i);
    expect(cache.size).toBe(3);
    expect(cache.evictions).toBe(1001);
  });

  it('evicts in least-recently-seen order through churn, rehashes and clear (checked against a plain list)', () => {
    const evicted: string[] = [];
    const cache = new AdvertiserCache(50, (a) => evicted.push(a));
    let order: string[] = []; // reference: least recently seen first
    const expected: string[] = [];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      if (i === 9_000) {
        cache.clear();
        order = [];
      }
      // Mostly re-sightings of remembered advertisers (delete + re-insert), some new passers-by.
      const address = next() % 4 === 0 || order.length === 0 ? `n${i}` : order[next() % order.length]!;
      const at = order.indexOf(address);
      if (at >= 0) order.splice(at, 1);
      else if (order.length >= 50) expected.push(order.shift()!);
      order.push(address);
      cache.touch(address, i);
    }
    expect(evicted).toEqual(expected);
    expect(cache.size).toBe(order.length);
    for (const a of order) expect(cache.has(a)).toBe(true);
  });
});

describe('noble pruning', () => {
  it('drops a disconnected peripheral from noble maps but never a connected one', () => {
    const noble = Object.assign(new EventEmitter(), {
      state: 'poweredOn',
      startScanning() {},
      stopScanning() {},
      _peripherals: { a: { state: 'disconnected' }, b: { state: 'connected' } },
      _services: { a: {}, b: {} },
      _characteristics: { a: {}, b: {} },
      _descriptors: { a: {}, b: {} },
      _discoveredPeripheralUUids: { a: true, b: true },
    });
    forgetPeripheral(noble as unknown as Noble, 'a');
    forgetPeripheral(noble as unknown as Noble, 'b');
    expect(Object.keys(noble._peripherals)).toEqual(['b']);
    expect(Object.keys(noble._services)).toEqual(['b']);
    expect(Object.keys(noble._discoveredPeripheralUUids)).toEqual(['b']);
  });
});

describe('identity', () => {
  it('matches by address, BTHome MAC (alone) or name, requiring every given key to agree', () => {
    const index = new DeviceIndex([
      device('by-addr', { match: { address: 'AA:BB:CC:DD:EE:01' } }),
      device('by-mac', { match: { bthome_mac: 'aabbccddee02' } }),
      device('by-name', { match: { name: 'ESP peripheral' } }),
      device('both', { match: { address: 'aa-bb-cc-dd-ee-03', name: 'right' } }),
      device('serial', { match: { serial_number: 'S1' } }),
      // bthome_mac beside a name is the key's MAC only: the device may advertise from any (random) address.
      device('shed', { match: { name: 'shed', bthome_mac: 'aabbccddee04' } }),
    ]);
    expect(index.match('aabbccddee01', undefined)?.id).toBe('by-addr');
    expect(index.match('aabbccddee02', 'x')?.id).toBe('by-mac');
    expect(index.match('ffffffffffff', 'ESP peripheral')?.id).toBe('by-name');
    expect(index.match('aabbccddee03', 'right')?.id).toBe('both');
    expect(index.match('aabbccddee03', 'wrong')).toBeUndefined();
    expect(index.match('ffffffffffff', undefined)).toBeUndefined();
    expect(index.serialOnly.map((d) => d.id)).toEqual(['serial']);
    expect(index.match('5a1122334455', 'shed')?.id).toBe('shed');
    expect(index.match('aabbccddee04', 'other')).toBeUndefined();
    expect(index.bySerial('S1')?.id).toBe('serial');
    expect(formatMac('aabbccddee01')).toBe('AA:BB:CC:DD:EE:01');
  });

  it('rejects a match without any key', () => {
    expect(bleDeviceSchema.safeParse({ transport: 'ble', match: {} }).success).toBe(false);
  });
});

describe('characteristic naming', () => {
  const char = (uuid: string, valueHandle: number, serviceUuid = '181a') => ({
    serviceUuid,
    uuid,
    valueHandle,
    properties: 0x12,
    descriptors: new Map<string, number>(),
  });

  it('names twin characteristics from their 0x2901 labels, or by position when labels are missing', () => {
    const chars = [char('2a6e', 3), char('2a6e', 9), char('2a6f', 15)];
    const labelled = buildHandlers(
      chars,
      [],
      new Map([
        [3, 'Temperature Sensor 1'],
        [9, 'Temperature Sensor 2'],
      ]),
    );
    expect(labelled.map((h) => h.property)).toEqual(['temperature_sensor_1', 'temperature_sensor_2', 'humidity']);
    const unlabelled = buildHandlers(chars, [], new Map());
    expect(unlabelled.map((h) => h.property)).toEqual(['temperature_1', 'temperature_2', 'humidity']);
    expect(slug('  Temp. (°C) #2 ')).toBe('temp_c_2');
  });

  it('lets a config mapping take over a standard characteristic', () => {
    const mapping = bleDeviceSchema.parse({
      transport: 'ble',
      match: { name: 'x' },
      characteristics: [{ characteristic: '2A19', property: 'charge', codec: 'uint8', scale: 0.5 }],
    }).characteristics;
    const handlers = buildHandlers([char('2a19', 5, '180f')], mapping, new Map());
    expect(handlers).toHaveLength(1);
    expect(handlers[0]!.property).toBe('charge');
    expect(handlers[0]!.decode(Buffer.from([100]))).toEqual({ ok: true, value: { charge: 50 } });
  });

  it('maps RSSI to linkquality 0..255', () => {
    expect([linkquality(-120), linkquality(-100), linkquality(-65), linkquality(-30), linkquality(-10)]).toEqual([
      0, 0, 128, 255, 255,
    ]);
  });
});

describe('advert decoding', () => {
  it('decrypts a name-matched device at ever new addresses without remembering each address', () => {
    const key = '231d39c1d7cc1ab1aee224cd096db932';
    const entry = device('rpa', { match: { name: 'rpa' }, bind_key: key });
    const cache = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      const address = `5a0000000${i.toString(16).padStart(3, '0')}`;
      const data = bthomeEncrypt(Buffer.from('02CA09', 'hex'), key, address, i + 1);
      const decoded = decodeAdvert({ serviceData: [{ uuid: 'fcd2', data }] }, -60, address, entry, cache);
      expect(decoded.values.temperature).toBe(25.06);
    }
    // The bind key: one entry, however many (resolvable private) addresses the device went through.
    expect(cache.size).toBe(1);
  });
});
