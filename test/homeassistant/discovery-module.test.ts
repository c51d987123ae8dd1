import { describe, expect, it } from 'vitest';
import type { DiscoveryDevice } from '../../gateway/homeassistant/discovery.js';
import { HomeAssistantDiscovery } from '../../gateway/homeassistant/index.js';

/** The discovery module with the gateway's side played by a device list and a log of what it publishes. */
function discoveryWith(devices: DiscoveryDevice[]) {
  const published: { topic: string; payload: string }[] = [];
  const module = new HomeAssistantDiscovery({
    config: { enabled: true, discovery_prefix: 'homeassistant', status_topic: 'homeassistant/status' },
    gatewayId: 'gw',
    baseTopic: 'zephyr2mqtt',
    publish: async (topic, payload) => {
      published.push({ topic, payload });
    },
    subscribe: () => () => {},
    retained: () => [],
    devices: () => devices,
  });
  return { module, published, devices };
}

describe('Home Assistant discovery module', () => {
  it('carries the event entities of a renamed device over to its new id', async () => {
    const { module, published, devices } = discoveryWith([
      { id: 'sw', transport: 'ble', state: { temperature: 20 }, info: {} },
    ]);
    // A press: announced while the state holds it, then the core removes it from the state.
    await module.deviceUpdated({ id: 'sw', transport: 'ble', state: { temperature: 20, button_2: 'press' }, info: {} });
    devices.splice(0, 1, { id: 'hall', transport: 'ble', state: { temperature: 20 }, info: {} });
    published.length = 0;
    await module.deviceRenamed('sw', 'hall');
    const cleared = published.filter((m) => m.payload === '').map((m) => m.topic);
    const announced = published.filter((m) => m.payload !== '').map((m) => m.topic);
    expect(cleared).toEqual(
      expect.arrayContaining([
        'homeassistant/event/gw_sw/button_2/config',
        'homeassistant/sensor/gw_sw/temperature/config',
      ]),
    );
    expect(announced).toEqual([
      'homeassistant/sensor/gw_hall/temperature/config',
      'homeassistant/event/gw_hall/button_2/config',
    ]);
    // Removed for good: nothing is remembered for either id.
    published.length = 0;
    await module.deviceRemoved('hall', ['temperature']);
    devices.length = 0;
    await module.publishAll(true);
    expect(published.filter((m) => m.topic.includes('button_2') && m.payload !== '')).toEqual([]);
  });
});
