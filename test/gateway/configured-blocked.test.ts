// A device both configured and on the blocklist is served; the gateway says so at start and at each reload.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../gateway/config/schema.js';
import { configuredAndBlocked } from '../../gateway/devices/configured-blocked.js';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

const WARNING = /is configured and on the blocklist: the configured device is served/;

describe('configured and blocklisted devices', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('finds each configured device that an entry names, by the keys its adapter would report', () => {
    const config = configSchema.parse({
      devices: [
        { id: 'door', transport: 'ble', match: { address: 'aa:bb:cc:dd:ee:01' } },
        { id: 'kitchen', transport: 'coap', address: 'fd00::5' },
        { id: 'hall', transport: 'coap' },
      ],
      blocklist: [
        { transport: 'ble', address: 'AA-BB-CC-DD-EE-01' },
        { transport: 'coap', address: 'fd00:0:0:0:0:0:0:5' },
        { transport: 'coap', name: 'porch' },
      ],
    });
    expect(configuredAndBlocked(config)).toEqual([
      { device: 'door', entry: { transport: 'ble', address: 'AA-BB-CC-DD-EE-01' } },
      { device: 'kitchen', entry: { transport: 'coap', address: 'fd00:0:0:0:0:0:0:5' } },
    ]);
  });

  it('warns at start, and again at a reload only while the entry is there', async () => {
    const log = captureLogger();
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [{ id: 'lamp', transport: 'test', address: 'aa:bb:cc:dd:ee:02' }],
        blocklist: [{ transport: 'test', address: 'aa:bb:cc:dd:ee:02' }],
      },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    const warnings = () => log.lines.filter((l) => WARNING.test(String(l.msg)));
    expect(warnings()).toEqual([
      expect.objectContaining({
        level: 40,
        device: 'lamp',
        blocklist_entry: { transport: 'test', address: 'aa:bb:cc:dd:ee:02' },
      }),
    ]);
    const client = await gw.connect();
    expect(await gw.request(client, 'options', { options: { blocklist: [] } })).toMatchObject({ status: 'ok' });
    expect(warnings()).toHaveLength(1);
  });
});
