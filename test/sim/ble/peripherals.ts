// Emulations of the Zephyr samples (protocols.md §1.2), with their AD/SR, GATT layout and initial values.
import { createCipheriv } from 'node:crypto';
import { ad } from './ad.js';
import type { DescriptorDef } from './gatt-db.js';
import { SimPeripheral } from './sim-peripheral.js';

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const s16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(v);
  return b;
};

export const NUS_SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e';
export const NUS_RX = '6e400002b5a3f393e0a9e50e24dcca9e';
export const NUS_TX = '6e400003b5a3f393e0a9e50e24dcca9e';

function dis(model: string, serial?: string) {
  return {
    uuid: '180a',
    characteristics: [
      { uuid: '2a24', properties: ['read' as const], value: Buffer.from(model) },
      { uuid: '2a29', properties: ['read' as const], value: Buffer.from('Manufacturer') },
      ...(serial ? [{ uuid: '2a25', properties: ['read' as const], value: Buffer.from(serial) }] : []),
    ],
  };
}

function battery(level = 100) {
  return {
    uuid: '180f',
    characteristics: [{ uuid: '2a19', properties: ['read' as const, 'notify' as const], value: Buffer.from([level]) }],
  };
}

/** peripheral_esp: ESS with two 0x2A6E temperatures (told apart by 0x2901) and a humidity, plus battery. */
export function peripheralEsp(address = 'c0:00:00:00:00:01'): SimPeripheral {
  const tempDescriptors = (name: string, lo: number, hi: number): DescriptorDef[] => [
    { uuid: '290c', value: Buffer.from([0, 0, 0x01, 0, 0, 0, 0x05, 0, 0, 0, 0]) },
    { uuid: '2901', value: Buffer.from(name) },
    { uuid: '2906', value: Buffer.concat([s16(lo), s16(hi)]) },
    { uuid: '290d', value: Buffer.from([0x03]) },
    { uuid: '2902', value: Buffer.from([0, 0]) },
  ];
  return new SimPeripheral({
    address,
    advertising: Buffer.concat([ad.flags(), ad.appearance(0x0300), ad.uuid16(0x181a, 0x180f)]),
    scanResponse: ad.name('ESP peripheral'),
    services: [
      {
        uuid: '181a',
        characteristics: [
          {
            uuid: '2a6e',
            properties: ['read', 'notify'],
            value: s16(1200),
            descriptors: tempDescriptors('Temperature Sensor 1', -10000, 10000),
          },
          {
            uuid: '2a6e',
            properties: ['read', 'notify'],
            value: s16(1800),
            descriptors: tempDescriptors('Temperature Sensor 2', -1000, 5000),
          },
          {
            uuid: '2a6f',
            properties: ['read'],
            value: u16(6233),
            descriptors: [{ uuid: '2901', value: Buffer.from('Humidity Sensor') }],
          },
        ],
      },
      battery(),
      dis('nrf52840', 'ESP-0001'),
    ],
  });
}

/** peripheral_hr: Heart Rate (notify), Battery, DIS. */
export function peripheralHr(address = 'c0:00:00:00:00:02'): SimPeripheral {
  return new SimPeripheral({
    address,
    advertising: Buffer.concat([ad.flags(), ad.uuid16(0x180d, 0x180f, 0x180a)]),
    scanResponse: ad.name('Zephyr Heartrate Sensor'),
    services: [
      {
        uuid: '180d',
        characteristics: [
          { uuid: '2a37', properties: ['notify'] },
          { uuid: '2a38', properties: ['read'], value: Buffer.from([0x01]) },
          { uuid: '2a39', properties: ['write'] },
        ],
      },
      battery(),
      dis('Zephyr Model', 'HR-0001'),
    ],
  });
}

/** peripheral_ht: Health Thermometer, Temperature Measurement is indicate only. */
export function peripheralHt(address = 'c0:00:00:00:00:03'): SimPeripheral {
  return new SimPeripheral({
    address,
    advertising: Buffer.concat([ad.flags(), ad.uuid16(0x1809, 0x180a, 0x180f)]),
    scanResponse: ad.name('Zephyr Health Thermometer'),
    services: [
      { uuid: '1809', characteristics: [{ uuid: '2a1c', properties: ['indicate'] }] },
      dis('Zephyr Model'),
      battery(90),
    ],
  });
}

/** peripheral_nus: NUS TX (notify) listed before RX (write, write without response). */
export function peripheralNus(address = 'c0:00:00:00:00:04', name = 'Zephyr NUS'): SimPeripheral {
  return new SimPeripheral({
    address,
    advertising: Buffer.concat([ad.flags(), ad.name(name)]),
    scanResponse: ad.uuid128(NUS_SERVICE),
    services: [
      {
        uuid: NUS_SERVICE,
        characteristics: [
          { uuid: NUS_TX, properties: ['notify'] },
          { uuid: NUS_RX, properties: ['write', 'writeWithoutResponse'] },
        ],
      },
    ],
  });
}

/** bthome_sensor_template: non-connectable, AD = flags, name, service data 0xFCD2. */
export function bthomeSensor(address: string, objects: Buffer, name = 'BTHome template'): SimPeripheral {
  return new SimPeripheral({
    address,
    addressType: 'public',
    connectable: false,
    advertising: bthomeAdvertising(name, Buffer.concat([Buffer.from([0x40]), objects])),
  });
}

export function bthomeAdvertising(name: string, serviceData: Buffer): Buffer {
  return Buffer.concat([ad.flags(), ad.name(name), ad.serviceData16(0xfcd2, serviceData)]);
}

/** BTHome v2 encrypted service data: info 0x41 | AES-CCM(objects) | counter u32 LE | 4-byte MIC. */
export function bthomeEncrypt(objects: Buffer, keyHex: string, address: string, counter: number): Buffer {
  const mac = Buffer.from(address.replace(/:/g, ''), 'hex');
  const ctr = Buffer.alloc(4);
  ctr.writeUInt32LE(counter);
  const nonce = Buffer.concat([mac, Buffer.from([0xd2, 0xfc, 0x41]), ctr]);
  const cipher = createCipheriv('aes-128-ccm', Buffer.from(keyHex, 'hex'), nonce, { authTagLength: 4 });
  cipher.setAAD(Buffer.alloc(0), { plaintextLength: objects.length });
  const ct = Buffer.concat([cipher.update(objects), cipher.final()]);
  return Buffer.concat([Buffer.from([0x41]), ct, ctr, cipher.getAuthTag()]);
}
