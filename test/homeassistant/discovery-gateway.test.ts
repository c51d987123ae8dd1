import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

const configTopic = 'homeassistant/sensor/test-gw_dev1/temperature/config';
const batteryTopic = 'homeassistant/sensor/test-gw_dev1/battery/config';
const humidityTopic = 'homeassistant/sensor/test-gw_dev1/humidity/config';

describe('Home Assistant discovery through the gateway', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('announces known properties, re-announces on HA birth, and clears them when the device is removed', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', name: 'Kitchen', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const announced = gw.waitForMessage<Record<string, unknown>>(client, configTopic);
    adapter.current().ctx.telemetry('dev1', { temperature: 20.5, mystery: 1 });
    expect(await announced).toMatchObject({
      unique_id: 'test-gw_dev1_temperature',
      state_topic: 'zephyr2mqtt/dev1',
      device: { name: 'Kitchen' },
    });

    // Only a fresh publish reaches a live subscriber with retain=0: the retained copy alone cannot pass this.
    const republished = new Promise<Record<string, unknown>>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === configTopic && !packet.retain && payload.length > 0) resolve(JSON.parse(payload.toString()));
      });
    });
    await client.subscribeAsync(configTopic);
    await client.publishAsync('homeassistant/status', 'online');
    expect((await republished).unique_id).toBe('test-gw_dev1_temperature');

    const cleared = gw.waitForMessage<string>(client, configTopic, (p) => p === '');
    const res = await gw.request(client, 'device/remove', { id: 'dev1' });
    expect(res.status).toBe('ok');
    expect(await cleared).toBe('');
  });

  it('clears the entities of properties dropped to keep the state within api.max_state_properties', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        homeassistant: { enabled: true },
        api: { max_state_properties: 8 },
        devices: [{ id: 'dev1', transport: 'test' }],
      },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const topicOf = (i: number) => `homeassistant/sensor/test-gw_dev1/temperature_${i}/config`;
    const configs = new Map<string, string>();
    client.on('message', (topic, payload) => configs.set(topic, payload.toString()));
    await client.subscribeAsync('homeassistant/sensor/test-gw_dev1/+/config');
    // A device that names a new numbered sensor in every report: each is an entity while it is in the state.
    for (let i = 0; i < 40; i++) adapter.current().ctx.telemetry('dev1', { [`temperature_${i}`]: i });
    await expect.poll(() => configs.get(topicOf(39))?.length ?? 0).toBeGreaterThan(0);
    await expect.poll(() => configs.get(topicOf(0))).toBe('');
    const live = [...configs].filter(([, payload]) => payload !== '').map(([topic]) => topic);
    expect(live.sort()).toEqual(Array.from({ length: 8 }, (_, j) => topicOf(32 + j)).sort());
    // And the broker keeps no retained config for the dropped ones.
    expect(gw.gateway.broker.retained(topicOf(0))).toBeUndefined();
  });

  it("applies a device's homeassistant overrides, and clears its entities when it turns discovery off", async () => {
    const adapter = createTestAdapterModule();
    const homeassistant = {
      entity_category: 'diagnostic',
      name: 'not for every entity',
      device: { suggested_area: 'Kitchen' },
      temperature: { name: 'Outside', icon: 'mdi:sun-thermometer', state_class: null, unique_id: 'mine' },
      humidity: null,
    };
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', transport: 'test', homeassistant }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const configs = new Map<string, string>();
    client.on('message', (topic, payload) => configs.set(topic, payload.toString()));
    await client.subscribeAsync('homeassistant/sensor/test-gw_dev1/+/config');
    const battery = gw.waitForMessage<Record<string, unknown>>(client, batteryTopic);
    adapter.current().ctx.telemetry('dev1', { temperature: 20.5, humidity: 40, battery: 90 });
    expect(await battery).toMatchObject({
      name: 'Battery',
      entity_category: 'diagnostic',
      device: { name: 'dev1', suggested_area: 'Kitchen' },
    });
    await expect.poll(() => configs.has(configTopic)).toBe(true);
    const temperature = JSON.parse(configs.get(configTopic) ?? '{}') as Record<string, unknown>;
    expect(temperature).toMatchObject({
      name: 'Outside',
      icon: 'mdi:sun-thermometer',
      unique_id: 'test-gw_dev1_temperature',
      entity_category: 'diagnostic',
    });
    expect(temperature).not.toHaveProperty('state_class');
    expect(gw.gateway.broker.retained(humidityTopic)).toBeUndefined();

    const cleared = gw.waitForMessage<string>(client, batteryTopic, (p) => p === '');
    const off = { id: 'dev1', options: { homeassistant: false } };
    expect((await gw.request(client, 'device/options', off)).status).toBe('ok');
    await cleared;
    await expect.poll(() => configs.get(configTopic)).toBe('');
    expect(gw.gateway.broker.retained(configTopic)).toBeUndefined();
    // Later reports announce nothing.
    const state = gw.waitForMessage(client, 'zephyr2mqtt/dev1', (m: { battery?: number }) => m.battery === 80);
    adapter.current().ctx.telemetry('dev1', { battery: 80 });
    await state;
    expect(gw.gateway.broker.retained(batteryTopic)).toBeUndefined();
  });

  it('announces a renamed device under its new id at once, without waiting for its next report', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const announced = gw.waitForMessage(client, configTopic);
    adapter.current().ctx.telemetry('dev1', { temperature: 20.5 });
    await announced;
    const renamedTopic = 'homeassistant/sensor/test-gw_hall/temperature/config';
    const renamed = await gw.expectMessage<Record<string, unknown>>(client, renamedTopic, (p) => typeof p === 'object');
    expect((await gw.request(client, 'device/rename', { from: 'dev1', to: 'hall' })).status).toBe('ok');
    expect(await renamed.message).toMatchObject({
      unique_id: 'test-gw_hall_temperature',
      state_topic: 'zephyr2mqtt/hall',
    });
  });

  it('publishes a button press once as an HA event, and later state messages do not repeat it', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const eventConfig = 'homeassistant/event/test-gw_dev1/button/config';
    const discovered = gw.waitForMessage<Record<string, unknown>>(client, eventConfig);
    const pressed = await gw.expectMessage(client, 'zephyr2mqtt/dev1/button/event');
    const withPress = await gw.expectMessage<Record<string, unknown>>(client, 'zephyr2mqtt/dev1', (s) => 'button' in s);
    adapter.current().ctx.telemetry('dev1', { button: 'single', temperature: 20 });
    expect(await pressed.message).toEqual({ event_type: 'single' });
    expect(await withPress.message).toMatchObject({ button: 'single', temperature: 20 });
    expect(await discovered).toMatchObject({ state_topic: 'zephyr2mqtt/dev1/button/event' });
    expect((await discovered).value_template).toBeUndefined();
    const next = await gw.expectMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/dev1',
      (s) => s.temperature === 21,
    );
    adapter.current().ctx.telemetry('dev1', { temperature: 21 });
    expect(await next.message).not.toHaveProperty('button');
    // A second button (BTHome numbers them) is momentary too, and an HA event with BTHome's event types.
    const second = await gw.expectMessage(client, 'zephyr2mqtt/dev1/button_2/event');
    const secondConfig = gw.waitForMessage<Record<string, unknown>>(
      client,
      'homeassistant/event/test-gw_dev1/button_2/config',
    );
    adapter.current().ctx.telemetry('dev1', { button_2: 'double_press' });
    expect(await second.message).toEqual({ event_type: 'double_press' });
    expect((await secondConfig).event_types).toContain('double_press');
  });

  it("publishes a BTHome dimmer's turn as an HA event of its direction, with its steps beside it", async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const config = gw.waitForMessage<Record<string, unknown>>(client, 'homeassistant/event/test-gw_dev1/dimmer/config');
    const turned = await gw.expectMessage(client, 'zephyr2mqtt/dev1/dimmer/event');
    const state = await gw.expectMessage<Record<string, unknown>>(client, 'zephyr2mqtt/dev1', (s) => 'dimmer' in s);
    adapter.current().ctx.telemetry('dev1', { dimmer: 'rotate_left_3' });
    expect(await turned.message).toEqual({ event_type: 'rotate_left', steps: 3 });
    // The state keeps the decoder's one word, as before.
    expect(await state.message).toMatchObject({ dimmer: 'rotate_left_3' });
    expect(await config).toMatchObject({
      state_topic: 'zephyr2mqtt/dev1/dimmer/event',
      event_types: ['rotate_left', 'rotate_right'],
    });
  });

  it('announces an event entity again on HA birth, after the press has left the state', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { homeassistant: { enabled: true }, devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const eventConfig = 'homeassistant/event/test-gw_dev1/button_2/config';
    const pressed = await gw.expectMessage(client, 'zephyr2mqtt/dev1/button_2/event');
    adapter.current().ctx.telemetry('dev1', { button_2: 'press', temperature: 20 });
    await pressed.message;
    // Only a fresh publish reaches a live subscriber with retain=0: the retained copy alone cannot pass this.
    const republished = new Promise<Record<string, unknown>>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === eventConfig && !packet.retain && payload.length > 0) resolve(JSON.parse(payload.toString()));
      });
    });
    await client.subscribeAsync(eventConfig);
    await client.publishAsync('homeassistant/status', 'online');
    expect(await republished).toMatchObject({ state_topic: 'zephyr2mqtt/dev1/button_2/event' });
  });
});
