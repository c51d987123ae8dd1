// The core through MQTT, driven by a test transport: telemetry merge, availability, /set and /get routing,
// command errors, property topics, adapter crash and restart.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

const devices = [
  { id: 'dev1', transport: 'test', address: 'a1' },
  { id: 'dev2', transport: 'test', availability_timeout: 1 },
];

type State = Record<string, unknown>;
type AdapterEvent = { type: string; data: { adapter?: string; state?: string; reason?: string } };

describe('core with the test adapter', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start(overrides: Record<string, unknown> = {}) {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices, ...overrides }, { adapterModules: [adapter.module] });
    return { gw, adapter, client: await gw.connect() };
  }

  it('merges telemetry into the retained device state with last_seen and announces availability', async () => {
    const { gw, adapter, client } = await start();
    const ctx = adapter.current().ctx;
    const first = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.temperature === 21.5);
    ctx.telemetry('dev1', { temperature: 21.5, linkquality: 80 });
    expect((await first.message).linkquality).toBe(80);

    const second = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.humidity === 40);
    ctx.telemetry('dev1', { humidity: 40 });
    const merged = await second.message;
    expect(merged).toMatchObject({ temperature: 21.5, humidity: 40, linkquality: 80 });
    expect(Date.parse(String(merged.last_seen))).toBeGreaterThan(Date.now() - 10_000);
    expect(await gw.waitForMessage(client, 'zephyr2mqtt/dev1/availability')).toEqual({ state: 'online' });

    // A late subscriber gets the retained state.
    const late = await gw.connect();
    expect(await gw.waitForMessage<State>(late, 'zephyr2mqtt/dev1')).toMatchObject({ temperature: 21.5, humidity: 40 });

    const list = await gw.waitForMessage<State[]>(client, 'zephyr2mqtt/bridge/devices', (l) =>
      l.some((d) => d.id === 'dev1' && d.availability === 'online'),
    );
    expect(list.find((d) => d.id === 'dev1')).toMatchObject({ transport: 'test', address: 'a1', disabled: false });
  });

  it('ignores telemetry for devices that are not configured', async () => {
    const { gw, adapter, client } = await start();
    // Published in order: once dev1's state arrives, a ghost state would have arrived before it.
    const seen: string[] = [];
    client.on('message', (t) => seen.push(t));
    await client.subscribeAsync('zephyr2mqtt/ghost');
    const marker = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.marker === 1);
    adapter.current().ctx.telemetry('ghost', { temperature: 1 });
    adapter.current().ctx.telemetry('dev1', { marker: 1 });
    await marker.message;
    expect(seen).not.toContain('zephyr2mqtt/ghost');
  });

  it('reports a device offline after its availability timeout', async () => {
    const { gw, adapter, client } = await start();
    // dev2 times out after 1 s of silence (checked every 250 ms).
    const online = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev2/availability', (m) => m.state === 'online');
    adapter.current().ctx.telemetry('dev2', { v: 1 });
    await online.message;
    const offline = await gw.waitForMessage<State>(
      client,
      'zephyr2mqtt/dev2/availability',
      (m) => m.state === 'offline',
      3000,
    );
    expect(offline).toEqual({ state: 'offline' });
  });

  it('routes /set to the adapter, merges the confirmed values and publishes errors for bad commands', async () => {
    const { gw, adapter, client } = await start();
    const state = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.led === 'on');
    await client.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    expect((await state.message).led).toBe('on');
    expect(adapter.current().commands).toEqual([{ deviceId: 'dev1', cmd: { kind: 'set', payload: { led: 'on' } } }]);

    const refused = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1/set/error');
    await client.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ fail: 'busy' }));
    expect(await refused.message).toEqual({ error: 'device refused: busy', request: { fail: 'busy' } });

    for (const [payload, error] of [
      ['[1,2]', 'payload must be a JSON object'],
      ['42', 'payload must be a JSON object'],
      ['null', 'payload must be a JSON object'],
      ['{"a":', 'payload is not valid JSON'],
      ['', 'payload is not valid JSON'],
      ['bright', 'payload is not valid JSON'],
      [Buffer.from([0xff, 0xfe, 0x00]), 'payload is not valid JSON'],
    ] as const) {
      const err = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1/set/error');
      await client.publishAsync('zephyr2mqtt/dev1/set', payload);
      expect((await err.message).error).toBe(error);
    }
    expect(adapter.current().commands).toHaveLength(2);
    // Zigbee2MQTT's plain-text state words.
    const toggled = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.state === 'toggle');
    await client.publishAsync('zephyr2mqtt/dev1/set', 'toggle');
    await toggled.message;
    expect(adapter.current().commands.at(-1)).toEqual({
      deviceId: 'dev1',
      cmd: { kind: 'set', payload: { state: 'toggle' } },
    });
    // The gateway is still serving.
    expect((await gw.request(client, 'health_check')).status).toBe('ok');
  });

  it('refuses commands to a disabled device and hides it from the adapter', async () => {
    const { gw, adapter, client } = await start({
      devices: [...devices, { id: 'spare', transport: 'test', disabled: true }],
    });
    expect(
      adapter
        .current()
        .ctx.devices()
        .map((d) => d.id),
    ).toEqual(['dev1', 'dev2']);
    const err = await gw.expectMessage<State>(client, 'zephyr2mqtt/spare/set/error');
    await client.publishAsync('zephyr2mqtt/spare/set', '{"on":true}');
    expect((await err.message).error).toBe('device "spare" is disabled in the config');
    expect(adapter.current().commands).toEqual([]);
  });

  it('routes /get and publishes the read values into the state', async () => {
    const { gw, client } = await start();
    const set = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.level === 7);
    await client.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ level: 7 }));
    await set.message;
    const got = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => 'other' in m);
    await client.publishAsync('zephyr2mqtt/dev1/get', JSON.stringify({ level: '', other: '' }));
    expect(await got.message).toMatchObject({ level: 7, other: null });
  });

  it('drops values too deeply nested to write as JSON, keeping the state as it was', async () => {
    const { gw, adapter, client } = await start();
    const ctx = adapter.current().ctx;
    const first = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.temperature === 21.5);
    ctx.telemetry('dev1', { temperature: 21.5 });
    await first.message;
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = [deep];
    expect(() => ctx.telemetry('dev1', { deep })).not.toThrow();
    const next = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.humidity === 40);
    ctx.telemetry('dev1', { humidity: 40 });
    const state = await next.message;
    expect(state).toMatchObject({ temperature: 21.5, humidity: 40 });
    expect(state).not.toHaveProperty('deep');
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('zephyr2mqtt_decode_errors_total{adapter="test",reason="unserializable"} 1');
  });

  it('rate-limits decode warnings per device: a noisy device does not hide another one', async () => {
    const lines: Array<{ device?: string; msg?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices }, { adapterModules: [adapter.module], logger });
    const ctx = adapter.current().ctx;
    for (let i = 0; i < 50; i++) ctx.decodeError('bad_frame', { deviceId: 'dev1', error: `noise ${i}` });
    ctx.decodeError('bad_frame', { deviceId: 'dev2', error: 'the one that matters' });
    // Free-text reasons share one window (as they share the 'other' label), not one window each.
    for (let i = 0; i < 50; i++) ctx.decodeError(`bad MIC ${i} from the device`, { deviceId: 'dev2' });
    const warnings = lines.filter((l) => l.msg === 'could not decode device data');
    expect(warnings.filter((l) => l.device === 'dev2')).toHaveLength(6);
    expect(warnings.filter((l) => l.device === 'dev1')).toHaveLength(5);
  });

  it('keeps decode-error labels to fixed words: free text an adapter passes as a reason is counted as "other"', async () => {
    const { gw, adapter } = await start();
    const ctx = adapter.current().ctx;
    for (let i = 0; i < 20; i++) ctx.decodeError(`bad MIC ${i.toString(16)} from the device`, { deviceId: 'dev1' });
    ctx.decodeError('bad_frame', { deviceId: 'dev1' });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    const series = metrics.split('\n').filter((l) => l.startsWith('zephyr2mqtt_decode_errors_total{adapter="test"'));
    expect(series.sort()).toEqual([
      'zephyr2mqtt_decode_errors_total{adapter="test",reason="bad_frame"} 1',
      'zephyr2mqtt_decode_errors_total{adapter="test",reason="other"} 20',
    ]);
  });

  it('publishes per-property topics when api.property_topics is on, skipping reserved names', async () => {
    const { gw, adapter, client } = await start({ api: { property_topics: true } });
    const seen = new Map<string, string>();
    client.on('message', (t, p) => seen.set(t, p.toString()));
    await client.subscribeAsync('zephyr2mqtt/dev1/+');
    const meta = await gw.expectMessage(client, 'zephyr2mqtt/dev1/meta');
    adapter
      .current()
      .ctx.telemetry('dev1', { temperature: 22.25, availability: 'bogus', response: 'x', meta: { a: 1 } });
    expect(await meta.message).toEqual({ a: 1 });
    expect(seen.get('zephyr2mqtt/dev1/temperature')).toBe('22.25');
    expect(seen.get('zephyr2mqtt/dev1/availability')).toBe('{"state":"online"}');
    expect(seen.has('zephyr2mqtt/dev1/response')).toBe(false); // the CoAP adapter's answers to /set and /get
  });

  it('forwards transport requests to the device adapter', async () => {
    const { gw, client } = await start();
    const ok = await gw.request(client, 'device/echo', { device: 'dev1', x: 1 });
    expect(ok).toMatchObject({ status: 'ok', data: { device: 'dev1', data: { device: 'dev1', x: 1 } } });
    const unknown = await gw.request(client, 'device/echo', { device: 'nope' });
    expect(unknown).toMatchObject({ status: 'error', error: 'unknown device "nope"' });
    // The adapter's own failure counts as a command error of that adapter.
    const failed = await gw.request(client, 'device/reboot', { device: 'dev1' });
    expect(failed).toMatchObject({ status: 'error', error: 'no request "reboot"' });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('zephyr2mqtt_command_errors_total{adapter="test"} 1');
  });

  it('restarts a crashed adapter with back-off while the rest keeps serving', async () => {
    const { gw, adapter, client } = await start();
    const first = adapter.current();
    const failed = await gw.expectMessage<AdapterEvent>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'adapter_status',
    );
    const running = await gw.expectMessage<AdapterEvent>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'adapter_status' && e.data.state === 'running',
    );
    first.ctx.fatal?.(new Error('socket died'));
    expect(await failed.message).toEqual({
      type: 'adapter_status',
      data: { adapter: 'test', state: 'failed', reason: 'socket died' },
    });
    expect(first.stopped).toBe(true);
    const info = await gw.request(client, 'info');
    expect((info.data as { adapters: Record<string, unknown> }).adapters.test).toEqual({
      state: 'failed',
      reason: 'socket died',
    });
    // The broker and API keep working while the adapter is down.
    const err = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1/set/error');
    await client.publishAsync('zephyr2mqtt/dev1/set', '{"a":1}');
    expect((await err.message).error).toBe('the test adapter is not running');
    // Back in service after the first back-off (1 s).
    await running.message;
    expect(adapter.instances).toHaveLength(2);
    const after = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.after === 'restart');
    adapter.current().ctx.telemetry('dev1', { after: 'restart' });
    await after.message;
    const metrics = await fetch(`${gw.httpUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/zephyr2mqtt_adapter_restarts_total\{adapter="test"\} 1/);
  });

  it('retries an adapter whose start fails and reports it failed meanwhile', async () => {
    const { gw, adapter, client } = await start({ adapters: { test: { fail_starts: 1 } } });
    // The first start already failed; the retry comes 1 s later.
    const running = await gw.expectMessage<AdapterEvent>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'adapter_status' && e.data.state === 'running',
    );
    const readyz = await fetch(`${gw.httpUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { reasons: string[] }).reasons).toEqual([
      'test: failed (test adapter start failure 1)',
    ]);
    await running.message;
    expect(adapter.instances).toHaveLength(2);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);
  });
});
