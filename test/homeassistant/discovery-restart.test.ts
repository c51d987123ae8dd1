// Discovery configs are retained, so they outlive the run that announced them: config changes made while the
// gateway was stopped must clear the ones no longer wanted at the next start, and keep the rest (event entities too,
// although the presses that announced them are not in the restored state).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type Started = { gw: TestGateway; client: MqttClient; adapter: ReturnType<typeof createTestAdapterModule> };

const configTopic = (component: string, device: string, property: string, gatewayId = 'test-gw') =>
  `homeassistant/${component}/${gatewayId}_${device}/${property}/config`;

describe('Home Assistant discovery across a restart', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ha-restart-'));
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A gateway on the shared data dir, with discovery on. */
  async function start(
    devices: Array<Record<string, unknown>>,
    gateway: Record<string, unknown> = {},
  ): Promise<Started> {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { gateway: { data_dir: dataDir, ...gateway }, homeassistant: { enabled: true }, devices },
      { adapterModules: [adapter.module] },
    );
    return { gw, adapter, client: await gw.connect() };
  }

  async function stop(s: Started): Promise<void> {
    await s.gw.stop();
    gw = undefined;
  }

  /** Sends a report and waits for its configs and for the state it leaves (a press is not kept in the state). */
  async function announce(s: Started, device: string, report: Record<string, unknown>, topics: string[]) {
    const lasting = Object.keys(report).filter((k) => !k.startsWith('button'));
    const state = await s.gw.expectMessage<Record<string, unknown>>(s.client, `${s.gw.baseTopic}/${device}`, (st) =>
      Object.keys(report).every((k) => lasting.includes(k) === k in st),
    );
    const configs = await Promise.all(topics.map((t) => s.gw.expectMessage(s.client, t, (p) => typeof p === 'object')));
    s.adapter.current().ctx.telemetry(device, report);
    await Promise.all([state.message, ...configs.map((c) => c.message)]);
  }

  /** Every retained discovery config in the broker, by topic. */
  function retainedConfigs(s: Started): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const { topic, payload } of s.gw.gateway.broker.retainedMessages())
      if (/^homeassistant\/[^/]+\/[^/]+\/[^/]+\/config$/.test(topic)) out.set(topic, JSON.parse(payload.toString()));
    return out;
  }

  it('homeassistant: false set while the gateway was stopped: its entities are cleared at the next start', async () => {
    const first = await start([{ id: 'dev1', transport: 'test' }]);
    const topics = [configTopic('sensor', 'dev1', 'temperature'), configTopic('event', 'dev1', 'button')];
    await announce(first, 'dev1', { temperature: 20, button: 'single' }, topics);
    await stop(first);

    const second = await start([{ id: 'dev1', transport: 'test', homeassistant: false }]);
    expect([...retainedConfigs(second).keys()].filter((t) => t.includes('test-gw_dev1'))).toEqual([]);
  });

  it('<property>: null or filtered_attributes set while the gateway was stopped: those entities are cleared, the others kept', async () => {
    const first = await start([{ id: 'dev1', transport: 'test' }]);
    const temperature = configTopic('sensor', 'dev1', 'temperature');
    const humidity = configTopic('sensor', 'dev1', 'humidity');
    const pressure = configTopic('sensor', 'dev1', 'pressure');
    const button = configTopic('event', 'dev1', 'button');
    const button2 = configTopic('event', 'dev1', 'button_2');
    const report = { temperature: 20, humidity: 40, pressure: 1000, button: 'single', button_2: 'press' };
    await announce(first, 'dev1', report, [temperature, humidity, pressure, button, button2]);
    await stop(first);

    const homeassistant = { humidity: null, button: null };
    const second = await start([{ id: 'dev1', transport: 'test', homeassistant, filtered_attributes: ['^pressure$'] }]);
    const configs = retainedConfigs(second);
    expect(configs.has(humidity)).toBe(false);
    expect(configs.has(pressure)).toBe(false);
    expect(configs.has(button)).toBe(false);
    expect(configs.get(temperature)).toMatchObject({ unique_id: 'test-gw_dev1_temperature' });
    expect(configs.get(button2)).toMatchObject({ state_topic: 'zephyr2mqtt/dev1/button_2/event' });
  });

  it('a device removed from the config while the gateway was stopped: its entities are cleared', async () => {
    const devices = [
      { id: 'dev1', transport: 'test' },
      { id: 'dev2', transport: 'test' },
    ];
    const first = await start(devices);
    await announce(first, 'dev1', { temperature: 20 }, [configTopic('sensor', 'dev1', 'temperature')]);
    const dev2 = [configTopic('sensor', 'dev2', 'temperature'), configTopic('event', 'dev2', 'action')];
    await announce(first, 'dev2', { temperature: 21, action: 'single' }, dev2);
    await stop(first);

    const second = await start([{ id: 'dev1', transport: 'test' }]);
    const configs = retainedConfigs(second);
    expect([...configs.keys()].filter((t) => t.includes('test-gw_dev2'))).toEqual([]);
    expect(configs.has(configTopic('sensor', 'dev1', 'temperature'))).toBe(true);
  });

  it('keeps the event entity of an unchanged device, and re-announces it when Home Assistant comes online', async () => {
    const devices = [
      { id: 'dev1', transport: 'test' },
      { id: 'dev2', transport: 'test' },
    ];
    const first = await start(devices);
    const event = configTopic('event', 'dev1', 'button_2');
    await announce(first, 'dev1', { temperature: 20, button_2: 'press' }, [event]);
    const last = configTopic('sensor', 'dev2', 'temperature');
    await announce(first, 'dev2', { temperature: 21 }, [last]);
    await stop(first);

    const second = await start(devices);
    expect(retainedConfigs(second).get(event)).toMatchObject({ state_topic: 'zephyr2mqtt/dev1/button_2/event' });
    // A birth message re-sends every config, device by device in config order: once dev2's has come, dev1's are
    // all in. Only fresh publishes reach a live subscriber with retain=0.
    const fresh: string[] = [];
    const dev2Sent = new Promise<void>((resolve) => {
      second.client.on('message', (topic, payload, packet) => {
        if (packet.retain || payload.length === 0) return;
        fresh.push(topic);
        if (topic === last) resolve();
      });
    });
    await second.client.subscribeAsync('homeassistant/+/+/+/config', { qos: 1 });
    await second.client.publishAsync('homeassistant/status', 'online');
    await dev2Sent;
    expect(fresh).toContain(event);
  });

  it("leaves other gateways' and other software's configs under the same prefix alone", async () => {
    // Gateway `test-gw_b`'s device `dev1` has the object id `test-gw_b_dev1`, which `test-gw` would also give a
    // device `b_dev1`: the prefix alone does not tell whose it is.
    const other = await start([{ id: 'dev1', transport: 'test' }], { id: 'test-gw_b' });
    const otherGateway = configTopic('sensor', 'dev1', 'temperature', 'test-gw_b');
    await announce(other, 'dev1', { temperature: 19 }, [otherGateway]);
    const foreign = configTopic('sensor', 'lamp', 'temperature');
    const foreignConfig = { name: 'Lamp', state_topic: 'elsewhere/lamp', device: { identifiers: ['elsewhere_lamp'] } };
    await other.client.publishAsync(foreign, JSON.stringify(foreignConfig), { retain: true, qos: 1 });
    await stop(other);

    const first = await start([{ id: 'dev2', transport: 'test' }]);
    await announce(first, 'dev2', { temperature: 21 }, [configTopic('sensor', 'dev2', 'temperature')]);
    await stop(first);

    const second = await start([]);
    const configs = retainedConfigs(second);
    expect(configs.has(configTopic('sensor', 'dev2', 'temperature'))).toBe(false);
    expect(configs.get(otherGateway)).toMatchObject({ unique_id: 'test-gw_b_dev1_temperature' });
    expect(configs.has('homeassistant/binary_sensor/test-gw_b_bridge/connection_state/config')).toBe(true);
    expect(configs.get(foreign)).toEqual(foreignConfig);
    expect(configs.has('homeassistant/binary_sensor/test-gw_bridge/connection_state/config')).toBe(true);
  });

  it('a renamed base_topic: event entities are announced again with their new state topic', async () => {
    const first = await start([{ id: 'dev1', transport: 'test' }]);
    const event = configTopic('event', 'dev1', 'button');
    await announce(first, 'dev1', { temperature: 20, button: 'single' }, [event]);
    await stop(first);

    const second = await start([{ id: 'dev1', transport: 'test' }], { base_topic: 'home/zephyr' });
    expect(retainedConfigs(second).get(event)).toMatchObject({ state_topic: 'home/zephyr/dev1/button/event' });
  });

  it('a device with retain: false keeps its entities (unknown until it reports), but loses those turned off', async () => {
    const first = await start([{ id: 'dev1', transport: 'test', retain: false }]);
    const temperature = configTopic('sensor', 'dev1', 'temperature');
    const humidity = configTopic('sensor', 'dev1', 'humidity');
    await announce(first, 'dev1', { temperature: 20, humidity: 40 }, [temperature, humidity]);
    await stop(first);

    const second = await start([{ id: 'dev1', transport: 'test', retain: false, homeassistant: { humidity: null } }]);
    const configs = retainedConfigs(second);
    expect(second.gw.gateway.devices.get('dev1')?.state).toEqual({});
    expect(configs.has(temperature)).toBe(true);
    expect(configs.has(humidity)).toBe(false);
  });
});
