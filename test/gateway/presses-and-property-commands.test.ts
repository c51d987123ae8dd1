// Presses (button/action) never stay in the retained state, not even across a restart, and Zigbee2MQTT's
// <device>/set/<property> and /get/<property> reach the device's adapter.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type State = Record<string, unknown>;

describe('presses and property commands', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-presses-'));
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start() {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { gateway: { data_dir: dataDir }, devices: [{ id: 'porch', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    return { gw, adapter, client: await gw.connect() };
  }

  /** Every message on `topic` with its retain flag, in order. */
  function record(client: MqttClient, topic: string): Array<{ state: State; retain: boolean }> {
    const seen: Array<{ state: State; retain: boolean }> = [];
    client.on('message', (t, payload, packet) => {
      if (t === topic && payload.length > 0)
        seen.push({ state: JSON.parse(payload.toString()), retain: packet.retain });
    });
    return seen;
  }

  it('a press goes out once in a live state message and as an event; the retained state never holds it', async () => {
    const { gw, adapter, client } = await start();
    await client.subscribeAsync('zephyr2mqtt/porch/#');
    const live = record(client, 'zephyr2mqtt/porch');
    const event = gw.waitForMessage<State>(client, 'zephyr2mqtt/porch/action/event');
    const settled = await gw.expectMessage<State>(
      client,
      'zephyr2mqtt/porch',
      (s) => s.temperature === 23 && !s.action,
    );
    adapter.current().ctx.telemetry('porch', { temperature: 23, action: 'double' });
    expect(await event).toEqual({ event_type: 'double' });
    await settled.message;
    expect(live.map((m) => [m.state.action, m.retain])).toEqual([
      ['double', false],
      [undefined, false], // a live subscriber sees the retained copy as a normal message
    ]);

    const late = await gw.connect();
    const retained = await gw.waitForMessage<State>(late, 'zephyr2mqtt/porch');
    expect(retained).toMatchObject({ temperature: 23 });
    expect(retained).not.toHaveProperty('action');
  });

  it('a press retained by an older version is not restored after a restart', async () => {
    const first = await start();
    await first.client.publishAsync('zephyr2mqtt/porch', JSON.stringify({ temperature: 1, button_2: 'double' }), {
      qos: 1,
      retain: true,
    });
    await gw!.stop();
    gw = undefined;

    const second = await start();
    const next = await second.gw.expectMessage<State>(second.client, 'zephyr2mqtt/porch', (s) => s.temperature === 2);
    second.adapter.current().ctx.telemetry('porch', { temperature: 2 });
    expect(await next.message).not.toHaveProperty('button_2');
  });

  it('<device>/set/<property> and /get/<property> become {"<property>": value} commands', async () => {
    const { gw, adapter, client } = await start();
    await client.publishAsync('zephyr2mqtt/porch/set/state', 'ON');
    await client.publishAsync('zephyr2mqtt/porch/set/brightness', '128');
    await client.publishAsync('zephyr2mqtt/porch/set/color', '{"x":0.3,"y":0.4}');
    await client.publishAsync('zephyr2mqtt/porch/get/temperature', '');
    await expect.poll(() => adapter.current().commands.length).toBe(4);
    expect(adapter.current().commands.map((c) => [c.deviceId, c.cmd.kind, c.cmd.payload])).toEqual([
      ['porch', 'set', { state: 'ON' }],
      ['porch', 'set', { brightness: 128 }],
      ['porch', 'set', { color: { x: 0.3, y: 0.4 } }],
      ['porch', 'get', { temperature: '' }],
    ]);
    // The gateway's own /set/error replies are not commands, and an unknown device gets one.
    const error = gw.waitForMessage<{ error: string }>(client, 'zephyr2mqtt/ghost/set/error');
    await client.publishAsync('zephyr2mqtt/ghost/set/state', 'ON');
    expect((await error).error).toBe('unknown device "ghost"');
    expect(adapter.current().commands).toHaveLength(4);
  });
});
