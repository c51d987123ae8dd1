import { afterEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { ad } from '../../sim/ble/ad.js';
import { bthomeAdvertising, bthomeEncrypt, bthomeSensor, peripheralHr } from '../../sim/ble/peripherals.js';
import { SimPeripheral } from '../../sim/ble/sim-peripheral.js';
import { availabilityCheckPastTimeout, collectAvailability, startBleGateway, world } from './helpers.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
type State = Record<string, unknown>;

/** Every state message of `id` published from now on, in order (not the retained copies a subscribe replays). */
async function collectStates(client: Awaited<ReturnType<TestGateway['connect']>>, id: string) {
  const states: State[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topic === `zephyr2mqtt/${id}` && !packet.retain) states.push(JSON.parse(payload.toString()) as State);
  });
  await client.subscribeAsync(`zephyr2mqtt/${id}`);
  return states;
}

async function bleDecodeErrors(gw: TestGateway): Promise<number> {
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  return [...metrics.matchAll(/^\S*decode_errors\S*\{[^}]*adapter="ble"[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

/** An encrypted BTHome sensor at `address` whose key was issued for `mac` (the address, by default). */
function encryptedSensor(address: string, key: string, objects: Buffer, counter: number, mac = address, name = 'enc') {
  return world.add(
    new SimPeripheral({
      address,
      connectable: false,
      addressType: 'public',
      advertising: bthomeAdvertising(name, bthomeEncrypt(objects, key, mac, counter)),
    }),
  );
}

const KEY = '231d39c1d7cc1ab1aee224cd096db932';

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

  it('does not announce a device disabled in the config as unknown', async () => {
    const off = world.add(bthomeSensor('a4:c1:38:00:00:10', h('02 29 09'), 'resting'));
    const stranger = world.add(bthomeSensor('a4:c1:38:00:00:11', h('02 29 09'), 'stranger'));
    gw = await startBleGateway([
      { id: 'resting', transport: 'ble', match: { address: 'A4-C1-38-00-00-10' }, disabled: true },
    ]);
    const client = await gw.connect();
    const events: Array<{ type: string; data: { address?: string } }> = [];
    await client.subscribeAsync('zephyr2mqtt/bridge/event');
    client.on('message', (topic, buf) => {
      if (topic === 'zephyr2mqtt/bridge/event') events.push(JSON.parse(buf.toString()));
    });
    await gw.request(client, 'permit_join', { value: true });
    const seen = gw.waitForMessage<{ type: string; data: { address: string } }>(
      client,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown' && m.data.address === 'A4:C1:38:00:00:11',
    );
    world.advertise(off);
    world.advertise(stranger);
    await seen;
    await gw.request(client, 'health_check');
    expect(events.filter((e) => e.type === 'device_seen_unknown').map((e) => e.data.address)).toEqual([
      'A4:C1:38:00:00:11',
    ]);
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

  it("keeps a configured device's replay protection however many unknown advertisers pass by", async () => {
    const address = '54:48:e6:8f:80:b1';
    const frame = (objects: string, counter: number) =>
      bthomeAdvertising('enc', bthomeEncrypt(h(objects), KEY, address, counter));
    const sensor = encryptedSensor(address, KEY, h('02 E8 03'), 500);
    gw = await startBleGateway([{ id: 'enc', transport: 'ble', match: { address }, bind_key: KEY }], {
      max_advertisers: 5,
    });
    const client = await gw.connect();
    const states = await collectStates(client, 'enc');
    const recorded = sensor.advertising;
    const first = gw.waitForMessage<State>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 10);
    world.advertise(sensor);
    await first;
    const second = gw.waitForMessage<State>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 20);
    sensor.advertising = frame('02 D0 07', 600);
    world.advertise(sensor);
    await second;
    // Passers-by fill the bounded cache of unknown advertisers four times over.
    for (let i = 0; i < 20; i++)
      world.advertise(
        world.add(bthomeSensor(`aa:bb:cc:00:00:${i.toString(16).padStart(2, '0')}`, h('02 29 09'), `p${i}`)),
      );
    sensor.advertising = recorded;
    world.advertise(sensor);
    const last = gw.waitForMessage<State>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 30);
    sensor.advertising = frame('02 B8 0B', 700);
    world.advertise(sensor);
    await last;
    expect(states.map((m) => m.temperature)).toEqual([10, 20, 30]);
  });

  it('keeps a trigger-based BTHome device (a door contact) online long past its availability_timeout', async () => {
    const door = world.add(bthomeSensor('a4:c1:38:00:00:44', h('00 01 1A 01'), 'door'));
    door.advertising = bthomeAdvertising('door', h('44 00 01 1A 01')); // device info bit 2: trigger-based
    // A plain sensor with the same timeout, heard once after the door: it goes offline in the first availability check
    // past that timeout, and the door (listed first, checked first) has been judged in that check too.
    const control = world.add(bthomeSensor('a4:c1:38:00:00:45', h('02 29 09'), 'control'));
    gw = await startBleGateway([
      { id: 'door', transport: 'ble', match: { address: 'a4:c1:38:00:00:44' }, availability_timeout: 1 },
      { id: 'control', transport: 'ble', match: { address: 'a4:c1:38:00:00:45' }, availability_timeout: 1 },
    ]);
    const client = await gw.connect();
    const seen = await collectAvailability(client, 'door');
    const online = await gw.expectMessage(
      client,
      'zephyr2mqtt/door/availability',
      (a) => (a as { state: string }).state === 'online',
    );
    world.advertise(door); // opened once; then it sleeps until the next event
    await online.message;
    const mark = seen.lastIndexOf('online');
    await availabilityCheckPastTimeout(gw, client, control);
    expect(gw.gateway.devices.get('door')?.online).toBe(true);
    expect(seen.slice(mark)).toEqual(['online']);
  });

  it('refreshes nothing from a frame it refuses (wrong key, plain frame for a keyed device): no state, no rssi', async () => {
    const address = '54:48:e6:8f:80:b2';
    const sensor = encryptedSensor(address, KEY, h('02 34 08'), 1);
    gw = await startBleGateway([{ id: 'enc', transport: 'ble', match: { address }, bind_key: KEY }]);
    const client = await gw.connect();
    const states = await collectStates(client, 'enc');
    const first = gw.waitForMessage<State>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 21);
    world.advertise(sensor);
    await first;
    const errorsBefore = await bleDecodeErrors(gw);
    sensor.rssi = -90;
    for (let i = 2; i < 5; i++) {
      sensor.advertising = bthomeAdvertising('enc', bthomeEncrypt(h('02 CA 09'), 'ff'.repeat(16), address, i));
      world.advertise(sensor);
    }
    sensor.advertising = bthomeAdvertising('enc', h('40 02 CA 09'));
    world.advertise(sensor);
    const next = gw.waitForMessage<State>(client, 'zephyr2mqtt/enc', (m) => m.temperature === 22);
    sensor.advertising = bthomeAdvertising('enc', bthomeEncrypt(h('02 98 08'), KEY, address, 5));
    world.advertise(sensor);
    await next;
    // The first state, then the next good frame: none in between for the refused ones (each carried an RSSI).
    expect(states.map((m) => m.temperature)).toEqual([21, 22]);
    expect(await bleDecodeErrors(gw)).toBe(errorsBefore + 4);
  });

  it("publishes identical adverts without a packet id once (Zephyr's bthome template sends none)", async () => {
    const sensor = world.add(bthomeSensor('a4:c1:38:00:00:08', h('02 29 09 03 BF 13')));
    gw = await startBleGateway([{ id: 'tmpl', transport: 'ble', match: { address: 'a4:c1:38:00:00:08' } }]);
    const client = await gw.connect();
    const states = await collectStates(client, 'tmpl');
    for (let i = 0; i < 20; i++) world.advertise(sensor);
    const next = gw.waitForMessage<State>(client, 'zephyr2mqtt/tmpl', (m) => m.temperature === 21);
    sensor.advertising = bthomeAdvertising('BTHome template', h('40 02 34 08 03 BF 13'));
    world.advertise(sensor);
    await next;
    expect(states.map((m) => m.temperature)).toEqual([23.45, 21]);
  });

  it("decrypts with bthome_mac from another (random) address: the key's MAC is not a matcher beside a name", async () => {
    const mac = '54:48:e6:8f:80:a5';
    const sensor = encryptedSensor('5a:11:22:33:44:55', KEY, h('02 D0 07'), 5, mac, 'shed');
    gw = await startBleGateway([
      { id: 'shed', transport: 'ble', match: { name: 'shed', bthome_mac: mac.toUpperCase() }, bind_key: KEY },
    ]);
    const client = await gw.connect();
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/shed', (m) => m.temperature === 20);
    world.advertise(sensor);
    expect(await state).toMatchObject({ temperature: 20 });
  });

  it('keeps BTHome binary objects apart from numeric ones and drops an undefined button code (counted)', async () => {
    // 0x0B power 100 W, 0x10 power on, 0x3A button code 0x07 (undefined).
    const plug = world.add(bthomeSensor('a4:c1:38:00:00:10', h('00 01 0B 10 27 00 10 01 3A 07'), 'plug'));
    gw = await startBleGateway([{ id: 'plug', transport: 'ble', match: { address: 'a4:c1:38:00:00:10' } }]);
    const client = await gw.connect();
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/plug', (m) => m.power === 100);
    world.advertise(plug);
    const values = await state;
    expect(values).toMatchObject({ power: 100, power_on: true });
    expect(values).not.toHaveProperty('power_2');
    expect(values).not.toHaveProperty('button');
    expect(await bleDecodeErrors(gw)).toBe(1);
  });
});
