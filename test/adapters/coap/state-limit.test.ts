// A real CoAP PUT /ps/<id> whose values alone are over api.max_state_properties or api.max_state_bytes: the device
// is told (4.13 naming the settings) instead of getting a 2.04 for data the gateway dropped.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

const properties = (n: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i])));

describe('CoAP /ps over the device state limits', () => {
  it('answers 4.13 naming the settings, keeps the state, and accepts a payload within them', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const gateway = h.gw.gateway;
    await gateway.applyConfig({ ...gateway.config, api: { ...gateway.config.api, max_state_properties: 8 } });
    const state = () => gateway.devices.get('dev1')?.state;

    const fits = h.gw.waitForMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.p7 === 7);
    expect((await h.send('PUT', '/ps/dev1', properties(8), { contentFormat: 50 })).code).toBe('2.04');
    await fits;
    const before = state();

    const refused = await h.send('PUT', '/ps/dev1', properties(9), { contentFormat: 50 });
    expect(refused.code).toBe('4.13');
    expect(String(refused.payload)).toContain('api.max_state_properties');
    expect(state()).toBe(before);

    await gateway.applyConfig({ ...gateway.config, api: { ...gateway.config.api, max_state_bytes: 1024 } });
    const big = await h.send('POST', '/ps/dev1', `{"big":"${'x'.repeat(1100)}"}`, { contentFormat: 50 });
    expect(big.code).toBe('4.13');
    expect(String(big.payload)).toContain('api.max_state_bytes');
    expect(state()).toBe(before);
  });
});
