// Labelled counters exist at 0 before their first event: increase() and rate() over a window that holds the first
// event then see it (a series that appears at 1 has no earlier sample to differ from).
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { sampleValue } from './prom-text.js';

const scrape = async (gw: TestGateway) => (await fetch(`${gw.httpUrl}/metrics`)).text();

describe('labelled counters before their first event', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('are 0 for every enabled adapter, reload result and request/unknown-device command', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const text = await scrape(gw);
    const zero = (name: string, labels: Record<string, string>) =>
      expect({ name, labels, value: sampleValue(text, `zephyr2mqtt_${name}`, labels) }).toEqual({
        name,
        labels,
        value: 0,
      });
    zero('adapter_restarts_total', { adapter: 'test' });
    zero('command_errors_total', { adapter: 'test' });
    zero('command_errors_total', { adapter: 'bridge' });
    zero('command_errors_total', { adapter: 'none' });
    zero('config_reloads_total', { result: 'ok' });
    zero('config_reloads_total', { result: 'rejected' });
    zero('messages_total', { adapter: 'test', direction: 'in' });
    zero('messages_total', { adapter: 'test', direction: 'out' });
    zero('state_properties_evicted_total', { adapter: 'test' });
    // Disabled adapters have none.
    expect(text).not.toMatch(/adapter="(serial|coap|ble)"/);
  });

  it('appear at 0 for an adapter enabled by a reload', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { adapters: { test: { enabled: false } } as never },
      { adapterModules: [adapter.module] },
    );
    expect(sampleValue(await scrape(gw), 'zephyr2mqtt_adapter_restarts_total', { adapter: 'test' })).toBeUndefined();
    const config = parseDocument(await readFile(gw.configPath, 'utf8'));
    config.setIn(['adapters', 'test', 'enabled'], true);
    await writeFile(gw.configPath, config.toString());
    await gw.gateway.reload('test');
    const text = await scrape(gw);
    expect(sampleValue(text, 'zephyr2mqtt_adapter_restarts_total', { adapter: 'test' })).toBe(0);
    expect(sampleValue(text, 'zephyr2mqtt_config_reloads_total', { result: 'ok' })).toBe(1);
  });
});
