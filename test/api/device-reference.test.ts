// Zigbee2MQTT's device requests name a device by its friendly_name or its ieee_address ("deviceID can be the
// ieee_address or friendly_name of the device"), in {"id": ...} or as the bare payload: bridge/devices publishes
// both names, so either must work here too, in either form.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type DevicesList = Array<{ id: string; friendly_name: string; ieee_address: string }>;

describe('how device requests name a device', () => {
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
      error: 'the coap adapter is disabled in the config (adapters.coap.enabled: false)',
    });
  });

  it("a bare device id or ieee_address names the device of an adapter's request (Zigbee2MQTT's ota_update)", async () => {
    const { gw, client, ieee } = await start();
    // Plain text and a JSON string, as `mosquitto_pub -m bench` and `-m '"bench"'` send them.
    for (const payload of ['bench', '"bench"']) {
      const res = await gw.expectMessage<{ status: string; data: unknown }>(
        client,
        'zephyr2mqtt/bridge/response/device/echo',
      );
      await client.publishAsync('zephyr2mqtt/bridge/request/device/echo', payload);
      expect(await res.message).toEqual({ status: 'ok', data: { device: 'bench', data: { id: 'bench' } } });
    }
    expect(await gw.request(client, 'device/ota_update/check', ieee('door-node'))).toMatchObject({
      status: 'error',
      error: 'the coap adapter is disabled in the config (adapters.coap.enabled: false)',
    });
    expect(await gw.request(client, 'device/echo', { device: 'bench', extra: 1 })).toMatchObject({
      status: 'ok',
      data: { device: 'bench', data: { device: 'bench', extra: 1 } },
    });
  });

  it('device/rename {"last": true} renames the device that joined last, as Zigbee2MQTT does', async () => {
    const { gw, client } = await start();
    expect(await gw.request(client, 'device/rename', { last: true, to: 'x' })).toMatchObject({
      status: 'error',
      error: 'no device joined since the gateway started (or the last one to join was removed)',
    });
    expect((await gw.request(client, 'device/add', { id: 'new-1', transport: 'test' })).status).toBe('ok');
    expect((await gw.request(client, 'device/add', { id: 'new-2', transport: 'test' })).status).toBe('ok');
    const renamed = await gw.request(client, 'device/rename', { last: true, to: 'porch' });
    expect(renamed).toMatchObject({ status: 'ok', data: { from: 'new-2', to: 'porch', added: ['porch'] } });
    // Still the last one under its new id; once removed, none is left to rename.
    expect(await gw.request(client, 'device/rename', { last: true, name: 'Porch' })).toMatchObject({
      status: 'ok',
      data: { from: 'porch', to: 'porch' },
    });
    expect((await gw.request(client, 'device/remove', 'porch')).status).toBe('ok');
    expect(await gw.request(client, 'device/rename', { last: true, to: 'y' })).toMatchObject({
      status: 'error',
      error: 'no device joined since the gateway started (or the last one to join was removed)',
    });
    expect(gw.gateway.devices.get('new-1')).toBeDefined();
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
