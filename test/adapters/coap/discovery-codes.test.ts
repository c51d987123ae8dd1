// Resource discovery (GET /.well-known/core) reads the response code: a refusal such as a booting device's 5.03 is
// retried after its Max-Age, and a device without the resource (4.04) is recorded as such, not as an empty list.
import { describe, expect, it } from 'vitest';
import type { CoapOutgoingResponse } from '../../../adapters/coap/endpoint.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { sleep } from './scripted-device.js';

stopEndpointsAfterEach();
stopHarnessesAfterEach();

const LINKS = '</obs>;obs,</led>';

/** A device whose /.well-known/core gives the answers in turn (the last one from then on). */
async function discovering(...answers: CoapOutgoingResponse[]) {
  const device = await endpoint();
  let asked = 0;
  device.route('.well-known', () => answers[Math.min(asked++, answers.length - 1)] as CoapOutgoingResponse);
  const h = await coapHarness([{ id: 'node', transport: 'coap', address: '::1', port: device.port, discover: true }]);
  return { h, asked: () => asked, info: () => h.gw.gateway.devices.get('node')?.info ?? {} };
}

describe('resource discovery answers', () => {
  it('retries a 5.03 refusal after its Max-Age and then publishes the links', async () => {
    const { asked, info } = await discovering(
      { code: '5.03', maxAge: 1, payload: 'booting' },
      { code: '2.05', contentFormat: 40, payload: LINKS },
    );
    await expect
      .poll(() => info().coap_resources, { timeout: 5000, interval: 50 })
      .toEqual([
        { path: '/obs', attributes: { obs: true } },
        { path: '/led', attributes: {} },
      ]);
    expect(asked()).toBe(2);
  });

  it('records a device without /.well-known/core and does not ask again', async () => {
    const { asked, info } = await discovering({ code: '4.04' });
    await expect.poll(() => info().coap_discovery, { timeout: 3000, interval: 50 }).toMatch(/^4\.04/);
    expect(info()).not.toHaveProperty('coap_resources');
    // Past the 2 s back-off a retry would have taken.
    await sleep(2500);
    expect(asked()).toBe(1);
  });
});
