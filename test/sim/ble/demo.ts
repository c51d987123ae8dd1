// A lively simulated neighbourhood for demos: every Zephyr sample the adapter knows, behaving like the samples
// (HR 1/s running 91..159, HT indications 1/s, ESS temperatures every 5 s and 12 s, NUS "Hello World!" every 3 s
// plus an NDJSON reading, BTHome plain and encrypted adverts). `devices` is the matching config to onboard them.
import { world } from './binding.js';
import {
  bthomeAdvertising,
  bthomeEncrypt,
  bthomeSensor,
  NUS_TX,
  peripheralEsp,
  peripheralHr,
  peripheralHt,
  peripheralNus,
} from './peripherals.js';
import { SimPeripheral } from './sim-peripheral.js';

export const DEMO_BIND_KEY = '231d39c1d7cc1ab1aee224cd096db932';
const ENCRYPTED_ADDRESS = '54:48:e6:8f:80:a5';

export const demoDevices = [
  { id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true },
  { id: 'heart', transport: 'ble', match: { name: 'Zephyr Heartrate Sensor' }, connect: true },
  { id: 'thermometer', transport: 'ble', match: { name: 'Zephyr Health Thermometer' }, connect: true },
  { id: 'nus', transport: 'ble', match: { name: 'Zephyr NUS' }, connect: true },
  { id: 'bthome', transport: 'ble', match: { name: 'BTHome template' } },
  { id: 'bthome-secure', transport: 'ble', match: { bthome_mac: ENCRYPTED_ADDRESS }, bind_key: DEMO_BIND_KEY },
];

const s16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(Math.round(v));
  return b;
};

/** Populates the shared world and starts the behaviours; returns a stop function. */
export function startBleDemo(): () => void {
  const esp = world.add(peripheralEsp());
  const hr = world.add(peripheralHr());
  const ht = world.add(peripheralHt());
  const nus = world.add(peripheralNus());
  const plain = world.add(bthomeSensor('a4:c1:38:00:00:01', Buffer.from([0x02, 0, 0, 0x03, 0xbf, 0x13])));
  const secure = world.add(
    new SimPeripheral({
      address: ENCRYPTED_ADDRESS,
      connectable: false,
      addressType: 'public',
      advertising: Buffer.alloc(0),
    }),
  );
  world.advertisingIntervalMs = 1000;
  world.startAdvertising();
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    hr.update('2a37', Buffer.from([0x06, 91 + (tick % 69)]));
    const temp = 36 + (tick % 10) / 10;
    ht.update('2a1c', Buffer.concat([Buffer.from([0x00]), s16(temp * 100), Buffer.from([0x00, 0xfe])]).subarray(0, 5));
    if (tick % 5 === 0) esp.update('2a6e', s16(1200 + (tick % 50) * 10), 0);
    if (tick % 12 === 0) esp.update('2a6e', s16(1800 + (tick % 30) * 10), 1);
    if (tick % 3 === 0) {
      nus.send(NUS_TX, Buffer.from('Hello World!\n'));
      nus.send(NUS_TX, Buffer.from(`{"uptime":${tick}}\n`));
    }
    const t = (tick % 26) * 100;
    plain.advertising = bthomeAdvertising(
      'BTHome template',
      Buffer.concat([Buffer.from([0x40, 0x02]), s16(t), Buffer.from([0x03, 0xbf, 0x13])]),
    );
    secure.advertising = bthomeAdvertising(
      'BTHome secure',
      bthomeEncrypt(Buffer.concat([Buffer.from([0x02]), s16(2000 + t)]), DEMO_BIND_KEY, ENCRYPTED_ADDRESS, tick),
    );
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    world.reset();
  };
}
