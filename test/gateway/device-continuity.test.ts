// What a device's topics carry across a gateway restart (clean or after a crash), a rename and a removal.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { gateStarts } from '../helpers/start-gates.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { freePort } from '../upstream/mosquitto.js';

type DeviceEntry = { id: string; last_seen: string | null; availability: string };

describe('device continuity', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-continuity-'));
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(devices: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { gateway: { data_dir: dataDir }, devices, ...extra },
      { adapterModules: [adapter.module] },
    );
    return { gw, adapter, client: await gw.connect() };
  }

  const entry = (g: TestGateway, client: MqttClient, id: string) =>
    g
      .waitForMessage<DeviceEntry[]>(client, 'zephyr2mqtt/bridge/devices', (list) => list.some((d) => d.id === id))
      .then((list) => list.find((d) => d.id === id) as DeviceEntry);

  it('after a restart a report merges into the state from before, and last_seen and availability come back', async () => {
    const first = await start([{ id: 'hall', transport: 'test' }]);
    const before = await first.gw.expectMessage<Record<string, unknown>>(first.client, 'zephyr2mqtt/hall');
    first.adapter.current().ctx.telemetry('hall', { v: 2 });
    const lastSeen = (await before.message).last_seen;
    await first.gw.stop();

    const second = await start([{ id: 'hall', transport: 'test' }]);
    // Heard from moments ago: online straight away, with the same last_seen, before the device says anything.
    expect(await second.gw.waitForMessage(second.client, 'zephyr2mqtt/hall/availability')).toEqual({
      state: 'online',
    });
    expect(await entry(second.gw, second.client, 'hall')).toMatchObject({
      last_seen: lastSeen,
      availability: 'online',
    });
    const merged = await second.gw.expectMessage<Record<string, unknown>>(
      second.client,
      'zephyr2mqtt/hall',
      (s) => 'w' in s,
    );
    second.adapter.current().ctx.telemetry('hall', { w: 1 });
    expect(await merged.message).toMatchObject({ v: 2, w: 1 });
  });

  it('retain: false set while the gateway was stopped: the state retained before is cleared at start-up', async () => {
    const first = await start([{ id: 'hall', transport: 'test' }], { api: { property_topics: true } });
    const before = await first.gw.expectMessage(first.client, 'zephyr2mqtt/hall/v');
    first.adapter.current().ctx.telemetry('hall', { v: 2 });
    await before.message;
    await first.gw.stop();

    const second = await start([{ id: 'hall', transport: 'test', retain: false }], { api: { property_topics: true } });
    expect(second.gw.gateway.broker.retained('zephyr2mqtt/hall')).toBeUndefined();
    expect(second.gw.gateway.broker.retained('zephyr2mqtt/hall/v')).toBeUndefined();
    // And the state starts empty, as documented: the next report is not merged into the cleared one.
    expect(second.gw.gateway.devices.get('hall')?.state).toEqual({});
    const next = await second.gw.expectMessage<Record<string, unknown>>(second.client, 'zephyr2mqtt/hall');
    second.adapter.current().ctx.telemetry('hall', { w: 1 });
    expect(await next.message).not.toHaveProperty('v');
  });

  it('api.last_seen: epoch (read back after a restart), ISO_8601_local, disable', async () => {
    const epoch = await start([{ id: 'hall', transport: 'test' }], { api: { last_seen: 'epoch' } });
    const before = await epoch.gw.expectMessage<Record<string, unknown>>(epoch.client, 'zephyr2mqtt/hall');
    const sentAt = Date.now();
    epoch.adapter.current().ctx.telemetry('hall', { v: 1 });
    const epochSeen = (await before.message).last_seen;
    expect(typeof epochSeen).toBe('number');
    expect(Math.abs((epochSeen as number) - sentAt)).toBeLessThan(2000);
    await epoch.gw.stop();

    const local = await start([{ id: 'hall', transport: 'test' }], { api: { last_seen: 'ISO_8601_local' } });
    // The epoch last_seen of the retained state counts as heard moments ago.
    expect(await entry(local.gw, local.client, 'hall')).toMatchObject({
      last_seen: new Date(epochSeen as number).toISOString(),
      availability: 'online',
    });
    const localState = await local.gw.expectMessage<Record<string, unknown>>(
      local.client,
      'zephyr2mqtt/hall',
      (m) => m.v === 2,
    );
    local.adapter.current().ctx.telemetry('hall', { v: 2 });
    const localSeen = String((await localState.message).last_seen);
    expect(localSeen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    expect(Math.abs(new Date(localSeen).getTime() - Date.now())).toBeLessThan(3000);
    await local.gw.stop();

    const off = await start([{ id: 'hall', transport: 'test' }], { api: { last_seen: 'disable' } });
    const offState = await off.gw.expectMessage<Record<string, unknown>>(
      off.client,
      'zephyr2mqtt/hall',
      (m) => m.v === 3,
    );
    off.adapter.current().ctx.telemetry('hall', { v: 3 });
    expect(await offState.message).toEqual({ v: 3 });
  });

  it('corrects the "online" a crashed run left retained, from the last_seen of the retained state', async () => {
    // What a crash leaves behind: retained state and availability nobody cleaned up.
    const crashed = await start([]);
    await crashed.client.publishAsync('zephyr2mqtt/hall/availability', '{"state":"online"}', { retain: true, qos: 1 });
    const stale = { t: 1, last_seen: '2026-01-01T00:00:00.000Z' };
    await crashed.client.publishAsync('zephyr2mqtt/hall', JSON.stringify(stale), { retain: true, qos: 1 });
    await crashed.gw.stop();

    const next = await start([{ id: 'hall', transport: 'test', availability_timeout: 60 }]);
    expect(await next.gw.waitForMessage(next.client, 'zephyr2mqtt/hall/availability')).toEqual({ state: 'offline' });
    expect(await entry(next.gw, next.client, 'hall')).toMatchObject({
      last_seen: stale.last_seen,
      availability: 'offline',
    });
    expect(await next.gw.waitForMessage(next.client, 'zephyr2mqtt/hall')).toEqual(stale);
  });

  it('a device its adapter vouches for as it starts does not flap offline after a crash', async () => {
    // A crashed run left the device "online", last heard long ago; an app kept a persistent session on its availability.
    const crashed = await start([]);
    await crashed.client.publishAsync('zephyr2mqtt/hall/availability', '{"state":"online"}', { retain: true, qos: 1 });
    const stale = { t: 1, last_seen: '2026-01-01T00:00:00.000Z' };
    await crashed.client.publishAsync('zephyr2mqtt/hall', JSON.stringify(stale), { retain: true, qos: 1 });
    const app = await crashed.gw.connect({ clientId: 'app', clean: false });
    await app.subscribeAsync('zephyr2mqtt/hall/availability', { qos: 1 });
    await app.endAsync();
    await crashed.gw.stop();

    // The adapter reports the device online as it starts (as the LwM2M server does for a registration it restores).
    const next = await start([{ id: 'hall', transport: 'test', availability_timeout: 60 }], {
      adapters: { test: { online_on_start: true } },
    });
    const back = mqtt.connect(next.gw.mqttUrl, { clientId: 'app', clean: false, reconnectPeriod: 0 });
    const queued: string[] = [];
    const online = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "online" queued (got ${queued.join(', ')})`)), 5000);
      back.on('message', (_topic, payload) => {
        queued.push(JSON.parse(payload.toString()).state);
        if (queued.at(-1) !== 'online') return;
        clearTimeout(timer);
        resolve();
      });
    });
    await online;
    await back.endAsync();
    expect(queued).toEqual(['online']);
  });

  it("publishes a quiet device's offline once its own adapter has started, not after the slowest adapter", async () => {
    const slow = gateStarts(createTestAdapterModule('slow').module);
    const held = slow.holdNext();
    const port = await freePort();
    const starting = startTestGateway(
      {
        gateway: { data_dir: dataDir },
        broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port }] },
        devices: [
          { id: 'hall', transport: 'test' },
          { id: 'yard', transport: 'slow' },
        ],
      },
      { adapterModules: [createTestAdapterModule().module, slow.module] },
    );
    await held.reached;
    // Clients are let in before the adapters start: the test adapter has started, the slow one is still starting.
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      const hall = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no hall/availability while the slow adapter starts')), 5000);
        client.on('message', (topic, payload) => {
          if (topic !== 'zephyr2mqtt/hall/availability') return;
          clearTimeout(timer);
          resolve(JSON.parse(payload.toString()));
        });
      });
      await client.subscribeAsync('zephyr2mqtt/hall/availability', { qos: 1 });
      expect(await hall).toEqual({ state: 'offline' });
      expect(slow.instances[0]?.startEnded).toBe(false);
    } finally {
      await client.endAsync();
      await held.release();
      gw = await starting;
    }
    const observer = await gw.connect();
    expect(await gw.waitForMessage(observer, 'zephyr2mqtt/yard/availability')).toEqual({ state: 'offline' });
  });

  it('a rename keeps offline availability and property topics, as one event; removal clears them', async () => {
    const { gw, adapter, client } = await start([{ id: 'door', transport: 'test' }], {
      api: { property_topics: true },
    });
    const reported = await gw.expectMessage(client, 'zephyr2mqtt/door/contact');
    adapter.current().ctx.telemetry('door', { contact: true });
    expect(await reported.message).toBe(true);
    const offline = await gw.expectMessage(client, 'zephyr2mqtt/door/availability', (a) => {
      return (a as { state: string }).state === 'offline';
    });
    adapter.current().ctx.availability('door', false);
    await offline.message;

    const events: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/bridge/event') events.push((JSON.parse(payload.toString()) as { type: string }).type);
    });
    await client.subscribeAsync('zephyr2mqtt/bridge/event');
    expect(await gw.request(client, 'device/rename', { from: 'door', to: 'front-door' })).toMatchObject({
      status: 'ok',
    });
    const late = await gw.connect();
    expect(await gw.waitForMessage(late, 'zephyr2mqtt/front-door/availability')).toEqual({ state: 'offline' });
    expect(await gw.waitForMessage(late, 'zephyr2mqtt/front-door/contact')).toBe(true);

    expect(await gw.request(client, 'device/remove', { id: 'front-door' })).toMatchObject({ status: 'ok' });
    // A rename is one event, not a device leaving and another joining (events go out before the response).
    expect(events.filter((e) => e.startsWith('device_'))).toEqual(['device_renamed', 'device_left']);
    // Nothing of the old ids stays retained: a new subscriber to both gets nothing before the
    // retained marker it subscribes to next.
    const after = await gw.connect();
    const retained: string[] = [];
    after.on('message', (topic, payload) => {
      if (payload.length > 0 && topic !== 'marker') retained.push(topic);
    });
    await after.subscribeAsync(['zephyr2mqtt/door/#', 'zephyr2mqtt/front-door/#']);
    await after.publishAsync('marker', 'x', { qos: 1, retain: true });
    await gw.waitForMessage(after, 'marker'); // retained messages arrive in subscribe order
    expect(retained).toEqual([]);
  });

  it('refuses the id "bridge", which would take over the gateway\'s own topics', async () => {
    const { gw, client } = await start([]);
    const res = await gw.request(client, 'device/add', { id: 'bridge', transport: 'test' });
    expect(res.status).toBe('error');
    expect(res.error).toMatch(/the proposed entry is invalid: id: "bridge" is reserved/);
  });
});
