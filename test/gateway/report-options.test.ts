// A device's report options (Zigbee2MQTT's names): filtered_attributes, throttle, debounce, debounce_ignore, qos,
// retain.
// Through the real gateway and broker, as a subscriber sees the device's topics.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, parseConfigText } from '../../gateway/config/load.js';
import { gatewayConfigSchema } from '../../gateway/controller.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type State = Record<string, unknown>;

interface Received {
  topic: string;
  payload: string;
  qos: number;
  at: number;
}

/** Every message on dev1's state and property topics from now on, and a way to await the next matching one. */
async function record(client: MqttClient) {
  const received: Received[] = [];
  const waiting: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  client.on('message', (topic, payload, packet) => {
    if (topic === 'zephyr2mqtt/dev1/availability') return;
    const r = { topic, payload: payload.toString('utf8'), qos: packet.qos, at: performance.now() };
    received.push(r);
    for (const w of waiting.splice(0)) {
      if (w.match(r)) w.resolve(r);
      else waiting.push(w);
    }
  });
  await client.subscribeAsync(['zephyr2mqtt/dev1', 'zephyr2mqtt/dev1/+'], { qos: 2 });
  const states = () =>
    received.filter((r) => r.topic === 'zephyr2mqtt/dev1').map((r) => JSON.parse(r.payload) as State);
  return {
    received,
    states,
    /** The next message on `topic` whose payload passes `match` (only messages that arrive from now on). */
    next(topic: string, match: (payload: string) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nothing on ${topic} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          match: (r) => r.topic === topic && match(r.payload),
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
  };
}

const STATE = 'zephyr2mqtt/dev1';
const has = (key: string, value: unknown) => (payload: string) => (JSON.parse(payload) as State)[key] === value;

describe('device report options', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start(device: Record<string, unknown>) {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test', ...device }], api: { property_topics: true } },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const topics = await record(client);
    return { gw, ctx: adapter.current().ctx, client, topics };
  }

  it('filtered_attributes: matching properties never reach the state, its property topics or the registry', async () => {
    const { gw, ctx, topics } = await start({ filtered_attributes: ['^rssi$', 'quality'] });
    const published = topics.next(STATE, has('temperature', 21));
    expect(ctx.telemetry('dev1', { temperature: 21, rssi: -60, linkquality: 3, rssi_raw: 1 })).toBe('accepted');
    const state = JSON.parse((await published).payload) as State;
    expect(Object.keys(state).sort()).toEqual(['last_seen', 'rssi_raw', 'temperature']);
    expect(gw.gateway.devices.get('dev1')?.state).not.toHaveProperty('rssi');
    // A message with nothing left is a sign of life, not a publish.
    const lastSeen = gw.gateway.devices.get('dev1')?.heardAt;
    expect(ctx.telemetry('dev1', { rssi: -61 })).toBe('accepted');
    expect(gw.gateway.devices.get('dev1')?.heardAt).toBeGreaterThan(lastSeen ?? Number.POSITIVE_INFINITY);
    const after = topics.next(STATE, has('temperature', 22));
    ctx.telemetry('dev1', { temperature: 22 });
    await after;
    expect(topics.received.map((r) => r.topic).filter((t) => /rssi$|quality/.test(t))).toEqual([]);
    expect(topics.states().map((s) => s.temperature)).toEqual([21, 22]);
  });

  it('filtered_attributes set later (device/options) drops what the device reported before, at once', async () => {
    const { gw, ctx, client, topics } = await start({});
    const first = topics.next(STATE, has('temperature', 20));
    ctx.telemetry('dev1', { temperature: 20, rssi: -70 });
    await first;
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1/rssi')?.toString()).toBe('-70');
    const cleared = topics.next('zephyr2mqtt/dev1/rssi', (p) => p === '');
    const trimmed = topics.next(STATE, (p) => !('rssi' in (JSON.parse(p) as State)));
    const options = { id: 'dev1', options: { filtered_attributes: ['^rssi$'] } };
    expect(await gw.request(client, 'device/options', options)).toMatchObject({ status: 'ok' });
    await Promise.all([cleared, trimmed]);
    expect(gw.gateway.devices.get('dev1')?.state).toMatchObject({ temperature: 20 });
    expect(gw.gateway.devices.get('dev1')?.state).not.toHaveProperty('rssi');
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1/rssi')).toBeUndefined();
  });

  it('throttle: the first report at once, the rest merged into one publish when the interval ends', async () => {
    const { ctx, topics } = await start({ throttle: 0.4 });
    const first = topics.next(STATE);
    const sentAt = performance.now();
    ctx.telemetry('dev1', { temperature: 1 });
    ctx.telemetry('dev1', { temperature: 2 });
    ctx.telemetry('dev1', { humidity: 50 });
    ctx.telemetry('dev1', { temperature: 3 });
    expect(JSON.parse((await first).payload)).toMatchObject({ temperature: 1 });
    const humidityTopic = topics.next('zephyr2mqtt/dev1/humidity');
    const trailing = await topics.next(STATE);
    expect(trailing.at - sentAt).toBeGreaterThanOrEqual(350);
    expect(JSON.parse(trailing.payload)).toMatchObject({ temperature: 3, humidity: 50 });
    expect((await humidityTopic).payload).toBe('50');
    expect(topics.states().map((s) => s.temperature)).toEqual([1, 3]);
    // A press is never held: it goes out at once, carrying the state.
    const pressed = topics.next('zephyr2mqtt/dev1/action');
    const pressAt = performance.now();
    ctx.telemetry('dev1', { action: 'single' });
    expect((await pressed).at - pressAt).toBeLessThan(350);
  });

  it('debounce: reports merged until the device is quiet; debounce_ignore properties go at once', async () => {
    const { ctx, topics } = await start({ debounce: 0.3, debounce_ignore: ['contact'] });
    // contact's first value is new: published at once.
    const first = topics.next(STATE, has('contact', true), 250);
    ctx.telemetry('dev1', { contact: true });
    await first;
    const settled = topics.next(STATE);
    const sentAt = performance.now();
    for (let i = 1; i <= 5; i++) ctx.telemetry('dev1', { temperature: i, contact: true });
    const published = await settled;
    expect(published.at - sentAt).toBeGreaterThanOrEqual(250);
    expect(JSON.parse(published.payload)).toMatchObject({ temperature: 5, contact: true });
    expect(topics.states()).toHaveLength(2);
    // contact changes: published at once with everything merged so far.
    ctx.telemetry('dev1', { temperature: 6 });
    const opened = topics.next(STATE, has('contact', false), 250);
    ctx.telemetry('dev1', { contact: false });
    expect(JSON.parse((await opened).payload)).toMatchObject({ temperature: 6, contact: false });
    expect(topics.states()).toHaveLength(3);
  });

  it('debounce: a device that never goes quiet is still published, after at most 10 intervals', async () => {
    const { ctx, topics } = await start({ debounce: 0.1 });
    const published = topics.next(STATE, () => true, 5000);
    let seen = false;
    void published.then(() => {
      seen = true;
    });
    const startedAt = performance.now();
    // Reports every 20 ms (well inside the 100 ms quiet time) until the publish arrives: bounded to 3 s.
    for (let i = 0; i < 150 && !seen; i++) {
      ctx.telemetry('dev1', { counter: i });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const at = (await published).at;
    expect(at - startedAt).toBeGreaterThanOrEqual(900);
    expect(at - startedAt).toBeLessThan(2500);
  });

  it('a reload and a stop publish what is held at once', async () => {
    const { gw, ctx, client, topics } = await start({ debounce: 60 });
    ctx.telemetry('dev1', { temperature: 7 });
    const released = topics.next(STATE, has('temperature', 7));
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { description: 'x' } })).toMatchObject({
      status: 'ok',
    });
    await released;
    ctx.telemetry('dev1', { temperature: 8 });
    const atStop = topics.next(STATE, has('temperature', 8));
    const offline = gw.waitForMessage(
      client,
      'zephyr2mqtt/bridge/state',
      (m: { state?: string }) => m.state === 'offline',
    );
    await gw.gateway.stop();
    await atStop;
    await offline;
    expect(topics.states().map((s) => s.temperature)).toEqual([7, 8]);
  });

  it('qos: the state and property topics at the device QoS, 0 by default', async () => {
    const { ctx, topics } = await start({ qos: 1 });
    const state = topics.next(STATE);
    const property = topics.next('zephyr2mqtt/dev1/temperature');
    ctx.telemetry('dev1', { temperature: 1 });
    expect((await state).qos).toBe(1);
    expect((await property).qos).toBe(1);
    await gw?.stop();
    const plain = await start({});
    const plainState = plain.topics.next(STATE);
    plain.ctx.telemetry('dev1', { temperature: 1 });
    expect((await plainState).qos).toBe(0);
  });

  it('retain: state and property topics retained by default, not with retain: false (availability still is)', async () => {
    const { gw, ctx, topics } = await start({});
    const retained = topics.next(STATE, has('temperature', 1));
    ctx.telemetry('dev1', { temperature: 1 });
    await retained;
    expect(JSON.parse(gw.gateway.broker.retained(STATE)?.toString() ?? '{}')).toMatchObject({ temperature: 1 });
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1/temperature')?.toString()).toBe('1');
    await gw.stop();

    const plain = await start({ retain: false });
    const state = plain.topics.next(STATE, has('temperature', 2));
    const property = plain.topics.next('zephyr2mqtt/dev1/temperature', (p) => p === '2');
    plain.ctx.telemetry('dev1', { temperature: 2 });
    await Promise.all([state, property]);
    // A press: its message and the state after it, none of them retained.
    const press = plain.topics.next(STATE, has('action', 'single'));
    plain.ctx.telemetry('dev1', { action: 'single' });
    await press;
    // A client that subscribes now gets the availability, and no state.
    const late = await plain.gw.connect();
    const got: string[] = [];
    late.on('message', (topic, payload) => {
      if (payload.length > 0) got.push(topic);
    });
    await late.subscribeAsync(['zephyr2mqtt/dev1', 'zephyr2mqtt/dev1/+', 'zephyr2mqtt/bridge/info']);
    await plain.gw.waitForMessage(late, 'zephyr2mqtt/bridge/info'); // retained messages arrive in subscribe order
    expect(got.filter((t) => t.startsWith('zephyr2mqtt/dev1'))).toEqual(['zephyr2mqtt/dev1/availability']);
  });

  it('retain turned off (device/options) clears the retained state and property topics at once', async () => {
    const { gw, ctx, client, topics } = await start({});
    const first = topics.next(STATE, has('temperature', 20));
    ctx.telemetry('dev1', { temperature: 20 });
    await first;
    const clearedState = topics.next(STATE, (p) => p === '');
    const clearedProperty = topics.next('zephyr2mqtt/dev1/temperature', (p) => p === '');
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { retain: false } })).toMatchObject({
      status: 'ok',
      data: { changed: ['dev1'], to: { retain: false } },
    });
    await Promise.all([clearedState, clearedProperty]);
    expect(gw.gateway.broker.retained(STATE)).toBeUndefined();
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1/temperature')).toBeUndefined();
    // The state itself is kept: the next report merges into it, not retained.
    const next = topics.next(STATE, has('humidity', 40));
    ctx.telemetry('dev1', { humidity: 40 });
    expect(JSON.parse((await next).payload)).toMatchObject({ temperature: 20, humidity: 40 });
    expect(gw.gateway.broker.retained(STATE)).toBeUndefined();
  });
});

describe('device report options in the config', () => {
  const schema = gatewayConfigSchema([createTestAdapterModule().module]);
  function issuesOf(device: string): ConfigIssue[] {
    try {
      parseConfigText(`devices:\n  - id: a\n    transport: test\n${device}`, 'g.yaml', {}, { schema });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues;
    }
    throw new Error('the config was accepted');
  }

  it('name the key, the line and the fix', () => {
    expect(issuesOf('    throttle: 2\n    debounce: 1\n')).toMatchObject([
      { path: 'devices[0].debounce', line: 5, message: 'throttle and debounce cannot both be set' },
    ]);
    expect(issuesOf('    debounce_ignore: [contact]\n')).toMatchObject([
      { path: 'devices[0].debounce_ignore', line: 4, hint: expect.stringMatching(/add debounce/) },
    ]);
    expect(issuesOf('    filtered_attributes: ["rssi", "(unclosed"]\n')).toMatchObject([
      {
        path: 'devices[0].filtered_attributes[1]',
        line: 4,
        message: 'not a valid regular expression (Unterminated group), got "(unclosed"',
      },
    ]);
    expect(issuesOf('    qos: 3\n')[0]?.path).toBe('devices[0].qos');
    expect(issuesOf('    retain: "no"\n')[0]?.path).toBe('devices[0].retain');
    expect(issuesOf('    throttle: 0\n')[0]?.path).toBe('devices[0].throttle');
  });
});
