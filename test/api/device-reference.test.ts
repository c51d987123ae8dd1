// Zigbee2MQTT's device requests name a device by its friendly_name or its ieee_address ("deviceID can be the
// ieee_address or friendly_name of the device"): bridge/devices publishes both, so either must work here too.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type DevicesList = Array<{ id: string; friendly_name: string; ieee_address: string }>;

describe('device requests by ieee_address', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start() {
    gw = await startTestGateway(
      {
        devices: [
          { id: 'door-node', transport: 'coap', address: 'fe80::1' },
          { id: 'hall-node', transport: 'coap', address: 'fe80::2' },
          { id: 'bench', transport: 'test' },
        ],
      },
      { adapterModules: [createTestAdapterModule().module] },
    );
    const client = await gw.connect();
    const list = await gw.waitForMessage<DevicesList>(client, 'zephyr2mqtt/bridge/devices');
    const ieee = (id: string) => list.find((d) => d.id === id)?.ieee_address ?? '';
    expect(ieee('door-node')).toBe('coap_fe80__1');
    return { gw, client, ieee };
  }

  it('device/options, device/rename and device/remove take the ieee_address from bridge/devices', async () => {
    const { gw, client, ieee } = await start();
    const options = await gw.request(client, 'device/options', {
      id: ieee('door-node'),
      options: { availability_timeout: 90 },
    });
    expect(options).toMatchObject({ status: 'ok', data: { id: 'door-node', changed: ['door-node'] } });
    expect(gw.gateway.devices.get('door-node')?.config).toMatchObject({ availability_timeout: 90 });

    const renamed = await gw.request(client, 'device/rename', { from: ieee('door-node'), to: 'front-door' });
    expect(renamed).toMatchObject({ status: 'ok', data: { from: 'door-node', to: 'front-door' } });
    // The identity outlives the rename: the same ieee_address now names the renamed device.
    const after = await gw.waitForMessage<DevicesList>(client, 'zephyr2mqtt/bridge/devices', (l) =>
      l.some((d) => d.id === 'front-door'),
    );
    expect(after.find((d) => d.id === 'front-door')?.ieee_address).toBe(ieee('door-node'));
    const removed = await gw.request(client, 'device/remove', { id: ieee('door-node') });
    expect(removed).toMatchObject({ status: 'ok', data: { id: 'front-door', removed: ['front-door'] } });
    // Plain text, as Zigbee2MQTT takes it.
    const plain = await gw.request(client, 'device/remove', ieee('hall-node'));
    expect(plain).toMatchObject({ status: 'ok', data: { id: 'hall-node', removed: ['hall-node'] } });
    expect(gw.gateway.devices.all().map((d) => d.config.id)).toEqual(['bench']);
  });

  it("an adapter's request resolves the ieee_address to the device it names", async () => {
    const { gw, client, ieee } = await start();
    // The coap adapter is off: the answer is about the device found, not an unknown one.
    expect(await gw.request(client, 'device/smp', { device: ieee('door-node'), command: 'echo' })).toMatchObject({
      status: 'error',
      error: 'the coap adapter is not running',
    });
  });

  it('an id wins over another device whose ieee_address reads the same, and unknown names stay unknown', async () => {
    const { gw, client } = await start();
    expect(await gw.request(client, 'device/remove', { id: 'coap_fe80__9' })).toMatchObject({
      status: 'error',
      error: 'unknown device "coap_fe80__9"',
    });
    const added = await gw.request(client, 'device/add', { id: 'coap_fe80__1', transport: 'test' });
    expect(added.status).toBe('ok');
    const removed = await gw.request(client, 'device/remove', { id: 'coap_fe80__1' });
    expect(removed).toMatchObject({ status: 'ok', data: { removed: ['coap_fe80__1'] } });
    expect(gw.gateway.devices.get('door-node')).toBeDefined();
  });
});
