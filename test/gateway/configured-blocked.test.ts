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

  it('finds each served device that an entry names, by all the keys its adapter would report', () => {
    const config = configSchema.parse({
      devices: [
        { id: 'door', transport: 'ble', match: { address: 'aa:bb:cc:dd:ee:01' } },
        { id: 'window', transport: 'ble', match: { address: 'aa:bb:cc:dd:ee:03', name: 'Window' } },
        { id: 'kitchen', transport: 'coap', address: 'fd00::5' },
        { id: 'hall', transport: 'coap' },
        { id: 'board', transport: 'serial', match: { usb: { vid: '2fe3', serial: 'E661' }, by_id: 'usb-Z_E661-if00' } },
        { id: 'resting', transport: 'ble', match: { address: 'aa:bb:cc:dd:ee:04' }, disabled: true },
      ],
      blocklist: [
        { transport: 'ble', address: 'AA-BB-CC-DD-EE-01' },
        { transport: 'ble', name: 'Window' },
        { transport: 'coap', address: 'fd00:0:0:0:0:0:0:5' },
        { transport: 'coap', name: 'porch' },
        { transport: 'serial', address: '/dev/serial/by-id/usb-Z_E661-if00' },
        { transport: 'ble', address: 'aa:bb:cc:dd:ee:04' },
      ],
    });
    expect(configuredAndBlocked(config).map((c) => c.device)).toEqual(['door', 'window', 'kitchen', 'board']);
  });

  it('warns at start, and again at each reload while the entry is there', async () => {
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
    const entries = [
      { transport: 'test', address: 'aa:bb:cc:dd:ee:02' },
      { transport: 'test', name: 'other' },
    ];
    expect(await gw.request(client, 'options', { options: { blocklist: entries } })).toMatchObject({ status: 'ok' });
    expect(warnings()).toHaveLength(2);
    expect(await gw.request(client, 'options', { options: { blocklist: [] } })).toMatchObject({ status: 'ok' });
    expect(warnings()).toHaveLength(2);
  });
});
