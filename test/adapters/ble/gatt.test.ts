import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { ad } from '../../sim/ble/ad.js';
import {
  bthomeSensor,
  NUS_RX,
  NUS_TX,
  peripheralEsp,
  peripheralHr,
  peripheralHt,
  peripheralNus,
} from '../../sim/ble/peripherals.js';
import { SimPeripheral } from '../../sim/ble/sim-peripheral.js';
import { availabilityCheckPastTimeout, nextEvent, startBleGateway, world } from './helpers.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
type State = Record<string, unknown>;

describe('ble adapter: GATT devices through the real noble and gateway', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    world.reset();
  });

  it('peripheral_esp: both 0x2A6E temperatures (told apart by 0x2901), humidity, battery, DIS, notifications', async () => {
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway([{ id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true }]);
    const client = await gw.connect();
    const initial = gw.waitForMessage<State>(
      client,
      'zephyr2mqtt/esp',
      (m) => m.temperature_sensor_2 === 18 && m.humidity !== undefined,
    );
    const info = gw.waitForMessage<{ id: string; info?: State }[]>(client, 'zephyr2mqtt/bridge/devices', (l) =>
      l.some((d) => d.id === 'esp' && d.info?.serial_number === 'ESP-0001'),
    );
    world.startAdvertising();
    expect(await initial).toMatchObject({
      temperature_sensor_1: 12,
      temperature_sensor_2: 18,
      humidity: 62.33,
      battery: 100,
    });
    expect((await info).find((d) => d.id === 'esp')?.info).toMatchObject({
      manufacturer: 'Manufacturer',
      model: 'nrf52840',
      serial_number: 'ESP-0001',
    });
    // The first temperature is unreachable by UUID in noble; its CCC was still written at handle level.
    expect(esp.cccOf('2a6e', 0)).toBe(1);
    expect(esp.cccOf('2a6e', 1)).toBe(1);
    const t1 = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.temperature_sensor_1 === 23.45);
    esp.update('2a6e', h('29 09'), 0);
    expect(await t1).toMatchObject({ temperature_sensor_1: 23.45, temperature_sensor_2: 18 });
    const t2 = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.temperature_sensor_2 === -5.2);
    esp.update('2a6e', h('F8 FD'), 1);
    expect(await t2).toMatchObject({ temperature_sensor_1: 23.45, temperature_sensor_2: -5.2 });
  });

  it('profile: ess (the config shape of the README and issue) connects without an explicit connect key', async () => {
    world.add(peripheralEsp());
    gw = await startBleGateway([
      {
        id: 'kitchen-env',
        name: 'Kitchen sensor',
        transport: 'ble',
        match: { name: 'ESP peripheral' },
        profile: 'ess',
      },
    ]);
    const client = await gw.connect();
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/kitchen-env', (m) => m.temperature_sensor_2 === 18);
    world.startAdvertising();
    expect(await state).toMatchObject({ temperature_sensor_1: 12, humidity: 62.33 });
  });

  it('peripheral_hr: heart rate notifications and body sensor location', async () => {
    const hr = world.add(peripheralHr());
    gw = await startBleGateway([
      { id: 'hr', transport: 'ble', match: { address: 'C0:00:00:00:00:02' }, connect: true },
    ]);
    const client = await gw.connect();
    const subscribed = nextEvent(hr, 'write', () => hr.cccOf('2a37') === 1);
    world.startAdvertising();
    await subscribed;
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/hr', (m) => m.heart_rate === 90);
    hr.update('2a37', h('06 5A'));
    expect(await state).toMatchObject({
      heart_rate: 90,
      skin_contact: true,
      body_sensor_location: 'chest',
      battery: 100,
    });
  });

  it('peripheral_ht: subscribes with an indication (CCC 02 00) and decodes the IEEE-11073 FLOAT', async () => {
    const ht = world.add(peripheralHt());
    gw = await startBleGateway([
      { id: 'ht', transport: 'ble', match: { name: 'Zephyr Health Thermometer' }, connect: true },
    ]);
    const client = await gw.connect();
    world.startAdvertising();
    await nextEvent(ht, 'write', () => ht.cccOf('2a1c') === 2);
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/ht', (m) => m.temperature === 36.6);
    ht.update('2a1c', h('00 4C 0E 00 FE'));
    expect(await state).toMatchObject({ temperature: 36.6, battery: 90 });
  });

  it('NUS: NDJSON telemetry split across notifications, text lines on /nus, and /set as an NDJSON line', async () => {
    const nus = world.add(peripheralNus());
    gw = await startBleGateway([{ id: 'nus', transport: 'ble', match: { name: 'Zephyr NUS' }, connect: true }]);
    const client = await gw.connect();
    world.startAdvertising();
    await nextEvent(nus, 'write', () => nus.cccOf(NUS_TX) === 1);
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/nus', (m) => m.temperature === 21.5);
    const text = gw.waitForMessage<string>(client, 'zephyr2mqtt/nus/nus');
    nus.send(NUS_TX, Buffer.from('{"temperature"'));
    nus.send(NUS_TX, Buffer.from(':21.5,"count":3}\nHello World!\n'));
    expect(await state).toMatchObject({ temperature: 21.5, count: 3 });
    expect(await text).toBe('Hello World!');
    const rx = nus.db.all(NUS_RX)[0]!.valueHandle;
    const received: Buffer[] = [];
    const line = new Promise<string>((resolve) => {
      nus.on('write', (handle: number, data: Buffer) => {
        if (handle !== rx) return;
        received.push(data);
        const all = Buffer.concat(received).toString();
        if (all.endsWith('\n')) resolve(all);
      });
    });
    await client.publishAsync(
      'zephyr2mqtt/nus/set',
      JSON.stringify({ led: true, message: 'a fairly long text for chunks' }),
    );
    expect(JSON.parse(await line)).toEqual({ led: true, message: 'a fairly long text for chunks' });
    expect(received.length).toBeGreaterThan(1);
    expect(received.every((c) => c.length <= 20)).toBe(true);
  });

  it('NUS: every line that is not a JSON object is published as sent (long, array, number, indented)', async () => {
    const nus = world.add(peripheralNus());
    gw = await startBleGateway([{ id: 'nus', transport: 'ble', match: { name: 'Zephyr NUS' }, connect: true }]);
    const client = await gw.connect();
    const texts: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/nus/nus') texts.push(payload.toString());
    });
    await client.subscribeAsync('zephyr2mqtt/nus/nus');
    world.startAdvertising();
    await nextEvent(nus, 'write', () => nus.cccOf(NUS_TX) === 1);
    const long = `${'x'.repeat(150)}!`;
    const stream = Buffer.from(`${long}\n[1,2,3]\n42\n  indented text\n{"after":1}\n`);
    const after = gw.waitForMessage<State>(client, 'zephyr2mqtt/nus', (m) => m.after === 1);
    // In 20-byte notifications, as with the default ATT MTU.
    for (let off = 0; off < stream.length; off += 20) nus.send(NUS_TX, stream.subarray(off, off + 20));
    await after;
    expect(texts).toEqual([long, '[1,2,3]', '42', '  indented text']);
  });

  it('a connected device stays online while quiet, past its availability_timeout (the link vouches for it)', async () => {
    world.add(peripheralNus());
    // A passive sensor with the same timeout, heard once after the link is up (out of range for the periodic adverts):
    // it goes offline in the first availability check past that timeout, which judged nus (listed first) too.
    const control = world.add(bthomeSensor('a4:c1:38:00:00:45', Buffer.from('022909', 'hex'), 'control'));
    control.inRange = false;
    gw = await startBleGateway([
      { id: 'nus', transport: 'ble', match: { name: 'Zephyr NUS' }, connect: true, availability_timeout: 1 },
      { id: 'control', transport: 'ble', match: { address: 'a4:c1:38:00:00:45' }, availability_timeout: 1 },
    ]);
    const client = await gw.connect();
    const seen: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/nus/availability')
        seen.push((JSON.parse(payload.toString()) as { state: string }).state);
    });
    await client.subscribeAsync('zephyr2mqtt/nus/availability');
    const online = gw.waitForMessage(
      client,
      'zephyr2mqtt/nus/availability',
      (a) => (a as { state: string }).state === 'online',
    );
    world.startAdvertising();
    await online;
    const mark = seen.lastIndexOf('online');
    // Quiet past its timeout (the core checks every 250 ms at this timeout): the link vouches for it.
    await availabilityCheckPastTimeout(gw, client, control);
    expect(gw.gateway.devices.get('nus')?.online).toBe(true);
    expect(seen.slice(mark)).toEqual(['online']);
  });

  it('generic mapping: decode with codec and scale, /set writes the encoded value, /get reads it back', async () => {
    const svc = '12345678123456781234567812345678';
    const chr = '12345678123456781234567812345679';
    const dev = world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:07',
        advertising: Buffer.concat([ad.flags(), ad.name('thermostat')]),
        services: [
          { uuid: svc, characteristics: [{ uuid: chr, properties: ['read', 'write', 'notify'], value: h('34 08') }] },
        ],
      }),
    );
    gw = await startBleGateway([
      {
        id: 'thermostat',
        transport: 'ble',
        match: { name: 'thermostat' },
        connect: true,
        characteristics: [
          {
            service: '12345678-1234-5678-1234-567812345678',
            characteristic: chr,
            property: 'setpoint',
            codec: 'int16le',
            scale: 0.01,
            writable: true,
          },
        ],
      },
    ]);
    const client = await gw.connect();
    const initial = gw.waitForMessage<State>(client, 'zephyr2mqtt/thermostat', (m) => m.setpoint === 21);
    world.startAdvertising();
    await initial;
    const valueHandle = dev.db.all(chr)[0]!.valueHandle;
    const written = nextEvent<[number, Buffer]>(dev, 'write', (handle) => handle === valueHandle);
    await client.publishAsync('zephyr2mqtt/thermostat/set', JSON.stringify({ setpoint: 23.45 }));
    expect((await written)[1]).toEqual(h('29 09'));
    const confirmed = gw.waitForMessage<State>(client, 'zephyr2mqtt/thermostat', (m) => m.setpoint === 23.45);
    await confirmed;
    const err = gw.waitForMessage<{ error: string }>(client, 'zephyr2mqtt/thermostat/set/error');
    await client.publishAsync('zephyr2mqtt/thermostat/set', JSON.stringify({ setpoint: 1000 }));
    expect((await err).error).toContain('out of range');
    // The device changes the value on its own without notifying: /get reads it.
    dev.db.attributes.get(valueHandle)!.value = h('F8 FD');
    const read = gw.waitForMessage<State>(client, 'zephyr2mqtt/thermostat', (m) => m.setpoint === -5.2);
    await client.publishAsync('zephyr2mqtt/thermostat/get', JSON.stringify({ setpoint: '' }));
    await read;
  });

  it('a /set of a property mapped writable on a characteristic the device does not let write fails at once, link kept', async () => {
    const svc = '12345678123456781234567812345678';
    const chr = '1234567812345678123456781234567a';
    const dev = world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:0c',
        advertising: Buffer.concat([ad.flags(), ad.name('sensor')]),
        services: [{ uuid: svc, characteristics: [{ uuid: chr, properties: ['read', 'notify'], value: h('07') }] }],
      }),
    );
    gw = await startBleGateway(
      [
        {
          id: 'sensor',
          transport: 'ble',
          match: { name: 'sensor' },
          connect: true,
          characteristics: [{ characteristic: chr, property: 'level', writable: true }],
        },
      ],
      { gatt_timeout_ms: 3000 },
    );
    const client = await gw.connect();
    const initial = gw.waitForMessage<State>(client, 'zephyr2mqtt/sensor', (m) => m.level === 7);
    world.startAdvertising();
    await initial;
    const err = gw.waitForMessage<{ error: string }>(client, 'zephyr2mqtt/sensor/set/error');
    const asked = performance.now();
    await client.publishAsync('zephyr2mqtt/sensor/set', JSON.stringify({ level: 3 }));
    // The device answers Write Not Permitted, which noble does not report: the write used to wait for its timeout,
    // fail as "timed out" and drop the link.
    expect((await err).error).toMatch(/level: characteristic .* is not writable/);
    expect(performance.now() - asked).toBeLessThan(3000);
    expect(dev.connected).toBe(true);
    expect(world.connectAttempts.get(dev.id)).toBe(1);
  });

  it('twin characteristics with different descriptor layouts: named by position, the shadowed one read-only', async () => {
    const dev = world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:09',
        advertising: Buffer.concat([ad.flags(), ad.name('odd ess')]),
        services: [
          {
            uuid: '181a',
            characteristics: [
              // No descriptors but its CCC: a different span than its twin, so its layout is unknown.
              { uuid: '2a6e', properties: ['read', 'notify'], value: h('E8 03') },
              {
                uuid: '2a6e',
                properties: ['read', 'notify'],
                value: h('D0 07'),
                descriptors: [
                  { uuid: '2901', value: Buffer.from('Outdoor') },
                  { uuid: '2902', value: h('00 00') },
                ],
              },
            ],
          },
        ],
      }),
    );
    gw = await startBleGateway([{ id: 'odd', transport: 'ble', match: { name: 'odd ess' }, connect: true }]);
    const client = await gw.connect();
    const initial = gw.waitForMessage<State>(client, 'zephyr2mqtt/odd', (m) => m.temperature_2 === 20);
    const subscribed = nextEvent(dev, 'write', () => dev.cccOf('2a6e', 1) === 1);
    world.startAdvertising();
    expect(await initial).toMatchObject({ temperature_1: 10, temperature_2: 20 });
    await subscribed;
    expect(dev.cccOf('2a6e', 0)).toBe(0);
    const next = gw.waitForMessage<State>(client, 'zephyr2mqtt/odd', (m) => m.temperature_2 === 23.45);
    dev.update('2a6e', h('29 09'), 1);
    await next;
  });

  it('a changed device entry on config/reload reconnects the device with the new mapping', async () => {
    const svc = '12345678123456781234567812345678';
    const chr = '12345678123456781234567812345679';
    world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:0a',
        advertising: Buffer.concat([ad.flags(), ad.name('remap')]),
        services: [{ uuid: svc, characteristics: [{ uuid: chr, properties: ['read'], value: h('0A 00') }] }],
      }),
    );
    const entry = (property: string) => ({
      id: 'remap',
      transport: 'ble',
      match: { name: 'remap' },
      connect: true,
      characteristics: [{ characteristic: chr, property, codec: 'uint16le' }],
    });
    gw = await startBleGateway([entry('level')]);
    const client = await gw.connect();
    const first = gw.waitForMessage<State>(client, 'zephyr2mqtt/remap', (m) => m.level === 10);
    world.startAdvertising();
    await first;
    const text = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, text.replace('property: level', 'property: volume'));
    const renamed = gw.waitForMessage<State>(client, 'zephyr2mqtt/remap', (m) => m.volume === 10);
    expect(await gw.request(client, 'config/reload', {})).toMatchObject({ status: 'ok' });
    await renamed;
  });

  it("a change of the core's keys only (name, description, throttle) keeps the GATT session", async () => {
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway([{ id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true }]);
    const client = await gw.connect();
    const initial = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.humidity !== undefined);
    world.startAdvertising();
    await initial;
    const options = { name: 'Kitchen', description: 'by the window', throttle: 0.05, filtered_attributes: ['^x$'] };
    expect(await gw.request(client, 'device/options', { id: 'esp', options })).toMatchObject({ status: 'ok' });
    // A session ended by the reload would have dropped the link before the answer (the disconnect is synchronous).
    expect(esp.connected).toBe(true);
    expect(world.connectAttempts.get(esp.id)).toBe(1);
    const next = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.temperature_sensor_1 === 23.45);
    esp.update('2a6e', h('29 09'), 0);
    await next;
  });
});
