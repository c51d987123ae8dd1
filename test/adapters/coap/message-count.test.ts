// zephyr2mqtt_messages_total{direction="in"} counts what a device sent once it decoded: a payload refused as
// undecodable is a decode error only.
import { describe, expect, it } from 'vitest';
import { sampleValue } from '../../gateway/prom-text.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('CoAP /ps messages and decode errors', () => {
  it('counts a refused payload in decode_errors_total only, a decoded one in messages_total', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    expect((await h.send('PUT', '/ps/dev1', '{"led":', { contentFormat: 50 })).code).toBe('4.00');
    expect((await h.send('PUT', '/ps/dev1', 'x', { contentFormat: 11542 })).code).toBe('4.15');
    expect((await h.send('PUT', '/ps/dev1', '{"t":1}', { contentFormat: 50 })).code).toBe('2.04');
    expect((await h.send('GET', '/ps/dev1/set', '', { accept: 50 })).code).toBe('2.05');
    const text = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
    expect(sampleValue(text, 'zephyr2mqtt_messages_total', { adapter: 'coap', direction: 'in' })).toBe(2);
    expect(sampleValue(text, 'zephyr2mqtt_decode_errors_total', { adapter: 'coap', reason: 'coap_payload' })).toBe(1);
    expect(
      sampleValue(text, 'zephyr2mqtt_decode_errors_total', { adapter: 'coap', reason: 'coap_content_format' }),
    ).toBe(1);
  });
});
