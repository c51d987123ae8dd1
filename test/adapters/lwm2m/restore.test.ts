// LwM2M registrations survive a restart of the CoAP adapter (a reload changing adapters.coap) and of the gateway
// (a clean stop, or a crash): saved in the data dir, served again at start, and the observations set up again with
// new tokens, so that a simulated Zephyr client that cannot know the gateway restarted goes on working without
// registering again. Real gateway, aedes, real UDP.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { withTimeout } from '../../sim/lwm2m/coap-wire.js';
import { SimLwm2mClient } from '../../sim/lwm2m/zephyr-client.js';
import {
  type CoapGateway,
  crash,
  registrationsFile,
  savedJson,
  startCoapGateway,
} from '../coap/restartable-gateway.js';

interface SavedRegistrations {
  registrations: { endpoint: string; id: string; last_update: number; last_heard?: number }[];
}
const savedOf = (s: SavedRegistrations, endpoint: string) => s.registrations.find((r) => r.endpoint === endpoint);
type State = Record<string, unknown>;

const node1 = [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1' } }];
const COAP = { bind: '127.0.0.1' };

let dataDir = '';
let g: CoapGateway | undefined;
const clients: SimLwm2mClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});

async function start(opts: { port?: number; logger?: pino.Logger; coap?: Record<string, unknown> } = {}) {
  if (!dataDir) dataDir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-restore-'));
  g = await startCoapGateway(dataDir, node1, { ...opts, coap: { ...COAP, ...opts.coap } });
  return g;
}

async function client(gw: CoapGateway, opts: { queueMode?: boolean; lifetime?: number } = {}) {
  const c = new SimLwm2mClient({ server: { address: '127.0.0.1', port: gw.port }, endpoint: 'zephyr-node1', ...opts });
  await c.start();
  clients.push(c);
  return c;
}

/** Registers and waits until the gateway observes the temperature and has saved the registration. */
async function registered(gw: CoapGateway, c: SimLwm2mClient): Promise<string> {
  const observed = nextObserve(c, '/3303/0/5700');
  const state = gw.gw.waitForMessage<State>(gw.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 25.5);
  const id = await c.register();
  await Promise.all([observed, state]);
  await savedJson<SavedRegistrations>(registrationsFile(dataDir), (s) => savedOf(s, 'zephyr-node1')?.id === id);
  return id;
}

/** A client registered with a gateway that then stopped cleanly, and its entry as the file holds it. */
async function registeredThenStopped(opts: { queueMode?: boolean } = {}) {
  const first = await start();
  const port = first.port;
  const c = await client(first, opts);
  const id = await registered(first, c);
  await first.gw.stop();
  g = undefined;
  const file = registrationsFile(dataDir);
  const saved = JSON.parse(await readFile(file, 'utf8')) as SavedRegistrations;
  const entry = savedOf(saved, 'zephyr-node1');
  if (!entry) throw new Error('not saved');
  return { port, c, id, file, saved, entry };
}

/** A queue-mode client registered with a gateway that then crashed (nothing told it). */
async function queueClientAfterCrash() {
  const first = await start();
  const port = first.port;
  const c = await client(first, { queueMode: true });
  await registered(first, c);
  await crash(first);
  g = undefined;
  return { port, c };
}

function nextObserve(c: SimLwm2mClient, path: string, timeoutMs = 5000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const onObserve = (p: string) => {
        if (p !== path) return;
        c.off('observe', onObserve);
        resolve();
      };
      c.on('observe', onObserve);
    }),
    timeoutMs,
    `an observe of ${path}`,
  );
}

/** What works for a client the gateway serves: a notification reaches MQTT, a /set reaches it, its Update 2.04. */
async function stillServed(gw: CoapGateway, c: SimLwm2mClient, temperature: number): Promise<void> {
  const state = gw.gw.waitForMessage<State>(gw.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === temperature);
  c.setValue('/3303/0/5700', temperature);
  await state;
  const written = withTimeout(new Promise((r) => c.once('write', r)), 5000, 'the write');
  await gw.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_off: 'ON' }));
  expect(await written).toBe('/3311/0/5850');
  expect(await c.update()).toBe('2.04');
}

describe('LwM2M registrations across restarts', () => {
  it('a reload changing a coap setting restarts the adapter: the client is observed again and served, never offline', async () => {
    const first = await start();
    const port = first.port;
    const c = await client(first);
    await registered(first, c);
    const availability: string[] = [];
    first.mqtt.on('message', (topic, payload) => {
      if (topic === 'zephyr2mqtt/node1/availability') availability.push(JSON.parse(payload.toString()).state);
    });
    await first.mqtt.subscribeAsync('zephyr2mqtt/node1/availability');

    const reobserved = nextObserve(c, '/3303/0/5700');
    const config = parse(await readFile(first.gw.configPath, 'utf8'));
    Object.assign(config.adapters.coap, { port, ack_timeout: 0.3 });
    await writeFile(first.gw.configPath, stringify(config));
    expect(await first.gw.request(first.mqtt, 'config/reload')).toMatchObject({ status: 'ok' });
    const adapter = first.gw.gateway.adapterFor('node1').host.adapter;
    expect(adapter).not.toBe(first.adapter); // the adapter was restarted, not reconfigured in place
    await reobserved;
    await stillServed(first, c, 21.75);
    // The restart did not flap it offline (first the retained "online", then nothing else).
    expect(availability.filter((s) => s === 'offline')).toEqual([]);
    expect(first.gw.gateway.devices.get('node1')?.online).toBe(true);
  });

  it('a reload disabling the coap adapter takes the device offline at once; enabling it again serves it again', async () => {
    const first = await start();
    const port = first.port;
    const c = await client(first);
    await registered(first, c);
    const reload = async (coap: Record<string, unknown>) => {
      const config = parse(await readFile(first.gw.configPath, 'utf8'));
      Object.assign(config.adapters.coap, coap);
      await writeFile(first.gw.configPath, stringify(config));
      expect(await first.gw.request(first.mqtt, 'config/reload')).toMatchObject({ status: 'ok' });
    };
    const offline = first.gw.waitForMessage<State>(
      first.mqtt,
      'zephyr2mqtt/node1/availability',
      (p) => p.state === 'offline',
    );
    await reload({ enabled: false });
    await offline;
    expect(first.gw.gateway.devices.get('node1')?.online).toBe(false);

    const reobserved = nextObserve(c, '/3303/0/5700');
    const online = first.gw.waitForMessage<State>(
      first.mqtt,
      'zephyr2mqtt/node1/availability',
      (p) => p.state === 'online',
    );
    await reload({ enabled: true, port });
    await Promise.all([reobserved, online]);
    await stillServed(first, c, 22.5);
  });

  it('a gateway stop and start on the same data dir: the client is observed again and served', async () => {
    const first = await start();
    const port = first.port;
    const c = await client(first);
    const id = await registered(first, c);
    const reobserved = nextObserve(c, '/3303/0/5700');
    await first.gw.stop();
    g = undefined;

    const second = await start({ port });
    await reobserved;
    const registration = await second.gw.request(second.mqtt, 'device/lwm2m', { device: 'node1', op: 'registration' });
    expect(registration.data).toMatchObject({ registration_id: id, endpoint: 'zephyr-node1' });
    expect(second.gw.gateway.devices.get('node1')?.online).toBe(true);
    await stillServed(second, c, 19.5);
  });

  it('a crash: the registration saved while the gateway ran is served after the restart', async () => {
    const first = await start();
    const port = first.port;
    const c = await client(first);
    await registered(first, c);
    const reobserved = nextObserve(c, '/3303/0/5700');
    await crash(first);
    g = undefined;

    const second = await start({ port });
    await reobserved;
    await stillServed(second, c, 18.25);
  });

  it('a crash with a queue-mode client: its observations and a /set wait until it is heard from (its Update)', async () => {
    const { port, c } = await queueClientAfterCrash();
    const observes: string[] = [];
    c.on('observe', (p: string) => observes.push(p));

    const second = await start({ port });
    const registration = await second.gw.request(second.mqtt, 'device/lwm2m', { device: 'node1', op: 'registration' });
    expect(registration.data).toMatchObject({ queue_mode: true, awake: false, observed: [] });
    const written = withTimeout(new Promise((r) => c.once('write', r)), 10_000, 'the write');
    await second.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ on_off: 'ON' }));
    const reobserved = nextObserve(c, '/3303/0/5700');
    // Acknowledged by the broker and routed, the /set waits with the observations for the sleeping client.
    await expect.poll(() => second.adapter.status().details?.lwm2m).toMatchObject({ queued_commands: 1 });
    expect(observes).toEqual([]);
    expect(await c.update()).toBe('2.04');
    await Promise.all([reobserved, written]);
    const state = second.gw.waitForMessage<State>(second.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 30);
    c.setValue('/3303/0/5700', 30);
    await state;
  });

  it('a queue-mode client heard first by a notification on its old token is observed again at once', async () => {
    const { port, c } = await queueClientAfterCrash();

    const second = await start({ port });
    const reobserved = nextObserve(c, '/3303/0/5700');
    // The notification on the token of the process before the crash gets RST (it ends that observation), but the
    // client was heard: awake for a while, it is observed again on a new token.
    c.setValue('/3303/0/5700', 12);
    await reobserved;
    const state = second.gw.waitForMessage<State>(second.mqtt, 'zephyr2mqtt/node1', (p) => p.temperature === 13);
    c.setValue('/3303/0/5700', 13);
    await state;
  });

  it('drops expired registrations and those of endpoints no longer admitted: the device goes offline, the log says why', async () => {
    const { port, c, id, file, saved, entry } = await registeredThenStopped();
    // As if the gateway had stayed down longer than the lifetime (300 s) and grace (15 s), and with a registration
    // of an endpoint removed from the config since.
    entry.last_update = Date.now() - 316_000;
    saved.registrations.push({ ...entry, endpoint: 'zephyr-gone', id: 'ab'.repeat(12), last_update: Date.now() });
    await writeFile(file, JSON.stringify(saved));

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const second = await start({ port, logger });
    expect(second.gw.gateway.devices.get('node1')?.online).toBe(false);
    expect(lines.find((l) => l.restored !== undefined)).toMatchObject({
      restored: 0,
      expired: ['zephyr-node1'],
      not_admitted: ['zephyr-gone'],
    });
    const asked = await second.gw.request(second.mqtt, 'device/lwm2m', { device: 'node1', op: 'registration' });
    expect(asked).toMatchObject({ status: 'error', error: expect.stringContaining('not registered') });
    // The client's Update to its old location: 4.04, and it registers again.
    c.location = ['rd', id];
    expect(await c.update()).toBe('4.04');
    await savedJson<SavedRegistrations>(file, (s) => s.registrations.length === 0);
  });

  it('an entry whose location id another entry already has is not restored (a hand-edited or damaged file)', async () => {
    const { port, c, id, file, saved, entry } = await registeredThenStopped();
    saved.registrations.push({ ...entry, endpoint: 'zephyr-node2' });
    await writeFile(file, JSON.stringify(saved));

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const node2 = { id: 'node2', transport: 'coap', lwm2m: { endpoint: 'zephyr-node2' } };
    g = await startCoapGateway(dataDir, [...node1, node2], { port, logger, coap: COAP });
    expect(lines.find((l) => l.restored !== undefined)).toMatchObject({ restored: 1, not_admitted: ['zephyr-node2'] });
    c.location = ['rd', id];
    await stillServed(g, c, 31);
  });

  // A queue-mode client: restored asleep, nothing is heard from it after the restart (a client that is not in queue
  // mode answers the observes at once, which is hearing from it).
  for (const saved of ['last_heard', 'last_update, in a file without last_heard (an earlier version)'] as const) {
    it(`a restored device's last_seen is when its client was last heard (the saved ${saved}), not the restart`, async () => {
      const registeredAt = Date.now();
      const { port, file, saved: content, entry } = await registeredThenStopped({ queueMode: true });
      const stoppedAt = Date.now();
      expect(entry.last_heard).toBeGreaterThanOrEqual(Math.max(registeredAt, entry.last_update));
      expect(entry.last_heard).toBeLessThanOrEqual(stoppedAt);
      // A time after everything the client sent (which the retained state's last_seen has), before the restart.
      if (saved === 'last_heard') entry.last_heard = stoppedAt;
      else {
        delete entry.last_heard;
        entry.last_update = stoppedAt;
      }
      await writeFile(file, JSON.stringify(content));

      const second = await start({ port });
      const expected = new Date(stoppedAt).toISOString();
      await expect.poll(() => second.gw.gateway.devices.get('node1')?.lastSeen?.toISOString()).toBe(expected);
      await second.gw.waitForMessage<{ id: string; last_seen: string | null; availability: string }[]>(
        second.mqtt,
        'zephyr2mqtt/bridge/devices',
        (list) => list.some((d) => d.id === 'node1' && d.last_seen === expected && d.availability === 'online'),
      );
    });
  }

  it('a damaged file is moved aside with a warning and the start goes on', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-restore-'));
    const file = registrationsFile(dataDir);
    await mkdir(join(dataDir, 'adapters', 'coap'), { recursive: true });
    await writeFile(file, '{"format": 1, "registrations": {"zephyr-node1": ');
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const gw = await start({ logger });
    expect((await stat(`${file}.corrupt`)).isFile()).toBe(true);
    expect(lines.find((l) => l.file === file && l.level === 40)?.msg).toMatch(/cannot be used .*moved to/);
    const c = await client(gw);
    await registered(gw, c);
  });
});
