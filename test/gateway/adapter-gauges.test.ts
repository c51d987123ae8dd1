// zephyr2mqtt_adapter_state and zephyr2mqtt_adapter_figure follow an adapter's status() at each scrape: its state as
// it fails and restarts, its figures as they change; none for an adapter before it is enabled. One scrape reads the
// statuses once, for both gauges.
import { readFile, writeFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { AdapterStatus } from '../../gateway/adapter.js';
import { registerAdapterGauges } from '../../gateway/adapter-gauges.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { sampleValue } from './prom-text.js';

const scrape = async (gw: TestGateway) => (await fetch(`${gw.httpUrl}/metrics`)).text();
const STATES = ['starting', 'running', 'unavailable', 'stopped', 'failed'];
/** Each state's value for the test adapter, undefined when it has no series. */
const states = (text: string) =>
  Object.fromEntries(
    STATES.map((state) => [state, sampleValue(text, 'zephyr2mqtt_adapter_state', { adapter: 'test', state })]),
  );
const devices = (text: string) =>
  sampleValue(text, 'zephyr2mqtt_adapter_figure', { adapter: 'test', figure: 'devices' });

describe('adapter gauges', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('say failed while a start failed, and running once the restart succeeded', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }], adapters: { test: { fail_starts: 1 } } as never },
      { adapterModules: [adapter.module] },
    );
    expect(states(await scrape(gw))).toEqual({ starting: 0, running: 0, unavailable: 0, stopped: 0, failed: 1 });
    await expect
      .poll(async () => states(await scrape(gw as TestGateway)), { timeout: 5000, interval: 100 })
      .toEqual({ starting: 0, running: 1, unavailable: 0, stopped: 0, failed: 0 });
  });

  it('follow a figure as it changes, and appear for an adapter once a reload enabled it', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }], adapters: { test: { enabled: false } } as never },
      { adapterModules: [adapter.module] },
    );
    const off = await scrape(gw);
    expect([states(off).running, devices(off)]).toEqual([undefined, undefined]);

    const config = parseDocument(await readFile(gw.configPath, 'utf8'));
    config.setIn(['adapters', 'test', 'enabled'], true);
    await writeFile(gw.configPath, config.toString());
    await gw.gateway.reload('test');
    const on = await scrape(gw);
    expect([states(on).running, devices(on)]).toEqual([1, 1]); // the test adapter reports its device count

    config.addIn(['devices'], { id: 'dev2', transport: 'test' });
    await writeFile(gw.configPath, config.toString());
    await gw.gateway.reload('test');
    expect(devices(await scrape(gw))).toBe(2);
  });
});

describe('registerAdapterGauges()', () => {
  it('reads the statuses once per scrape, for both gauges, and afresh at the next', async () => {
    const registry = new Registry();
    let reads = 0;
    registerAdapterGauges(registry, () => {
      reads++;
      // Each read tells something else, so that gauges fed by two reads would disagree.
      const status: AdapterStatus = { state: reads === 1 ? 'running' : 'failed', details: { devices: reads } };
      return new Map([['test', status]]);
    });

    const first = await registry.metrics();
    expect(reads).toBe(1);
    expect(sampleValue(first, 'zephyr2mqtt_adapter_state', { adapter: 'test', state: 'running' })).toBe(1);
    expect(sampleValue(first, 'zephyr2mqtt_adapter_figure', { adapter: 'test', figure: 'devices' })).toBe(1);

    const second = await registry.metrics();
    expect(reads).toBe(2);
    expect(sampleValue(second, 'zephyr2mqtt_adapter_state', { adapter: 'test', state: 'failed' })).toBe(1);
    expect(sampleValue(second, 'zephyr2mqtt_adapter_figure', { adapter: 'test', figure: 'devices' })).toBe(2);
  });
});
