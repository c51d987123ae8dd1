// The LwM2M server shares the CoAP adapter's socket: a registration on /rd reaches it, and the adapter routes
// commands and bridge/request/device/lwm2m for LwM2M devices to it.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('CoAP adapter with the LwM2M server', () => {
  it('serves /rd on the same port and reports the LwM2M status', async () => {
    const h = await coapHarness([{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1' } }]);
    const res = await h.send('POST', '/rd?lwm2m=1.1&ep=zephyr-node1&lt=300', '</1/0>,</3/0>', { contentFormat: 40 });
    expect(res.code).toBe('2.01');
    expect(h.adapter.status().details?.lwm2m).toBeTypeOf('object');
    const answer = await h.gw.request(h.mqtt, 'device/coap', { device: 'node1', method: 'GET', path: '/x' });
    expect(answer.status).toBe('error');
    // Nobody can publish as the LwM2M client through /ps (it has no token or address to check).
    const posing = await h.send('PUT', '/ps/node1', '{"spoof":1}', { contentFormat: 50 });
    expect(posing).toMatchObject({ code: '4.03' });
    expect(posing.payload.toString()).toBe('this device reports through LwM2M, not /ps');
  });

  it('leaves /rd unrouted when lwm2m is disabled', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }], { lwm2m: { enabled: false } });
    const res = await h.send('POST', '/rd?ep=x&lt=300', '</3/0>', { contentFormat: 40 });
    expect(res.code).toBe('4.04');
    expect(h.adapter.status().details?.lwm2m).toBeUndefined();
  });
});
