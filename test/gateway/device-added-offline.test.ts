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
});
