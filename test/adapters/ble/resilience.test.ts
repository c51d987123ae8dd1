import { EventEmitter } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../gateway/logger.js';
import { captureLogger } from '../../broker/helpers.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { ad } from '../../sim/ble/ad.js';
import {
  bthomeEncrypt,
  bthomeSensor,
  NUS_TX,
  peripheralEsp,
  peripheralHr,
  peripheralNus,
} from '../../sim/ble/peripherals.js';
import { SimPeripheral } from '../../sim/ble/sim-peripheral.js';
import { collectAvailability, nextEvent, startBleGateway, waitForAvailability, world } from './helpers.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
type State = Record<string, unknown>;
type BleStatus = { state: string; reason?: string; details?: Record<string, unknown> };

async function bleStatus(gw: TestGateway): Promise<BleStatus> {
  const res = await fetch(`${gw.httpUrl}/readyz`);
  const body = (await res.json()) as { adapters: Record<string, BleStatus> };
  return body.adapters.ble!;
}

/** Polls the adapter status (an HTTP round trip per try) until `accept` holds; bounded in count and time. */
async function statusUntil(gw: TestGateway, accept: (s: BleStatus) => boolean, timeoutMs = 5000): Promise<BleStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: BleStatus | undefined;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    last = await bleStatus(gw);
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`ble status never matched; last: ${JSON.stringify(last)}`);
}

/** An advert-only marker device advertises and its state (with this temperature) arrives: whatever the gateway
 * published before it has arrived by then. */
async function markerHeard(gw: TestGateway, client: MqttClient, marker: SimPeripheral, temperature: number) {
  const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/marker', (m) => m.temperature === temperature);
  world.advertise(marker);
  await state;
}

function connection(s: BleStatus, id: string): Record<string, unknown> | undefined {
  const c = s.details?.connections as { devices: Record<string, Record<string, unknown>> } | undefined;
  return c?.devices[id];
}

describe('ble adapter: link loss, limits, timeouts, identity and no Bluetooth', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    world.reset();
    vi.restoreAllMocks();
  });

  it('reconnects after link loss with back-off and resubscribes', async () => {
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway([{ id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true }]);
    const client = await gw.connect();
    const first = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.battery === 100);
    world.startAdvertising();
    await first;
    const offline = waitForAvailability(gw, client, 'esp', 'offline');
    esp.loseLink();
    await offline;
    expect(connection(await bleStatus(gw), 'esp')).toMatchObject({ state: 'idle' });
    const resubscribed = nextEvent(esp, 'write', () => esp.cccOf('2a6e', 0) === 1);
    const online = waitForAvailability(gw, client, 'esp', 'online');
    esp.inRange = true;
    await online;
    await resubscribed;
    const t = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.temperature_sensor_1 === 23.45);
    esp.update('2a6e', h('29 09'), 0);
    await t;
  });

  it('a device that drops every link right after set-up is reconnected with a growing delay, not in a loop', async () => {
    const hr = world.add(peripheralHr());
    gw = await startBleGateway(
      [{ id: 'hr', transport: 'ble', match: { name: 'Zephyr Heartrate Sensor' }, connect: true }],
      { reconnect_min_ms: 20, reconnect_max_ms: 5000 },
    );
    const client = await gw.connect();
    // Each link ends as soon as the device is online (a peer that closes links it does not like, a flaky radio).
    const onlineAt: number[] = [];
    const seventh = new Promise<void>((resolve) => {
      client.on('message', (topic, payload) => {
        if (topic !== 'zephyr2mqtt/hr/availability' || !payload.toString().includes('"online"')) return;
        onlineAt.push(performance.now());
        if (onlineAt.length === 7) resolve();
        else for (const b of world.bindings) b.dropLink(hr);
      });
    });
    await client.subscribeAsync('zephyr2mqtt/hr/availability');
    world.startAdvertising();
    await seventh;
    // Six links that lasted no time: the delay doubled each time (20 ms × 2⁵ before the seventh), where it used to
    // start again at reconnect_min_ms after every successful connection (a reconnect loop at the advert rate).
    expect(onlineAt[6]! - onlineAt[5]!).toBeGreaterThanOrEqual(600);
  });

  it('a connected device goes offline when an adapter restart closes its link and it does not come back', async () => {
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway(
      [{ id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true, availability_timeout: 1 }],
      { max_advertisers: 100 },
    );
    const client = await gw.connect();
    const online = waitForAvailability(gw, client, 'esp', 'online');
    world.startAdvertising();
    await online;
    esp.inRange = false; // it will not advertise again
    // An adapter key changed: the reload restarts the adapter, which closes every link.
    const text = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, text.replace('max_advertisers: 100', 'max_advertisers: 101'));
    const offline = waitForAvailability(gw, client, 'esp', 'offline');
    expect(await gw.request(client, 'config/reload', {})).toMatchObject({ status: 'ok' });
    // It stayed online, vouched for by a link that no longer existed (for a year: past its availability_timeout).
    await offline;
    expect(esp.connected).toBe(false);
  });

  it('keeps at most max_connections links; a waiting device connects when a slot frees', async () => {
    const hr = world.add(peripheralHr());
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway(
      [
        { id: 'hr', transport: 'ble', match: { name: 'Zephyr Heartrate Sensor' }, connect: true },
        { id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true },
      ],
      { max_connections: 1 },
    );
    world.startAdvertising();
    const one = await statusUntil(gw, (s) => {
      const c = s.details?.connections as {
        active: number;
        devices: Record<string, { state: string; waiting_for_slot: boolean }>;
      };
      return (
        c.active === 1 &&
        Object.values(c.devices).some((d) => d.state === 'connected') &&
        Object.values(c.devices).some((d) => d.waiting_for_slot)
      );
    });
    const connectedId = connection(one, 'hr')?.state === 'connected' ? 'hr' : 'esp';
    const waitingId = connectedId === 'hr' ? 'esp' : 'hr';
    const [connected, waiting] = connectedId === 'hr' ? [hr, esp] : [esp, hr];
    // Many adverts later the waiting device still has not been tried.
    for (let i = 0; i < 20; i++) world.advertiseAll();
    expect(world.connectAttempts.get(waiting.id) ?? 0).toBe(0);
    connected.loseLink();
    const after = await statusUntil(gw, (s) => connection(s, waitingId)?.state === 'connected');
    expect(after.details?.connections).toMatchObject({ active: 1 });
  });

  it('a /set whose write is never answered fails and drops the link, which is then set up again', async () => {
    const svc = 'aaaaaaaabbbbccccddddeeeeeeeeeeef';
    world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:09',
        advertising: Buffer.concat([ad.flags(), ad.name('mute')]),
        services: [
          {
            uuid: svc,
            characteristics: [{ uuid: '2b01', properties: ['read', 'write'], value: h('00'), onWrite: () => false }],
          },
        ],
      }),
    );
    gw = await startBleGateway(
      [
        {
          id: 'mute',
          transport: 'ble',
          match: { name: 'mute' },
          connect: true,
          characteristics: [{ characteristic: '2b01', property: 'level', writable: true }],
        },
      ],
      { gatt_timeout_ms: 100 },
    );
    const client = await gw.connect();
    const online = gw.waitForMessage(
      client,
      'zephyr2mqtt/mute/availability',
      (a) => (a as { state: string }).state === 'online',
    );
    world.startAdvertising();
    await online;
    const failed = await gw.expectMessage<{ error: string }>(client, 'zephyr2mqtt/mute/set/error');
    await client.publishAsync('zephyr2mqtt/mute/set', JSON.stringify({ level: 3 }));
    expect((await failed.message).error).toMatch(/write of level timed out/);
    // ATT allows one outstanding request: the link is dropped and connected anew.
    await statusUntil(gw, () => (world.connectAttempts.get('c00000000009') ?? 0) >= 2);
  });

  it('a GATT read that is never answered times out; the gateway keeps running and retries', async () => {
    const svc = 'aaaaaaaabbbbccccddddeeeeeeeeeeee';
    world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:08',
        advertising: Buffer.concat([ad.flags(), ad.name('stubborn')]),
        services: [
          { uuid: svc, characteristics: [{ uuid: '2b00', properties: ['read'], value: h('01'), silent: true }] },
        ],
      }),
    );
    gw = await startBleGateway(
      [
        {
          id: 'stubborn',
          transport: 'ble',
          match: { name: 'stubborn' },
          connect: true,
          characteristics: [{ characteristic: '2b00', property: 'x' }],
        },
      ],
      { gatt_timeout_ms: 100 },
    );
    world.startAdvertising();
    // The device keeps being retried; on a loaded machine an earlier step may time out first, so wait for the read.
    const s = await statusUntil(
      gw,
      (st) => connection(st, 'stubborn')?.last_error === 'read of x timed out after 100 ms',
      10_000,
    );
    expect(s.state).toBe('running');
    await statusUntil(gw, () => (world.connectAttempts.get('c00000000008') ?? 0) >= 2);
    const client = await gw.connect();
    const st = await gw.waitForMessage<{ state: string }>(client, 'zephyr2mqtt/bridge/state');
    expect(st.state).toBe('online');
  });

  it('a device that never answers a connection request hits the connect timeout', async () => {
    const hr = world.add(peripheralHr());
    hr.acceptConnections = false;
    gw = await startBleGateway(
      [{ id: 'hr', transport: 'ble', match: { name: 'Zephyr Heartrate Sensor' }, connect: true }],
      {
        connect_timeout_ms: 100,
      },
    );
    world.startAdvertising();
    const s = await statusUntil(gw, (st) => connection(st, 'hr')?.last_error !== undefined);
    expect(connection(s, 'hr')).toMatchObject({ state: 'idle', last_error: 'connect timed out after 100 ms' });
  });

  it('a device kept over GATT is not online from its adverts while no link is up (connection refused)', async () => {
    const hr = world.add(peripheralHr());
    hr.acceptConnections = false;
    const marker = world.add(bthomeSensor('a4:c1:38:00:00:61', h('02 29 09'), 'marker'));
    gw = await startBleGateway(
      [
        { id: 'hr', transport: 'ble', match: { name: 'Zephyr Heartrate Sensor' }, connect: true },
        { id: 'marker', transport: 'ble', match: { address: 'a4:c1:38:00:00:61' } },
      ],
      { connect_timeout_ms: 100 },
    );
    const client = await gw.connect();
    const seen = await collectAvailability(client, 'hr');
    // The same advert again and again (what a scan with duplicates reports) while every connection attempt fails.
    for (let i = 0; i < 5; i++) world.advertise(hr);
    await statusUntil(gw, (st) => connection(st, 'hr')?.last_error === 'connect timed out after 100 ms');
    for (let i = 0; i < 5; i++) world.advertise(hr);
    await markerHeard(gw, client, marker, 23.45);
    expect(seen).not.toContain('online');
  });

  it('a device kept over GATT publishes the values its adverts carry, without going online while no link is up', async () => {
    const both = world.add(bthomeSensor('a4:c1:38:00:00:62', h('02 29 09'), 'both'));
    both.acceptConnections = false;
    const marker = world.add(bthomeSensor('a4:c1:38:00:00:61', h('02 2a 09'), 'marker'));
    gw = await startBleGateway(
      [
        { id: 'both', transport: 'ble', match: { address: 'a4:c1:38:00:00:62' }, connect: true },
        { id: 'marker', transport: 'ble', match: { address: 'a4:c1:38:00:00:61' } },
      ],
      { connect_timeout_ms: 100 },
    );
    const client = await gw.connect();
    const seen = await collectAvailability(client, 'both');
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/both', (m) => m.temperature === 23.45);
    world.advertise(both);
    await state;
    await markerHeard(gw, client, marker, 23.46);
    expect(seen).not.toContain('online');
  });

  it('a device entry changed while its connection is still pending connects with the new entry', async () => {
    const svc = '12345678123456781234567812345670';
    const chr = '12345678123456781234567812345671';
    const dev = world.add(
      new SimPeripheral({
        address: 'c0:00:00:00:00:0b',
        advertising: Buffer.concat([ad.flags(), ad.name('late')]),
        services: [{ uuid: svc, characteristics: [{ uuid: chr, properties: ['read'], value: h('0A 00') }] }],
      }),
    );
    dev.acceptConnections = false; // the controller keeps the connection request pending
    gw = await startBleGateway(
      [
        {
          id: 'late',
          transport: 'ble',
          match: { name: 'late' },
          connect: true,
          characteristics: [{ characteristic: chr, property: 'level', codec: 'uint16le' }],
        },
      ],
      { connect_timeout_ms: 10_000 },
    );
    const client = await gw.connect();
    world.advertise(dev);
    await statusUntil(gw, (st) => connection(st, 'late')?.state === 'connecting');
    const text = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, text.replace('property: level', 'property: volume'));
    expect(await gw.request(client, 'config/reload', {})).toMatchObject({ status: 'ok' });
    // The old request was cancelled: once the device takes connections, it is set up with the new mapping (it
    // used to complete the old request and keep the old mapping for as long as that link lasted).
    const renamed = gw.waitForMessage<State>(client, 'zephyr2mqtt/late', (m) => m.volume === 10);
    dev.acceptConnections = true;
    world.startAdvertising();
    await renamed;
  });

  it('identifies a device by its Device Information serial number, skipping others', async () => {
    world.add(peripheralEsp());
    const hr = world.add(peripheralHr());
    gw = await startBleGateway([{ id: 'belt', transport: 'ble', match: { serial_number: 'HR-0001' }, connect: true }]);
    const client = await gw.connect();
    const subscribed = nextEvent(hr, 'write', () => hr.cccOf('2a37') === 1);
    world.startAdvertising();
    await subscribed;
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/belt', (m) => m.heart_rate === 91);
    hr.update('2a37', h('06 5B'));
    expect(await state).toMatchObject({ heart_rate: 91, body_sensor_location: 'chest' });
    const s = await bleStatus(gw);
    expect(connection(s, 'belt')).toMatchObject({ state: 'connected' });
  });

  it('connects two devices matched only by serial number, each probed once, to their own peripherals', async () => {
    const hr = world.add(peripheralHr());
    const esp = world.add(peripheralEsp());
    gw = await startBleGateway([
      { id: 'belt', transport: 'ble', match: { serial_number: 'HR-0001' }, connect: true },
      { id: 'env', transport: 'ble', match: { serial_number: 'ESP-0001' }, connect: true },
    ]);
    const client = await gw.connect();
    const subscribed = nextEvent(hr, 'write', () => hr.cccOf('2a37') === 1);
    const env = gw.waitForMessage<State>(client, 'zephyr2mqtt/env', (m) => m.temperature_sensor_2 === 18);
    world.startAdvertising();
    await subscribed;
    expect(await env).toMatchObject({ temperature_sensor_1: 12, humidity: 62.33 });
    const belt = gw.waitForMessage<State>(client, 'zephyr2mqtt/belt', (m) => m.heart_rate === 91);
    hr.update('2a37', h('06 5B'));
    await belt;
    const s = await bleStatus(gw);
    expect(connection(s, 'belt')).toMatchObject({ state: 'connected' });
    expect(connection(s, 'env')).toMatchObject({ state: 'connected' });
    // One connection read the serial number, the next one is the device's: no address was probed again.
    for (let i = 0; i < 10; i++) world.advertiseAll();
    expect([world.connectAttempts.get(hr.id), world.connectAttempts.get(esp.id)]).toEqual([2, 2]);
  });

  it('binding: hci on a kernel without Bluetooth reports unavailable (EAFNOSUPPORT) and keeps retrying', async () => {
    const log = captureLogger();
    gw = await startTestGatewayWithHci(log.logger);
    const retries = () => log.lines.filter((l) => l.msg === 'ble: will retry opening Bluetooth').length;
    const s = await statusUntil(gw, (st) => st.state === 'unavailable');
    expect(s.reason).toMatch(/^EAFNOSUPPORT: /);
    const client = await gw.connect();
    expect(await gw.waitForMessage<{ state: string }>(client, 'zephyr2mqtt/bridge/state')).toEqual({ state: 'online' });
    const info = await gw.waitForMessage<{ adapters: Record<string, BleStatus> }>(client, 'zephyr2mqtt/bridge/info');
    expect(info.adapters.ble).toMatchObject({ state: 'unavailable' });
    // Still unavailable after several more retries, and the process is still serving.
    const before = retries();
    await vi.waitFor(
      () => expect(retries(), 'three more retries to open Bluetooth').toBeGreaterThanOrEqual(before + 3),
      {
        timeout: 5000,
        interval: 20,
      },
    );
    expect((await bleStatus(gw)).state).toBe('unavailable');
  });

  it('a controller that is powered off is unavailable until it powers on', async () => {
    world.initialState = 'poweredOff';
    world.add(bthomeSensor('a4:c1:38:00:00:01', h('02 29 09')));
    gw = await startBleGateway([{ id: 'b', transport: 'ble', match: { name: 'BTHome template' } }]);
    const off = await statusUntil(gw, (st) => st.state === 'unavailable');
    expect(off.reason).toBe('the Bluetooth controller is powered off');
    for (const b of world.bindings) b.setState('poweredOn');
    await statusUntil(gw, (st) => st.state === 'running');
    const client = await gw.connect();
    const state = gw.waitForMessage<State>(client, 'zephyr2mqtt/b', (m) => m.temperature === 23.45);
    world.advertiseAll();
    await state;
  });

  it('a controller powered off while connected reports its devices offline and reconnects them once back on', async () => {
    const esp = world.add(peripheralEsp());
    // noble's Peripheral objects, seen where a 'disconnect' listener goes on them.
    const peripherals = new Set<EventEmitter>();
    const once = EventEmitter.prototype.once;
    vi.spyOn(EventEmitter.prototype, 'once').mockImplementation(function (this: EventEmitter, event, listener) {
      if (event === 'disconnect') peripherals.add(this);
      return once.call(this, event, listener);
    });
    const disconnectListeners = () => [...peripherals].reduce((n, p) => n + p.listenerCount('disconnect'), 0);
    gw = await startBleGateway([{ id: 'esp', transport: 'ble', match: { name: 'ESP peripheral' }, connect: true }]);
    const client = await gw.connect();
    const online = waitForAvailability(gw, client, 'esp', 'online');
    world.startAdvertising();
    await online;
    const listenersWhileConnected = disconnectListeners();
    // rfkill, a USB dongle pulled: the links are gone and noble says no 'disconnect' for them.
    const offline = waitForAvailability(gw, client, 'esp', 'offline');
    for (const b of world.bindings) b.setState('poweredOff');
    await offline;
    expect(connection(await bleStatus(gw), 'esp')).toMatchObject({ state: 'idle' });
    // They used to stay 'connected' (and online) for good: never connected again once the controller was back.
    const back = gw.waitForMessage<State>(client, 'zephyr2mqtt/esp', (m) => m.temperature_sensor_1 === 23.45);
    for (const b of world.bindings) b.setState('poweredOn');
    await statusUntil(gw, (st) => connection(st, 'esp')?.state === 'connected');
    esp.update('2a6e', h('29 09'), 0);
    await back;
    // The lost link's listener (and the session it holds) did not stay on the peripheral beside the new one's.
    expect(disconnectListeners()).toBe(listenersWhileConnected);
  });

  it('a binding path that cannot be loaded is reported, not fatal', async () => {
    gw = await startBleGateway([], { binding: '/nonexistent/binding.js', unavailable_retry_min_ms: 50 });
    const s = await statusUntil(gw, (st) => st.state === 'unavailable');
    expect(s.reason).toContain('cannot load binding module /nonexistent/binding.js');
  });

  it('fuzzed adverts and NUS bytes from configured devices are counted as decode errors, never crash', async () => {
    const sensor = world.add(bthomeSensor('a4:c1:38:00:00:02', h('02 29 09'), 'fuzz'));
    const nus = world.add(peripheralNus());
    gw = await startBleGateway([
      {
        id: 'fuzz',
        transport: 'ble',
        match: { address: 'a4:c1:38:00:00:02' },
        bind_key: '00112233445566778899aabbccddeeff',
      },
      { id: 'nus', transport: 'ble', match: { name: 'Zephyr NUS' }, connect: true },
    ]);
    const subscribed = nextEvent(nus, 'write', () => nus.cccOf(NUS_TX) === 1);
    world.advertise(nus);
    await subscribed;
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rnd() * 30);
      const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      sensor.advertising = Buffer.concat([ad.flags(), ad.name('fuzz'), ad.serviceData16(0xfcd2, bytes)]);
      world.advertise(sensor);
      nus.send(NUS_TX, bytes);
    }
    nus.send(NUS_TX, Buffer.from('\n'));
    // Afterwards both devices still work.
    const client = await gw.connect();
    const good = gw.waitForMessage<State>(client, 'zephyr2mqtt/fuzz', (m) => m.temperature === 23.45);
    sensor.advertising = Buffer.concat([
      ad.flags(),
      ad.name('fuzz'),
      ad.serviceData16(
        0xfcd2,
        bthomeEncrypt(h('02 29 09'), '00112233445566778899aabbccddeeff', 'a4:c1:38:00:00:02', 1),
      ),
    ]);
    world.advertise(sensor);
    await good;
    const line = gw.waitForMessage<State>(client, 'zephyr2mqtt/nus', (m) => m.ok === true);
    nus.send(NUS_TX, Buffer.from('{"ok":true}\n'));
    await line;
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    const errors = [...metrics.matchAll(/^\S*decode_errors\S*\{[^}]*adapter="ble"[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(errors).toBeGreaterThan(50);
    // A few fixed reasons, whatever the bytes said (each text as a label made a new series per advert).
    const series = [...metrics.matchAll(/^\S*decode_errors_total\{[^}]*adapter="ble"[^}]*reason="([^"]*)"/gm)].map(
      (m) => m[1],
    );
    expect(series.length).toBeLessThanOrEqual(6);
    for (const reason of series)
      expect(['bthome', 'manufacturer_data', 'gatt_value', 'nus_line', 'other']).toContain(reason);
  });
});

function startTestGatewayWithHci(logger?: Logger): Promise<TestGateway> {
  return startBleGateway(
    [],
    { binding: 'hci', unavailable_retry_min_ms: 50, unavailable_retry_max_ms: 100 },
    { logger },
  );
}
