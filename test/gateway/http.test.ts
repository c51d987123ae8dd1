// /healthz, /readyz and /metrics of a running gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('HTTP health and metrics', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('/healthz and /readyz report the broker listeners and adapter states', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({}, { adapterModules: [adapter.module] });
    const health = await fetch(`${gw.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; listeners: Array<{ type: string; port: number }> };
    expect(body.status).toBe('ok');
    expect(body.listeners).toEqual([{ type: 'mqtt', host: '127.0.0.1', port: Number(new URL(gw.mqttUrl).port) }]);
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      reasons: [],
      adapters: { test: { state: 'running' } },
    });
    expect((await fetch(`${gw.httpUrl}/nope`)).status).toBe(404);
  });

  it('/metrics counts messages per adapter and direction, decode errors, devices and clients', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const ctx = adapter.current().ctx;
    const state = await gw.expectMessage(client, 'zephyr2mqtt/dev1', (m: { t?: number }) => m.t === 2);
    // Adapters count the messages on their wire; the core counts none itself (telemetry was counted twice).
    ctx.countMessage('in');
    ctx.telemetry('dev1', { t: 1 });
    ctx.countMessage('in');
    ctx.telemetry('dev1', { t: 2 });
    await state.message;
    ctx.decodeError('bad_frame', { deviceId: 'dev1', bytes: new Uint8Array([1, 2, 3]) });
    ctx.countMessage('out');
    const res = await fetch(`${gw.httpUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('zephyr2mqtt_messages_total{adapter="test",direction="in"} 2');
    expect(text).toContain('zephyr2mqtt_messages_total{adapter="test",direction="out"} 1');
    expect(text).toContain('zephyr2mqtt_decode_errors_total{adapter="test",reason="bad_frame"} 1');
    expect(text).toContain('zephyr2mqtt_devices_online 1');
    expect(text).toContain('zephyr2mqtt_devices_configured 1');
    expect(text).toContain('# TYPE zephyr2mqtt_broker_persistence_errors_total counter');
    expect(text).toContain('zephyr2mqtt_broker_clients 1');
    expect(text).toMatch(/^zephyr2mqtt_event_loop_lag_p99_seconds \d/m);
    expect(text).toContain('zephyr2mqtt_process_resident_memory_bytes');
  });
});
