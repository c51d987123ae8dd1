// NTP stepping the wall clock (a board without a real-time clock boots at 1970, then is set forward, or a wrong
// time is corrected back) must change only the times the gateway shows, never how long it waits.
// Fake Date and performance advance with real time; vi.setSystemTime steps Date alone (performance.now() stays
// monotonic) and vi.advanceTimersByTime moves both, as if that much time had passed at once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

const HOUR = 3_600_000;

const stepClock = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe('wall-clock steps', () => {
  let gw: TestGateway | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    vi.useRealTimers();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  async function start(devices: Array<Record<string, unknown>>, gateway: Record<string, unknown> = {}) {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], shouldAdvanceTime: true });
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices, gateway }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    return { gw, ctx: adapter.current().ctx, client };
  }

  const availability = (g: TestGateway, client: MqttClient, id: string, state: string) =>
    g.waitForMessage(client, `zephyr2mqtt/${id}/availability`, (p: { state?: string }) => p.state === state);

  const announcement = (g: TestGateway, client: MqttClient) =>
    g.expectMessage(client, 'zephyr2mqtt/bridge/event', (e: { type?: string }) => e.type === 'device_seen_unknown');

  it('a step forward does not end the availability of a device heard moments ago', async () => {
    const { gw, ctx, client } = await start([
      { id: 'hall', transport: 'test', availability_timeout: 600 },
      { id: 'sleeper', transport: 'test', availability_timeout: 1 },
      // Quiet for longer than its timeout: its offline shows that availability checks ran after the step.
      { id: 'pulse', transport: 'test', availability_timeout: 1 },
    ]);
    ctx.telemetry('hall', { t: 1 });
    ctx.telemetry('pulse', { t: 1 });
    ctx.availability('sleeper', true, 60_000);
    const pulseOffline = availability(gw, client, 'pulse', 'offline');
    stepClock(2 * HOUR);
    vi.advanceTimersByTime(1_500);
    await pulseOffline;
    expect(gw.gateway.devices.get('hall')?.online).toBe(true);
    expect(gw.gateway.devices.get('sleeper')?.online).toBe(true);
  });

  it('a step back does not extend the availability of a silent device past its timeout', async () => {
    const { gw, ctx, client } = await start([
      { id: 'hall', transport: 'test', availability_timeout: 1 },
      { id: 'sleeper', transport: 'test', availability_timeout: 1 },
    ]);
    ctx.telemetry('hall', { t: 1 });
    ctx.availability('sleeper', true, 2_000);
    const offline = Promise.all([
      availability(gw, client, 'hall', 'offline'),
      availability(gw, client, 'sleeper', 'offline'),
    ]);
    stepClock(-HOUR);
    vi.advanceTimersByTime(2_500);
    await offline;
    expect(gw.gateway.devices.get('hall')?.lastSeen?.getTime()).toBeGreaterThan(Date.now());
  });

  it('a config reload after a step back does not wait for the clock to catch up', async () => {
    const { gw, client } = await start([{ id: 'hall', transport: 'test' }]);
    await gw.gateway.publishDevices();
    stepClock(-HOUR);
    expect(await gw.request(client, 'config/reload', {}, 5_000)).toMatchObject({ status: 'ok' });
  });

  it('permit_join and its remaining time ignore steps of the wall clock', async () => {
    const { gw, ctx, client } = await start([]);
    expect(await gw.request(client, 'permit_join', { value: 120 })).toMatchObject({ status: 'ok' });
    stepClock(2 * HOUR);
    expect(gw.gateway.permitJoin()).toBe(true);
    expect(gw.gateway.info().permit_join_timeout).toBeGreaterThanOrEqual(119);
    const seen = await announcement(gw, client);
    ctx.deviceSeen({ transport: 'test', address: 'AA' });
    await seen.message;
    stepClock(-4 * HOUR);
    expect(gw.gateway.info()).toMatchObject({ permit_join: true });
    expect(gw.gateway.info().permit_join_timeout).toBeLessThanOrEqual(120);
  });

  it('an unknown device is announced again a minute later, also after a step back', async () => {
    const { gw, ctx, client } = await start([]);
    gw.gateway.setPermitJoin(3_600);
    const first = await announcement(gw, client);
    ctx.deviceSeen({ transport: 'test', address: 'AA' });
    await first.message;
    stepClock(-HOUR);
    vi.advanceTimersByTime(61_000);
    const again = await announcement(gw, client);
    ctx.deviceSeen({ transport: 'test', address: 'AA' });
    await again.message;
  });

  describe('restoring availability at start', () => {
    /** Leaves each device's retained state with `last_seen` behind, as a crashed run would. */
    async function retainStates(states: Record<string, string>): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'z2m-clock-'));
      const crashed = await startTestGateway({ gateway: { data_dir: dir } });
      const client = await crashed.connect();
      for (const [id, lastSeen] of Object.entries(states))
        await client.publishAsync(`zephyr2mqtt/${id}`, JSON.stringify({ t: 1, last_seen: lastSeen }), {
          retain: true,
          qos: 1,
        });
      await crashed.stop();
      return dir;
    }

    it('does not trust a last_seen in the future or from before the clock was set', async () => {
      const dayAgo = new Date(Date.now() - 24 * HOUR).toISOString();
      dataDir = await retainStates({ hall: dayAgo, early: '1970-01-01T00:09:30.000Z' });
      const devices = [
        { id: 'hall', transport: 'test', availability_timeout: 600 },
        { id: 'early', transport: 'test', availability_timeout: 600 },
      ];
      vi.useFakeTimers({ toFake: ['Date', 'performance'], shouldAdvanceTime: true });
      vi.setSystemTime(Date.parse('1970-01-01T00:10:00.000Z')); // booted without a real-time clock
      const adapter = createTestAdapterModule();
      gw = await startTestGateway({ gateway: { data_dir: dataDir }, devices }, { adapterModules: [adapter.module] });
      const client = await gw.connect();
      expect(await gw.waitForMessage(client, 'zephyr2mqtt/hall/availability')).toEqual({ state: 'offline' });
      expect(await gw.waitForMessage(client, 'zephyr2mqtt/early/availability')).toEqual({ state: 'offline' });
      // Shown as it was, only not trusted for availability.
      expect(gw.gateway.devices.get('hall')?.lastSeen?.toISOString()).toBe(dayAgo);
    });

    it('counts the timeout of a trusted last_seen on the monotonic clock', async () => {
      const recent = new Date(Date.now() - 500).toISOString();
      dataDir = await retainStates({ hall: recent });
      const devices = [
        { id: 'hall', transport: 'test', availability_timeout: 600 },
        { id: 'pulse', transport: 'test', availability_timeout: 1 }, // availability checked every 250 ms
      ];
      const { gw, client } = await start(devices, { data_dir: dataDir });
      expect(await gw.waitForMessage(client, 'zephyr2mqtt/hall/availability')).toEqual({ state: 'online' });
      const offline = availability(gw, client, 'hall', 'offline');
      vi.advanceTimersByTime(601_000);
      await offline;
    });
  });
});
