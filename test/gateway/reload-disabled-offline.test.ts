// A device disabled by a config reload goes offline at once, as after a restart: its retained availability,
// bridge/devices and zephyr2mqtt_devices_online agree.
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { sampleValue } from './prom-text.js';

type DeviceEntry = { id: string; availability: string; disabled: boolean };

describe('a device disabled by a reload', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('is published offline and no longer counted online', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'dev1', transport: 'test' },
          { id: 'dev2', transport: 'test' },
        ],
      },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const online = await gw.expectMessage(client, 'zephyr2mqtt/dev1/availability', (m: { state: string }) => {
      return m.state === 'online';
    });
    adapter.current().ctx.telemetry('dev1', { t: 1 });
    adapter.current().ctx.telemetry('dev2', { t: 1 });
    await online.message;
    const doc = parseDocument(await readFile(gw.configPath, 'utf8'));
    doc.setIn(['devices', 0, 'disabled'], true);
    await writeFile(gw.configPath, doc.toString());
    await gw.gateway.reload('test');

    // A new subscriber gets the retained availability.
    const observer = await gw.connect();
    expect(await gw.waitForMessage(observer, 'zephyr2mqtt/dev1/availability')).toEqual({ state: 'offline' });
    const list = await gw.waitForMessage<DeviceEntry[]>(observer, 'zephyr2mqtt/bridge/devices');
    expect(list.map(({ id, availability, disabled }) => ({ id, availability, disabled }))).toEqual([
      { id: 'dev1', availability: 'offline', disabled: true },
      { id: 'dev2', availability: 'online', disabled: false },
    ]);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(sampleValue(metrics, 'zephyr2mqtt_devices_online')).toBe(1);
  });
});
