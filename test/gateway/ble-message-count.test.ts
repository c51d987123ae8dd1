// zephyr2mqtt_messages_total{adapter="ble",direction="in"} counts the adverts taken as the device's: one refused
// (wrong key, a plain frame for a keyed device) or replayed is a decode error only.
import { afterEach, describe, expect, it } from 'vitest';
import { startBleGateway, world } from '../adapters/ble/helpers.js';
import type { TestGateway } from '../helpers/gateway.js';
import { bthomeAdvertising, bthomeEncrypt } from '../sim/ble/peripherals.js';
import { SimPeripheral } from '../sim/ble/sim-peripheral.js';
import { parseExposition } from './prom-text.js';

const KEY = '231d39c1d7cc1ab1aee224cd096db932';
const ADDRESS = '54:48:e6:8f:80:c1';
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

async function bleCounts(gw: TestGateway): Promise<{ messagesIn: number; decodeErrors: number }> {
  const { samples } = parseExposition(await (await fetch(`${gw.httpUrl}/metrics`)).text());
  const sum = (name: string, labels: Record<string, string>) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);
  return {
    messagesIn: sum('zephyr2mqtt_messages_total', { adapter: 'ble', direction: 'in' }),
    decodeErrors: sum('zephyr2mqtt_decode_errors_total', { adapter: 'ble' }),
  };
}

describe('ble adverts in messages_total', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    world.reset();
  });

  it('counts accepted adverts only', async () => {
    const frame = (objects: string, counter: number, key = KEY) =>
      bthomeAdvertising('enc', bthomeEncrypt(h(objects), key, ADDRESS, counter));
    const sensor = world.add(
      new SimPeripheral({
        address: ADDRESS,
        connectable: false,
        addressType: 'public',
        advertising: frame('02 34 08', 1000),
      }),
    );
    gw = await startBleGateway([{ id: 'enc', transport: 'ble', match: { address: ADDRESS }, bind_key: KEY }]);
    const client = await gw.connect();
    const first = gw.waitForMessage<{ temperature?: number }>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 21);
    world.advertise(sensor);
    await first;
    const before = await bleCounts(gw);
    sensor.advertising = frame('02 CA 09', 1001, 'ff'.repeat(16)); // wrong key
    world.advertise(sensor);
    sensor.advertising = bthomeAdvertising('enc', h('40 02 CA 09')); // plain frame for a keyed device
    world.advertise(sensor);
    sensor.advertising = frame('02 CA 09', 999); // replayed counter
    world.advertise(sensor);
    const next = gw.waitForMessage<{ temperature?: number }>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 22);
    sensor.advertising = frame('02 98 08', 1005);
    world.advertise(sensor);
    await next;
    expect(await bleCounts(gw)).toEqual({ messagesIn: before.messagesIn + 1, decodeErrors: before.decodeErrors + 3 });
  });
});
