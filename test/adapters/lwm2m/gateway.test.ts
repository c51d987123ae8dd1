// Black-box: the real gateway (CoAP adapter + LwM2M server, aedes, core) driven through MQTT topics, with simulated
// Zephyr LwM2M clients on real UDP sockets.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoapAdapter } from '../../../adapters/coap/coap-adapter.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { withTimeout } from '../../sim/lwm2m/coap-wire.js';
import { type SimClientOptions, SimLwm2mClient } from '../../sim/lwm2m/zephyr-client.js';

interface Setup {
  gw: TestGateway;
  mqtt: MqttClient;
  client(opts: Omit<SimClientOptions, 'server'>): Promise<SimLwm2mClient>;
}

const clients: SimLwm2mClient[] = [];
let gw: TestGateway | undefined;

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await gw?.stop();
  gw = undefined;
  vi.useRealTimers();
});

/**
 * For the queue-mode wake window, which the LwM2M server measures on performance.now(): faked from before the gateway
 * starts, it runs with real time and vi.advanceTimersByTime steps it forward, as if that much time had passed at
 * once. Timers and sockets stay real.
 */
const steppedMonotonicClock = () => vi.useFakeTimers({ toFake: ['performance'], shouldAdvanceTime: true });

const lwm2mStatus = (s: Setup) =>
  (s.gw.gateway.adapterFor('node1').host.adapter as unknown as CoapAdapter).status().details?.lwm2m;

async function setup(lwm2m: Record<string, unknown> = {}, devices?: Record<string, unknown>[]): Promise<Setup> {
  gw = await startTestGateway({
    devices: devices ?? [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1' } }],
    adapters: { coap: { enabled: true, bind: '127.0.0.1', port: 0, lwm2m } },
  } as never);
  const adapter = gw.gateway.adapterFor('node1').host.adapter as unknown as CoapAdapter;
  const server = { address: '127.0.0.1', port: adapter.endpoint.port };
  const mqtt = await gw.connect();
  return {
    gw,
    mqtt,
    async client(opts) {
      const c = new SimLwm2mClient({ server, ...opts });
      await c.start();
      clients.push(c);
      return c;
    },
  };
}

type State = Record<string, unknown>;

/** A queue-mode client, registered and reporting (its first temperature reached MQTT). */
async function registeredQueueClient(s: Setup) {
  const c = await s.client({ endpoint: 'zephyr-node1', queueMode: true });
  const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
  await c.register();
  await ready;
  return c;
}

describe('LwM2M through MQTT', () => {
  it('registers, goes online and publishes the observed temperature as state and raw path', async () => {
    const s = await setup();
    const online = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1/availability', (p) => p.state === 'online');
    const state = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    const raw = s.gw.waitForMessage<number>(s.mqtt, 'zephyr2mqtt/node1/lwm2m/3303/0/5700', (p) => p === 25.5);
    const c = await s.client({ endpoint: 'zephyr-node1' });
    await c.register();
    await Promise.all([online, state, raw]);
    const next = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 21.75);
    c.setValue('/3303/0/5700', 21.75);
    expect(await next).toMatchObject({ temperature: 21.75, on_off: false });
  });

  it('bridge/devices shows the lifetime, binding, address and objects of the latest Update', async () => {
    const s = await setup();
    type Entry = { id: string; info: { lwm2m?: Record<string, unknown>; manufacturer?: string } };
    const lwm2mOf = (list: Entry[]) => list.find((d) => d.id === 'node1')?.info.lwm2m;
    const devices = (match: (lwm2m: Record<string, unknown>) => boolean) =>
      s.gw.waitForMessage<Entry[]>(s.mqtt, 'zephyr2mqtt/bridge/devices', (list) => {
        const lwm2m = lwm2mOf(list);
        return lwm2m !== undefined && match(lwm2m);
      });
    const c = await s.client({ endpoint: 'zephyr-node1' });
    const registered = devices((l) => l.lifetime === 300);
    await c.register();
    const before = lwm2mOf(await registered);
    const updated = devices((l) => l.lifetime === 600);
    expect(await c.update(['lt=600', 'b=UQ'])).toBe('2.04');
    expect(lwm2mOf(await updated)).toEqual({ ...before, lifetime: 600, binding: 'UQ', queue_mode: true });
    // From a new port (NAT rebinding), with a new object list.
    const location = c.location;
    await c.restart();
    c.location = location;
    const moved = devices((l) => l.address === `[127.0.0.1]:${c.port}`);
    expect((await c.request('POST', location, [], '</>;ct=110,</1/0>,</3/0>', 40)).code).toBe('2.04');
    const list = await moved;
    expect(lwm2mOf(list)).toEqual({
      ...before,
      lifetime: 600,
      binding: 'UQ',
      queue_mode: true,
      address: `[127.0.0.1]:${c.port}`,
      objects: ['/1/0', '/3/0'],
    });
    expect(list.find((d) => d.id === 'node1')?.info.manufacturer).toBe('Zephyr');
  });

  it('writes the light on/off and executes reboot from <base>/<device>/set', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'zephyr-node1', format: 'tlv', version: '1.0' });
    const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    await c.register();
    await ready;
    const on = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.on_off === true);
    const written = withTimeout(new Promise((r) => c.once('write', r)), 5000, 'the write');
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_off: 'ON' }));
    expect(await written).toBe('/3311/0/5850');
    await on;
    expect(c.value('/3311/0/5850')).toBe(true);
    // Zigbee2MQTT's plain OFF on /set ({"state": "OFF"}) switches the light too.
    const off = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.on_off === false);
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', 'OFF');
    await off;
    expect(c.value('/3311/0/5850')).toBe(false);
    const executed = withTimeout(new Promise((r) => c.once('execute', r)), 5000, 'the execute');
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ reboot: '' }));
    expect(await executed).toBe('/3/0/4');
  });

  it('answers bridge/request/device/lwm2m with decoded values and clear errors', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'zephyr-node1', format: 'senml-cbor' });
    const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    await c.register();
    await ready;
    const read = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'read', path: '/3/0' });
    expect(read.status).toBe('ok');
    expect(read.data).toMatchObject({ values: { '/3/0/0': 'Zephyr', '/3/0/9': 95, '/3/0/7/1': 5000 } });
    const missing = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'read', path: '/3/0/99' });
    expect(missing).toMatchObject({ status: 'error', error: expect.stringContaining('4.04') });
    const bad = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'nope' });
    expect(bad).toMatchObject({ status: 'error', error: expect.stringContaining('invalid lwm2m request') });
  });

  it('writes an opaque resource larger than a block (a firmware package) as octet-stream, which Zephyr takes block-wise', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'zephyr-node1', format: 'senml-json' });
    const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    await c.register();
    await ready;
    const image = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 251));
    const written = new Promise((r) =>
      c.once('write', (path: string, _records: unknown, cf: number) => r({ path, cf })),
    );
    const res = await s.gw.request(s.mqtt, 'device/lwm2m', {
      device: 'node1',
      op: 'write',
      path: '/5/0/0',
      value: image.toString('base64'),
    });
    expect(res.status, res.error).toBe('ok');
    expect(await withTimeout(written, 1000, 'the write')).toEqual({ path: '/5/0/0', cf: 42 });
    expect(Buffer.from(c.value('/5/0/0') as Uint8Array)).toEqual(image);
  });

  it('a client with a full observer table: the refused observation is not listed, and is tried again at its next Update', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'zephyr-node1', maxObservers: 1 });
    const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    const refused: string[] = [];
    c.on('observe_refused', (path: string) => refused.push(path));
    await c.register();
    await ready;
    await expect.poll(() => refused.length, { timeout: 5000 }).toBeGreaterThan(0);
    const registration = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'registration' });
    const observed = (registration.data as { observed: string[] }).observed;
    expect(observed).toEqual([...c.observers.values()].map((o) => `/${o.path.obj}/${o.path.inst}/${o.path.res}`));
    const raw = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'observe', path: refused[0] });
    expect(raw).toMatchObject({ status: 'ok', data: { observing: false } });
    // The next Update tries the refused ones again (the client now has room for one more).
    c.opts.maxObservers = 2;
    const tried = new Promise<string>((resolve) => c.once('observe', resolve));
    await c.update();
    expect(refused).toContain(await tried);
  });

  it('reports offline when the lifetime expires', async () => {
    const s = await setup({ lifetime_grace_s: 0 });
    const c = await s.client({ endpoint: 'zephyr-node1', lifetime: 1 });
    const online = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1/availability', (p) => p.state === 'online');
    await c.register();
    await online;
    await s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1/availability', (p) => p.state === 'offline', 5000);
  });

  it('a valid registration keeps a quiet device online past availability_timeout, until De-register or expiry', async () => {
    const s = await setup({ lifetime_grace_s: 0 }, [
      { id: 'node1', transport: 'coap', availability_timeout: 1, lwm2m: { endpoint: 'zephyr-node1' } },
    ]);
    const states: string[] = [];
    s.mqtt.on('message', (topic, payload, packet) => {
      if (topic === 'zephyr2mqtt/node1/availability' && !packet.retain)
        states.push(JSON.parse(payload.toString()).state);
    });
    await s.mqtt.subscribeAsync('zephyr2mqtt/node1/availability');
    const c = await s.client({ endpoint: 'zephyr-node1', queueMode: true, lifetime: 30 });
    await c.register();
    await expect.poll(() => states).toEqual(['online']);
    // Past the 1 s timeout (checked every 250 ms) with nothing from the client after its registration.
    await new Promise((r) => setTimeout(r, 1800));
    expect(states).toEqual(['online']);
    expect(await c.deregister()).toBe('2.02');
    await expect.poll(() => states).toEqual(['online', 'offline']);
    c.opts.lifetime = 2;
    const registered = Date.now();
    await c.register();
    await expect.poll(() => states).toEqual(['online', 'offline', 'online']);
    await new Promise((r) => setTimeout(r, 1500 - (Date.now() - registered)));
    expect(states).toEqual(['online', 'offline', 'online']);
    await expect.poll(() => states, { timeout: 3000 }).toEqual(['online', 'offline', 'online', 'offline']);
    expect(Date.now() - registered).toBeGreaterThanOrEqual(1900);
  });

  it('counts bad registrations in one decode-error series, whatever text they carry', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'x' });
    for (let i = 0; i < 20; i++) {
      expect((await c.request('POST', ['rd'], ['ep=x', `lt=z${i}`], '</1/0>', 40)).code).toBe('4.00');
    }
    const metrics = await (await fetch(`${s.gw.httpUrl}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('zephyr2mqtt_decode_errors_total{'))).toEqual([
      'zephyr2mqtt_decode_errors_total{adapter="coap",reason="lwm2m_registration"} 20',
    ]);
  });

  it('queue mode: a /set for a sleeping client is applied after its next Update', async () => {
    steppedMonotonicClock();
    const s = await setup({ queue_awake_s: 1 });
    const c = await registeredQueueClient(s);
    c.sleeping = true;
    vi.advanceTimersByTime(1100);
    const on = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.on_off === true, 8000);
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_off: true }));
    // Routed to the server, which holds it for the sleeping client.
    await expect.poll(() => lwm2mStatus(s)).toMatchObject({ queued_commands: 1 });
    expect(c.value('/3311/0/5850')).toBe(false);
    expect(await c.update()).toBe('2.04');
    await on;
    expect(c.value('/3311/0/5850')).toBe(true);
  });

  it('queue mode: a /set of two values held for a sleeping client is applied whole when it registers again', async () => {
    // An nRF91 waking from PSM with a new IP gets 4.03 for its Update and registers again (a new registration);
    // a reboot does the same. The second value must not wait for the Update after that.
    steppedMonotonicClock();
    const s = await setup({ queue_awake_s: 1 });
    const c = await registeredQueueClient(s);
    c.sleeping = true;
    vi.advanceTimersByTime(1100);
    // Neither resource is observed: no notification wakes the queue between the two writes.
    const both = s.gw.waitForMessage<State>(
      s.mqtt,
      'zephyr2mqtt/node1',
      (p) => p.on_time === 30 && p.brightness === 50,
    );
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_time: 30, brightness: 50 }));
    await c.restart();
    await c.register();
    await both;
    expect([c.value('/3311/0/5852'), c.value('/3311/0/5851')]).toEqual([30, 50]);
  });

  it('queue mode: the client listens on after answering the gateway, so a /set then goes out at once', async () => {
    // Zephyr turns its receiver off CONFIG_LWM2M_QUEUE_MODE_UPTIME after the last message it sent, answers to the
    // server's requests included (engine_update_tx_time on every transmission).
    steppedMonotonicClock();
    const s = await setup({ queue_awake_s: 3 });
    const c = await registeredQueueClient(s);
    expect(await c.update()).toBe('2.04');
    vi.advanceTimersByTime(1500);
    const read = await s.gw.request(s.mqtt, 'device/lwm2m', { device: 'node1', op: 'read', path: '/3/0/9' });
    expect(read).toMatchObject({ status: 'ok', data: { values: { '/3/0/9': 95 } } });
    // 3.5 s after the Update, 2 s after the client's answer to that Read: it still listens.
    vi.advanceTimersByTime(2000);
    const written = withTimeout(new Promise((r) => c.once('write', r)), 3000, 'the write');
    await s.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_off: 'ON' }));
    expect(await written).toBe('/3311/0/5850');
  });

  it('picks the device up again after a client restart (new port, new registration)', async () => {
    const s = await setup();
    const c = await s.client({ endpoint: 'zephyr-node1' });
    const ready = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
    await c.register();
    await ready;
    await c.restart();
    c.setValue('/3303/0/5700', 18.5);
    const after = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 18.5);
    await c.register();
    await after;
    const again = s.gw.waitForMessage<State>(s.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 19.25);
    c.setValue('/3303/0/5700', 19.25);
    await again;
  });

  it('announces an unknown endpoint on bridge/event while permit_join is on', async () => {
    const s = await setup();
    const event = s.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      s.mqtt,
      'zephyr2mqtt/bridge/event',
      (p) => p.type === 'device_seen_unknown' && p.data.address === 'stranger-7',
    );
    expect((await s.gw.request(s.mqtt, 'permit_join', { value: true })).status).toBe('ok');
    const c = await s.client({ endpoint: 'stranger-7' });
    await c.register();
    expect((await event).data).toMatchObject({
      transport: 'coap',
      suggested_config: { id: 'stranger-7', transport: 'coap', lwm2m: { endpoint: 'stranger-7' } },
    });
  });

  it('an unknown endpoint named like a configured id is suggested with a free id, and onboarding it works', async () => {
    const s = await setup();
    const event = s.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      s.mqtt,
      'zephyr2mqtt/bridge/event',
      (p) => p.type === 'device_seen_unknown' && p.data.address === 'node1',
    );
    expect((await s.gw.request(s.mqtt, 'permit_join', { value: true })).status).toBe('ok');
    const c = await s.client({ endpoint: 'node1' });
    await c.register();
    const suggested = (await event).data.suggested_config;
    expect(suggested).toEqual({ id: 'node1-2', transport: 'coap', lwm2m: { endpoint: 'node1' } });
    expect((await s.gw.request(s.mqtt, 'device/add', suggested)).status).toBe('ok');
    expect(s.gw.gateway.devices.get('node1-2')?.config).toMatchObject({ lwm2m: { endpoint: 'node1' } });
  });

  it('refuses device/add of a second device with an endpoint another device has: it could never come online', async () => {
    const s = await setup();
    const added = await s.gw.request(s.mqtt, 'device/add', {
      id: 'node2',
      transport: 'coap',
      lwm2m: { endpoint: 'zephyr-node1' },
    });
    expect(added).toMatchObject({
      status: 'error',
      error: expect.stringContaining('"zephyr-node1" is already the LwM2M endpoint of "node1"'),
    });
    expect(s.gw.gateway.devices.get('node2')).toBeUndefined();
  });

  it('an endpoint removed with block: true cannot register again, even with unknown_endpoints: accept', async () => {
    const s = await setup({ unknown_endpoints: 'accept' }, [
      { id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1' } },
      { id: 'node2', transport: 'coap', lwm2m: { endpoint: 'zephyr-node2' } },
    ]);
    expect(await s.gw.request(s.mqtt, 'device/remove', { id: 'node2', block: true })).toMatchObject({
      status: 'ok',
      data: { blocklist: [{ transport: 'coap', name: 'zephyr-node2' }] },
    });
    const blocked = await s.client({ endpoint: 'zephyr-node2' });
    await expect(blocked.register()).rejects.toThrow(/register answered 4.03/);
    const other = await s.client({ endpoint: 'zephyr-node3' });
    await other.register();
    const metrics = await (await fetch(`${s.gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('zephyr2mqtt_blocked_total{adapter="coap"} 1');
  });

  it('a blocklist entry naming a source IP refuses every new endpoint registering from it', async () => {
    const s = await setup({ unknown_endpoints: 'accept' }, [
      { id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1' } },
    ]);
    const set = await s.gw.request(s.mqtt, 'options', {
      options: { blocklist: [{ transport: 'coap', address: '127.0.0.1' }] },
    });
    expect(set.status).toBe('ok');
    const stranger = await s.client({ endpoint: 'stranger' });
    await expect(stranger.register()).rejects.toThrow(/register answered 4.03/);
    // A configured device is served whatever the list says.
    await (await s.client({ endpoint: 'zephyr-node1' })).register();
  });
});
