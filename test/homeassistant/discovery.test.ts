import { describe, expect, it } from 'vitest';
import { bridgeMessage, discoveryMessages, removalMessages } from '../../gateway/homeassistant/discovery.js';
import { PROPERTY_MEANINGS } from '../../gateway/homeassistant/properties.js';
import { haBridgeConnection, haSchemaFor } from './ha-schema.js';

const opts = { gatewayId: 'pi-livingroom', baseTopic: 'zephyr2mqtt', discoveryPrefix: 'homeassistant' };

describe('Home Assistant discovery payloads', () => {
  it('validates every known property against the documented schema of its platform', () => {
    const state = Object.fromEntries(Object.keys(PROPERTY_MEANINGS).map((k) => [k, 1]));
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
      'homeassistant/sensor/pi-livingroom_node/humidity_x_y_2/config',
    ]);
    expect(msgs[1]?.payload).toMatchObject({
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
});
