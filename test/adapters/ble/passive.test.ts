import { afterEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { ad } from '../../sim/ble/ad.js';
import { bthomeAdvertising, bthomeEncrypt, bthomeSensor, peripheralHr } from '../../sim/ble/peripherals.js';
import { SimPeripheral } from '../../sim/ble/sim-peripheral.js';
import { startBleGateway, world } from './helpers.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('ble adapter: adverts through the real noble and gateway', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    world.reset();
  });

  it('publishes plain BTHome v2 values with linkquality, matched by name', async () => {
    world.add(bthomeSensor('a4:c1:38:00:00:01', h('00 2A 01 5F 02 29 09 03 BF 13'))).rssi = -65;
    gw = await startBleGateway([{ id: 'bthome1', transport: 'ble', match: { name: 'BTHome template' } }]);
    const client = await gw.connect();
    const state = gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/bthome1',
      (m) => m.temperature === 23.45,
    );
    const listed = gw.waitForMessage<{ id: string; availability: string }[]>(
      client,
      'zephyr2mqtt/bridge/devices',
      (m) => m.some((d) => d.id === 'bthome1' && d.availability === 'online'),
    );
    world.startAdvertising();
    expect(await state).toMatchObject({
      temperature: 23.45,
      humidity: 50.55,
      battery: 95,
      rssi: -65,
      linkquality: 128,
    });
    await listed;
  });

  it('publishes a BTHome packet once, however many times the radio reports it, and the next packet again', async () => {
    const sensor = world.add(bthomeSensor('a4:c1:38:00:00:03', h('00 07 02 29 09')));
    gw = await startBleGateway([{ id: 'dup', transport: 'ble', match: { address: 'a4:c1:38:00:00:03' } }]);
    const client = await gw.connect();
    const states: Array<Record<string, unknown>> = [];
    client.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/dup') states.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    });
    await client.subscribeAsync('zephyr2mqtt/dup');
    for (let i = 0; i < 5; i++) world.advertise(sensor);
    const next = gw.waitForMessage<Record<string, unknown>>(client, 'zephyr2mqtt/dup', (m) => m.temperature === 21);
    sensor.advertising = bthomeAdvertising('BTHome template', h('40 00 08 02 34 08'));
    world.advertise(sensor);
    await next;
    // Five reports of packet 7 made one state message (each used to republish the whole state for its RSSI).
    expect(states.filter((m) => m.temperature === 23.45)).toHaveLength(1);
  });

  it('decrypts encrypted BTHome with the bind key, matched by BTHome MAC, and counts a wrong key as a decode error', async () => {
    const key = '231d39c1d7cc1ab1aee224cd096db932';
    const address = '54:48:e6:8f:80:a5';
    const sensor = world.add(
      new SimPeripheral({
        address,
        connectable: false,
        addressType: 'public',
        advertising: bthomeAdvertising('enc', bthomeEncrypt(h('02 CA 09 03 BF 13'), key, address, 0x33221100)),
      }),
    );
    const other = world.add(
      new SimPeripheral({
        address: '54:48:e6:8f:80:a6',
        connectable: false,
        advertising: bthomeAdvertising('enc2', bthomeEncrypt(h('02 CA 09'), '00'.repeat(16), '54:48:e6:8f:80:a6', 1)),
      }),
    );
    gw = await startBleGateway([
      { id: 'enc1', transport: 'ble', match: { bthome_mac: '54:48:E6:8F:80:A5' }, bind_key: key },
      { id: 'enc2', transport: 'ble', match: { address: '54:48:e6:8f:80:a6' }, bind_key: key },
    ]);
    const client = await gw.connect();
    const state = gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/enc1',
      (m) => m.temperature === 25.06,
    );
    world.advertise(sensor);
    world.advertise(other);
    expect(await state).toMatchObject({ temperature: 25.06, humidity: 50.55 });
    // A plain frame from the keyed device is not trusted: no state ever shows its value.
    const temperatures: unknown[] = [];
    client.on('message', (topic, buf) => {
      if (topic === 'zephyr2mqtt/enc1')
        temperatures.push((JSON.parse(buf.toString()) as { temperature: unknown }).temperature);
    });
    sensor.advertising = bthomeAdvertising('enc', h('40 02 00 00'));
    world.advertise(sensor);
    const next = gw.waitForMessage<Record<string, unknown>>(client, 'zephyr2mqtt/enc1', (m) => m.temperature === 21);
    sensor.advertising = bthomeAdvertising('enc', bthomeEncrypt(h('02 34 08'), key, address, 0x33221101));
    world.advertise(sensor);
    expect(await next).toMatchObject({ temperature: 21, humidity: 50.55 });
    expect(temperatures).not.toContain(0);
    // A recorded earlier frame sent again (a replay: lower counter) is refused; a later counter goes through.
    const mark = temperatures.length;
    sensor.advertising = bthomeAdvertising('enc', bthomeEncrypt(h('02 CA 09'), key, address, 0x33221100));
    world.advertise(sensor);
    const after = gw.waitForMessage<Record<string, unknown>>(client, 'zephyr2mqtt/enc1', (m) => m.temperature === 22);
    sensor.advertising = bthomeAdvertising('enc', bthomeEncrypt(h('02 98 08'), key, address, 0x33221102));
    world.advertise(sensor);
    await after;
    expect(temperatures.slice(mark)).not.toContain(25.06);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/decode_errors?[^\n]*ble[^\n]* [1-9]/);
  });

  it('decodes configured manufacturer data fields', async () => {
    world.add(
      new SimPeripheral({
        address: 'c0:11:22:33:44:55',
        connectable: false,
        advertising: Buffer.concat([ad.flags(), ad.name('mfr'), ad.manufacturer(0x0059, h('01 29 09 E8 03'))]),
      }),
    );
    gw = await startBleGateway([
      {
        id: 'mfr',
        transport: 'ble',
        match: { name: 'mfr' },
        manufacturer_data: {
          company_id: 0x59,
          fields: [
            { offset: 1, property: 'temperature', codec: 'int16le', scale: 0.01 },
            { offset: 3, property: 'pressure', codec: 'uint16le', scale: 1 },
          ],
        },
      },
    ]);
    const client = await gw.connect();
    const state = gw.waitForMessage<Record<string, unknown>>(client, 'zephyr2mqtt/mfr', (m) => m.pressure === 1000);
    world.startAdvertising();
    expect(await state).toMatchObject({ temperature: 23.45, pressure: 1000 });
  });

  it('announces unknown advertisers on bridge/event only while permit_join is on, once per interval', async () => {
    world.add(bthomeSensor('a4:c1:38:00:00:09', h('02 29 09'), 'stranger'));
    gw = await startBleGateway([], { seen_interval_s: 3600 });
    const client = await gw.connect();
    const events: Record<string, unknown>[] = [];
    await client.subscribeAsync('zephyr2mqtt/bridge/event');
    client.on('message', (topic, buf) => {
      if (topic === 'zephyr2mqtt/bridge/event') events.push(JSON.parse(buf.toString()) as Record<string, unknown>);
    });
    world.advertiseAll();
    world.advertiseAll();
    await gw.request(client, 'permit_join', { value: true });
    const seen = gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      client,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown',
    );
    for (let i = 0; i < 5; i++) world.advertiseAll();
    const event = await seen;
    expect(event.data).toMatchObject({
      transport: 'ble',
      address: 'A4:C1:38:00:00:09',
      name: 'stranger',
      suggested_config: {
        transport: 'ble',
        match: { name: 'stranger', bthome_mac: 'A4:C1:38:00:00:09' },
        connect: false,
      },
      details: { bthome: 'plain', connectable: false },
    });
    // Five more adverts and a round trip later, still exactly one announcement.
    for (let i = 0; i < 5; i++) world.advertiseAll();
    await gw.request(client, 'permit_join', { value: true });
    expect(events.filter((e) => e.type === 'device_seen_unknown')).toHaveLength(1);
  });

  it('suggests a GATT connection for an unknown Zephyr sample and names the sample', async () => {
    world.add(peripheralHr('c0:00:00:00:00:42'));
    gw = await startBleGateway([]);
    const client = await gw.connect();
    await gw.request(client, 'permit_join', { value: true });
    const seen = gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      client,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown',
    );
    world.startAdvertising();
    expect((await seen).data).toMatchObject({
      address: 'C0:00:00:00:00:42',
      name: 'Zephyr Heartrate Sensor',
      suggested_config: { match: { name: 'Zephyr Heartrate Sensor' }, connect: true },
      details: { zephyr_sample: 'peripheral_hr', connectable: true, service_uuids: ['180d', '180f', '180a'] },
    });
  });

  it('decodes the protocols.md §6.1 full-AD vector (31 bytes) received as raw advertising data', async () => {
    const vector = h('02 01 06 10 09 42 54 48 6F 6D 65 20 74 65 6D 70 6C 61 74 65 0A 16 D2 FC 40 02 29 09 03 BF 13');
    expect(vector.length).toBe(31);
    // The simulator's builder produces exactly these bytes for the bthome_sensor_template sample.
    expect(bthomeAdvertising('BTHome template', h('40 02 29 09 03 BF 13'))).toEqual(vector);
    world.add(new SimPeripheral({ address: 'a4:c1:38:00:00:31', connectable: false, advertising: vector }));
    gw = await startBleGateway([{ id: 'template', transport: 'ble', match: { name: 'BTHome template' } }]);
    const client = await gw.connect();
    const state = gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/template',
      (m) => m.humidity === 50.55,
    );
    world.advertiseAll();
    expect(await state).toMatchObject({ temperature: 23.45, humidity: 50.55 });
  });

  it('onboards an unknown advertiser from its suggested config without a restart (device/add)', async () => {
    world.add(bthomeSensor('a4:c1:38:00:00:77', h('02 29 09'), 'newcomer'));
    gw = await startBleGateway([]);
    const client = await gw.connect();
    await gw.request(client, 'permit_join', { value: true });
    const seen = gw.waitForMessage<{ type: string; data: { suggested_config: Record<string, unknown> } }>(
      client,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown',
    );
    world.startAdvertising();
    const suggested = (await seen).data.suggested_config;
    const added = await gw.request(client, 'device/add', { id: 'newcomer', ...suggested });
    expect(added).toMatchObject({ status: 'ok' });
    const state = await gw.waitForMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/newcomer',
      (m) => m.temperature === 23.45,
    );
    expect(state).toMatchObject({ temperature: 23.45 });
  });
});
