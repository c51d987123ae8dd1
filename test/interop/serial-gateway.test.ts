// Black-box: the real gateway with the serial adapter on a socat pty; everything observed through MQTT topics.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type PtyPair, startPtyPair } from '../sim/serial/pty-pair.js';
import { ZephyrDeviceSim } from '../sim/serial/zephyr-device.js';

let dir: string;
let pty: PtyPair;
let gw: TestGateway;
let client: MqttClient;
let sim: ZephyrDeviceSim;
const base = 'zephyr2mqtt';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serial-gw-'));
  pty = await startPtyPair(dir);
  gw = await startTestGateway({
    adapters: { serial: { enabled: true, scan_interval_ms: 200, reopen_backoff: { initial_ms: 50, max_ms: 500 } } },
    devices: [{ id: 'board', transport: 'serial', path: pty.gatewayPath, smp: { timeout_ms: 2000 } }],
  });
  client = await gw.connect();
  // Subscribed up front: log lines and sub-topic publishes are not retained.
  await client.subscribeAsync([`${base}/board/log`, `${base}/board/events/#`], { qos: 1 });
  await gw.waitForMessage(client, `${base}/board/availability`, (p: { state: string }) => p.state === 'online');
  sim = await ZephyrDeviceSim.open(pty.devicePath);
});

afterAll(async () => {
  await sim?.close();
  await gw?.stop();
  await pty?.unplug();
  rmSync(dir, { recursive: true, force: true });
});

describe('serial device through MQTT', () => {
  it('publishes NDJSON telemetry as retained state and console text on /log', async () => {
    const state = gw.waitForMessage<Record<string, unknown>>(client, `${base}/board`, (p) => p.temperature === 21.5);
    const log = gw.waitForMessage<string>(client, `${base}/board/log`, (p) => String(p).includes('sensor ready'));
    await sim.log('inf', 'main', 'sensor ready');
    await sim.ndjson({ temperature: 21.5, humidity: 40 });
    expect(await state).toMatchObject({ temperature: 21.5, humidity: 40 });
    expect(await log).toBe('[00:00:01.234,567] <inf> main: sensor ready');
  });

  it('publishes {"topic","payload"} lines below the device topic', async () => {
    const msg = gw.waitForMessage<Record<string, unknown>>(client, `${base}/board/events/button`);
    await sim.ndjson({ topic: 'events/button', payload: { pressed: true } });
    expect(await msg).toEqual({ pressed: true });
  });

  it('writes <base>/<device>/set to the device as one NDJSON line', async () => {
    const line = new Promise<string>((resolve) => sim.once('line', resolve));
    await client.publishAsync(`${base}/board/set`, JSON.stringify({ led: 'on' }));
    expect(JSON.parse(await line)).toEqual({ led: 'on' });
  });

  it('answers bridge/request/device/smp with the decoded response, and reports errors', async () => {
    const res = await gw.request(client, 'device/smp', { device: 'board', command: 'echo', data: { d: 'hi' } });
    expect(res).toMatchObject({ status: 'ok', data: { command: 'echo', rc: 0, data: { r: 'hi' } } });
    const img = await gw.request(client, 'device/smp', { device: 'board', group: 1, id: 0, op: 'read' });
    expect(img).toMatchObject({ status: 'ok', data: { data: { images: [{ slot: 0, version: '1.2.3' }] } } });
    const bad = await gw.request(client, 'device/smp', { device: 'board', command: 'no_such_command' });
    expect(bad).toMatchObject({ status: 'error', error: expect.stringMatching(/invalid smp request/) });
  });

  it('reports offline on unplug and online again after re-plug', async () => {
    const offline = gw.waitForMessage(
      client,
      `${base}/board/availability`,
      (p: { state: string }) => p.state === 'offline',
    );
    await sim.close();
    await pty.unplug();
    await offline;
    const online = gw.waitForMessage(
      client,
      `${base}/board/availability`,
      (p: { state: string }) => p.state === 'online',
      8000,
    );
    await pty.plug();
    await online;
    sim = await ZephyrDeviceSim.open(pty.devicePath);
    const state = gw.waitForMessage<Record<string, unknown>>(client, `${base}/board`, (p) => p.temperature === 18);
    await sim.ndjson({ temperature: 18 });
    expect(await state).toMatchObject({ temperature: 18 });
  });
});
