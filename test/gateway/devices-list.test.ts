// bridge/devices carries Zigbee2MQTT's keys beside ours, so that its clients find them: friendly_name (the id),
// ieee_address (the device's stable identity, else the id), description, supported and definition.supports_ota,
// with the exposes and options lists Zigbee2MQTT says a definition always has (empty: no exposes are described).
import { afterEach, describe, expect, it } from 'vitest';
import type { DevicesListEntry } from '../../gateway/api/topics.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('bridge/devices', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it("has Zigbee2MQTT's keys: friendly_name, ieee_address, description, supported, definition", async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'bench', transport: 'test', description: 'on the bench, left' },
          { id: 'board', transport: 'serial', match: { usb: { vid: '2fe3', serial: 'E6614C311B5A' } } },
          { id: 'quiet', transport: 'serial', path: '/dev/ttyACM9', smp: false },
          { id: 'parked', transport: 'serial', path: '/dev/ttyACM7', disabled: true },
          { id: 'tag', transport: 'ble', match: { address: 'C0:11:22:33:44:55' } },
        ],
      },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const list = await gw.waitForMessage<DevicesListEntry[]>(client, 'zephyr2mqtt/bridge/devices');
    const keys = list.map(({ id, friendly_name, ieee_address, description, supported, definition }) => ({
      id,
      friendly_name,
      ieee_address,
      description,
      supported,
      definition,
    }));
    expect(keys).toEqual([
      {
        id: 'bench',
        friendly_name: 'bench',
        ieee_address: 'bench',
        description: 'on the bench, left',
        supported: true,
        definition: { supports_ota: false, exposes: [], options: [] },
      },
      {
        id: 'board',
        friendly_name: 'board',
        ieee_address: 'usb_E6614C311B5A',
        description: undefined,
        supported: true,
        definition: { supports_ota: true, exposes: [], options: [] },
      },
      {
        id: 'quiet',
        friendly_name: 'quiet',
        ieee_address: 'quiet',
        description: undefined,
        supported: true,
        definition: { supports_ota: false, exposes: [], options: [] },
      },
      {
        id: 'parked',
        friendly_name: 'parked',
        ieee_address: 'parked',
        description: undefined,
        supported: true,
        definition: { supports_ota: false, exposes: [], options: [] },
      },
      {
        id: 'tag',
        friendly_name: 'tag',
        ieee_address: 'ble_c01122334455',
        description: undefined,
        supported: true,
        definition: { supports_ota: false, exposes: [], options: [] },
      },
    ]);
  });
});
