// An adapter may report a device online without hearing from it now (an LwM2M registration restored after a
// restart): last_seen then says when the device was last heard, unless the gateway heard it later.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type Entry = { id: string; availability: string; last_seen: string | null };

describe('availability with the time a device was last heard', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('bridge/devices shows that time as last_seen, unless the device was heard later', async () => {
    const adapter = createTestAdapterModule();
    const devices = [
      { id: 'restored', transport: 'test' },
      { id: 'heard', transport: 'test' },
    ];
    gw = await startTestGateway({ devices }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const ctx = adapter.current().ctx;
    const earlier = new Date(Date.now() - 60_000);
    ctx.telemetry('heard', { temperature: 20 });
    const heardAt = gw.gateway.devices.get('heard')?.lastSeen?.toISOString();
    expect(heardAt).toBeDefined();
    const published = gw.waitForMessage<Entry[]>(client, 'zephyr2mqtt/bridge/devices', (list) =>
      list.every((d) => d.availability === 'online'),
    );
    ctx.availability('restored', true, 300_000, earlier);
    ctx.availability('heard', true, 300_000, earlier);
    const list = await published;
    expect(list.map((d) => [d.id, d.last_seen])).toEqual([
      ['restored', earlier.toISOString()],
      ['heard', heardAt],
    ]);
  });
});
