import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMomentary } from '../../gateway/api/topics.js';
import { bridgeMessage, discoveryMessages, removalMessages } from '../../gateway/homeassistant/discovery.js';
import { meaningOf, PROPERTY_MEANINGS } from '../../gateway/homeassistant/properties.js';
import { haBridgeConnection, haSchemaFor } from './ha-schema.js';

const opts = { gatewayId: 'pi-livingroom', baseTopic: 'zephyr2mqtt', discoveryPrefix: 'homeassistant' };

describe('Home Assistant discovery payloads', () => {
  it('validates every known property against the documented schema of its platform', () => {
    const value = (k: string) =>
      k === 'state' ? 'ON' : k === 'update' ? { state: 'idle', latest_version: '1.2.0' } : 1;
    const state = Object.fromEntries(Object.keys(PROPERTY_MEANINGS).map((k) => [k, value(k)]));
    const msgs = discoveryMessages(opts, { id: 'kitchen-env', transport: 'ble', state, info: { model: 'ESS' } });
    expect(msgs).toHaveLength(Object.keys(PROPERTY_MEANINGS).length);
    for (const msg of msgs) {
      const component = msg.topic.split('/')[1] as keyof typeof haSchemaFor;
      const result = haSchemaFor[component].safeParse(msg.payload);
      expect(result.success, `${msg.topic}: ${result.error?.message}`).toBe(true);
    }
  });

  it('builds the topic, value template and availability for a temperature sensor', () => {
    const [msg] = discoveryMessages(opts, {
      id: 'kitchen-env',
      name: 'Kitchen sensor',
      transport: 'ble',
      state: { temperature: 23.45, last_seen: '2026-01-01T00:00:00Z' },
      info: { manufacturer: 'Nordic', serial_number: 'SN1' },
    });
    expect(msg?.topic).toBe('homeassistant/sensor/pi-livingroom_kitchen-env/temperature/config');
    expect(msg?.payload).toMatchObject({
      unique_id: 'pi-livingroom_kitchen-env_temperature',
      state_topic: 'zephyr2mqtt/kitchen-env',
      value_template: '{{ value_json.temperature }}',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
      availability: [{ topic: 'zephyr2mqtt/bridge/state' }, { topic: 'zephyr2mqtt/kitchen-env/availability' }],
      device: { name: 'Kitchen sensor', manufacturer: 'Nordic', serial_number: 'SN1' },
    });
  });

  it("makes the gateway's firmware update status an update entity that installs with ota_update/update", () => {
    const device = { id: 'thermostat', transport: 'serial', info: {} };
    const msgs = discoveryMessages(opts, {
      ...device,
      state: { update: { state: 'available', installed_version: '1.0.0', latest_version: '1.4.2' } },
    });
    expect(msgs.map((m) => m.topic)).toEqual(['homeassistant/update/pi-livingroom_thermostat/update/config']);
    expect(msgs[0]?.payload).toMatchObject({
      device_class: 'firmware',
      entity_category: 'config',
      state_topic: 'zephyr2mqtt/thermostat',
      value_template: "{{ value_json['update']['installed_version'] }}",
      latest_version_topic: 'zephyr2mqtt/thermostat',
      latest_version_template: "{{ value_json['update']['latest_version'] }}",
      command_topic: 'zephyr2mqtt/bridge/request/device/ota_update/update',
      payload_install: '{"id":"thermostat"}',
    });
    // No entity before a version is known (an upload in progress, or one that failed before reading the device).
    expect(discoveryMessages(opts, { ...device, state: { update: { state: 'updating', progress: 3 } } })).toEqual([]);
  });

  it('makes on_off a switch commanded through /set and ignores unknown properties', () => {
    const msgs = discoveryMessages(opts, {
      id: 'lamp',
      transport: 'coap',
      state: { on_off: true, mystery: 4 },
      info: {},
    });
    expect(msgs.map((m) => m.topic)).toEqual(['homeassistant/switch/pi-livingroom_lamp/on_off/config']);
    expect(msgs[0]?.payload).toMatchObject({
      command_topic: 'zephyr2mqtt/lamp/set',
      payload_on: '{"on_off":true}',
      payload_off: '{"on_off":false}',
    });
  });

  it('docs/mqtt-api.md names only properties that get the entity it says', () => {
    const doc = readFileSync(new URL('../../docs/mqtt-api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Home Assistant discovery'));
    const rows = [...section.matchAll(/^\| (.+) \| `(\w+)`(?:,| with| \|)/gm)];
    expect(rows.map((r) => r[2])).toEqual(['sensor', 'binary_sensor', 'switch', 'event']);
    for (const [, names, component] of rows) {
      const properties = [...(names as string).matchAll(/`(\w+)`/g)]
        .map((m) => m[1] as string)
        .filter((word) => word !== 'true' && word !== 'false');
      expect(properties.length, component).toBeGreaterThan(1);
      for (const property of properties) expect(meaningOf(property)?.component, property).toBe(component);
    }
  });

  it('makes a Zigbee2MQTT-style state "ON"/"OFF" a switch, and leaves any other state value alone', () => {
    const msgs = discoveryMessages(opts, { id: 'plug', transport: 'serial', state: { state: 'OFF' }, info: {} });
    expect(msgs.map((m) => m.topic)).toEqual(['homeassistant/switch/pi-livingroom_plug/state/config']);
    expect(msgs[0]?.payload).toMatchObject({
      command_topic: 'zephyr2mqtt/plug/set',
      value_template: "{{ 'ON' if value_json.state == 'ON' else 'OFF' }}",
      payload_on: '{"state":"ON"}',
      payload_off: '{"state":"OFF"}',
    });
    for (const state of ['idle', 1, true, 'on'])
      expect(discoveryMessages(opts, { id: 'x', transport: 'serial', state: { state }, info: {} })).toEqual([]);
  });

  it('announces an event entity only for what the core publishes as a press (isMomentary)', () => {
    for (const property of ['button', 'button_2', 'action', 'action_12'])
      expect([meaningOf(property)?.component, isMomentary(property)], property).toEqual(['event', true]);
    // A known event word with more words after it is a state value: its entity's <property>/event never fires.
    for (const property of ['button_left_1', 'action_mode_2']) {
      expect([meaningOf(property), isMomentary(property)], property).toEqual([undefined, false]);
      expect(discoveryMessages(opts, { id: 'x', transport: 'ble', state: { [property]: 'press' }, info: {} })).toEqual(
        [],
      );
    }
  });

  it('reads known prefixes (temperature_sensor_1) and keeps rssi and linkquality apart', () => {
    const msgs = discoveryMessages(opts, {
      id: 'esp',
      transport: 'ble',
      state: { temperature_sensor_1: 12.5, rssi: -60, linkquality: 146, on_off_delay: 3 },
      info: {},
    });
    expect(
      msgs.map((m) => [m.topic.split('/')[3], (m.payload as { unit_of_measurement?: string }).unit_of_measurement]),
    ).toEqual([
      ['temperature_sensor_1', '°C'],
      ['rssi', 'dBm'],
      ['linkquality', 'lqi'],
    ]);
  });

  it('takes numbered instances for the known sensor, not other words after it, and writes odd names safely', () => {
    // battery_low is BTHome's binary "battery low", not a battery level.
    const msgs = discoveryMessages(opts, {
      id: 'node',
      transport: 'coap',
      state: {
        temperature_1: 20,
        battery_low: true,
        battery_voltage: 2.9,
        voltage_mv: 3000,
        temperature_unit: 'C',
        co2_alarm: false,
        'humidity_x.y_2': 40,
      },
      info: {},
    });
    expect(msgs.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/pi-livingroom_node/temperature_1/config',
      'homeassistant/binary_sensor/pi-livingroom_node/battery_low/config',
      'homeassistant/sensor/pi-livingroom_node/humidity_x_y_2/config',
    ]);
    expect(msgs[1]?.payload).toMatchObject({ device_class: 'battery' });
    expect(msgs[2]?.payload).toMatchObject({
      unique_id: 'pi-livingroom_node_humidity_x_y_2',
      value_template: '{{ value_json["humidity_x.y_2"] }}',
    });
  });

  it('announces the gateway as the device every via_device names, with its connection state', () => {
    const bridge = bridgeMessage(opts);
    expect(bridge.topic).toBe('homeassistant/binary_sensor/pi-livingroom_bridge/connection_state/config');
    const parsed = haBridgeConnection.safeParse(bridge.payload);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    const [sensor] = discoveryMessages(opts, { id: 'x', transport: 'coap', state: { temperature: 1 }, info: {} });
    const via = (sensor?.payload as { device?: { via_device?: string } } | undefined)?.device?.via_device;
    expect((bridge.payload as { device: { identifiers: string[] } }).device.identifiers).toEqual([via]);
  });

  it('removal clears exactly the configs of known properties', () => {
    const msgs = removalMessages(opts, 'lamp', ['on_off', 'temperature', 'mystery']);
    expect(msgs.map((m) => [m.topic, m.payload])).toEqual([
      ['homeassistant/switch/pi-livingroom_lamp/on_off/config', undefined],
      ['homeassistant/sensor/pi-livingroom_lamp/temperature/config', undefined],
    ]);
  });

  it('never announces a numeric sensor for a boolean value; BTHome power_on is a binary sensor', () => {
    const msgs = discoveryMessages(opts, {
      id: 'plug',
      transport: 'ble',
      state: { power: true, temperature_2: false, power_on: true, power_on_2: false, humidity: 40 },
      info: {},
    });
    expect(msgs.map((m) => m.topic.split('/').slice(1, 4).join('/'))).toEqual([
      'binary_sensor/pi-livingroom_plug/power_on',
      'binary_sensor/pi-livingroom_plug/power_on_2',
      'sensor/pi-livingroom_plug/humidity',
    ]);
    expect(msgs[0]?.payload).toMatchObject({ device_class: 'power' });
  });

  it('announces the BTHome objects with the classes and units Home Assistant accepts', () => {
    const state = {
      door: true,
      window: false,
      opening: true,
      smoke: false,
      moisture_detected: true,
      battery_low: false,
      gas_detected: false,
      distance_mm: 120,
      distance_m: 1.5,
      speed: 2.5,
      uv_index: 3.1,
      volume: 1.5,
      volume_ml: 200,
      volume_flow_rate: 0.5,
      gas: 12.345,
      water: 100.5,
      mass_kg: 70.2,
      rotation: 90,
      skin_contact: true,
    };
    const msgs = discoveryMessages(opts, { id: 'b', transport: 'ble', state, info: {} });
    const byProperty = new Map(msgs.map((m) => [m.topic.split('/')[3], m]));
    expect([...byProperty.keys()]).toEqual(Object.keys(state));
    for (const msg of msgs) {
      const component = msg.topic.split('/')[1] as keyof typeof haSchemaFor;
      const result = haSchemaFor[component].safeParse(msg.payload);
      expect(result.success, `${msg.topic}: ${result.error?.message}`).toBe(true);
    }
    const summary = (p: string) => {
      const m = byProperty.get(p);
      const payload = m?.payload as { device_class?: string; unit_of_measurement?: string };
      return [m?.topic.split('/')[1], payload.device_class, payload.unit_of_measurement];
    };
    expect(summary('door')).toEqual(['binary_sensor', 'door', undefined]);
    expect(summary('moisture_detected')).toEqual(['binary_sensor', 'moisture', undefined]);
    expect(summary('battery_low')).toEqual(['binary_sensor', 'battery', undefined]);
    expect(summary('distance_m')).toEqual(['sensor', 'distance', 'm']);
    expect(summary('gas')).toEqual(['sensor', 'gas', 'm³']);
    expect(summary('mass_kg')).toEqual(['sensor', 'weight', 'kg']);
    // The heart-rate sensor's skin contact is no door.
    expect(summary('skin_contact')).toEqual(['binary_sensor', undefined, undefined]);
  });

  it('bases unique_id and the HA device on the identity the match gives, so a rename keeps them', () => {
    const entity = (id: string, transport: string, config?: Record<string, unknown>) =>
      discoveryMessages(opts, { id, transport, state: { temperature: 20 }, info: {}, ...(config ? { config } : {}) })[0]
        ?.payload as { unique_id: string; state_topic: string; device: { identifiers: string[] } };
    const ble = { transport: 'ble', match: { address: 'C0:00:00:00:00:07' } };
    const before = entity('thermostat', 'ble', ble);
    const renamed = entity('hall-thermostat', 'ble', ble);
    expect(before.unique_id).toBe('pi-livingroom_ble_c00000000007_temperature');
    expect(renamed.unique_id).toBe(before.unique_id);
    expect(renamed.device.identifiers).toEqual(before.device.identifiers);
    expect(renamed.state_topic).toBe('zephyr2mqtt/hall-thermostat');
    expect(entity('s', 'ble', { match: { serial_number: 'HR-0001' } }).unique_id).toBe(
      'pi-livingroom_ble_sn_HR-0001_temperature',
    );
    expect(entity('s', 'serial', { match: { usb: { vid: '2fe3', serial: 'E6614103E7' } } }).unique_id).toBe(
      'pi-livingroom_usb_E6614103E7_temperature',
    );
    expect(entity('n', 'coap', { lwm2m: { endpoint: 'node-1' }, address: 'fd00::1' }).unique_id).toBe(
      'pi-livingroom_lwm2m_node-1_temperature',
    );
    expect(entity('n', 'coap', { address: 'fe80::1%lowpan0' }).unique_id).toBe(
      'pi-livingroom_coap_fe80__1_lowpan0_temperature',
    );
    // A token is a secret: the retained config holds a hash of it, never the token.
    const byToken = entity('n', 'coap', { token: 'sekrit-token-1' });
    expect(byToken.unique_id).toMatch(/^pi-livingroom_coap_token_[0-9a-f]{16}_temperature$/);
    expect(JSON.stringify(byToken)).not.toContain('sekrit');
    // Matched by name only (or no config at all): the id is all there is.
    expect(entity('porch', 'ble', { match: { name: 'BTHome template' } }).unique_id).toBe(
      'pi-livingroom_porch_temperature',
    );
    expect(entity('porch', 'ble').unique_id).toBe('pi-livingroom_porch_temperature');
    // A CoAP device known by its path id keeps the ids of its first name after a rename (device/rename writes ps_id).
    expect(entity('front-porch', 'coap', { ps_id: 'porch' }).unique_id).toBe('pi-livingroom_porch_temperature');
  });
});
