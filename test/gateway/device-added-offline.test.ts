// A device added at run time whose transport reports it offline straight away (a serial port not plugged in yet)
// gets a retained availability at once, not only when it first comes online.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('availability of a device added at run time', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('publishes a retained offline when the adapter reports the new device offline', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const added = await gw.request(client, 'device/add', { id: 'late', transport: 'test' });
    expect(added).toMatchObject({ status: 'ok', data: { added: ['late'] } });
    adapter.current().ctx.availability('late', false);
    const retained = await gw.connect();
    const availability = await gw.waitForMessage(retained, 'zephyr2mqtt/late/availability');
    expect(availability).toEqual({ state: 'offline' });
  });

  it('publishes a retained offline for a device added by a reload even when its adapter says nothing', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    expect(await gw.request(client, 'device/add', { id: 'quiet', transport: 'test' })).toMatchObject({ status: 'ok' });
    const retained = await gw.connect();
    expect(await gw.waitForMessage(retained, 'zephyr2mqtt/quiet/availability')).toEqual({ state: 'offline' });
  });

  it('republishes bridge/info when an adapter reports a status change (a port opened or closed)', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    let infos = 0;
    client.on('message', (topic) => {
      if (topic === 'zephyr2mqtt/bridge/info') infos++;
    });
    await gw.waitForMessage(client, 'zephyr2mqtt/bridge/info'); // the retained one
    const before = infos;
    const next = gw.waitForMessage(client, 'zephyr2mqtt/bridge/info');
    // A burst of changes is one bridge/info.
    for (let i = 0; i < 5; i++) adapter.current().ctx.statusChanged?.();
    await next;
    await gw.request(client, 'health_check', {}); // a round trip: any second bridge/info would be here by now
    expect(infos - before).toBe(1);
  });
});
