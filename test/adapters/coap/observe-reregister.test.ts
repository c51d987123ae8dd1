// Observations a device refuses or ends (RFC 7641 §3.2, §4.2) are registered again after their Max-Age or the 2 s
// back-off, not after observe_freshness (300 s here): a booting device answers 5.03 with Max-Age, libcoap ends its
// relations with 4.04 when it shuts down, a final notification comes without Observe.
import { describe, expect, it } from 'vitest';
import type { CoapIncomingRequest } from '../../../adapters/coap/endpoint.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();
stopHarnessesAfterEach();

/** A device whose /obs refuses the first `refusals` registrations with 5.03 and Max-Age 1, then accepts them. */
async function observable(refusals = 0) {
  const device = await endpoint();
  const registrations: CoapIncomingRequest[] = [];
  device.route('obs', (req) => {
    if (req.observe !== 0) return { code: '2.05', payload: 'read' };
    registrations.push(req);
    if (registrations.length <= refusals) return { code: '5.03', maxAge: 1, payload: 'booting' };
    return { code: '2.05', contentFormat: 0, payload: `v${registrations.length}`, observe: 1 };
  });
  const h = await coapHarness([
    { id: 'node', transport: 'coap', address: '::1', port: device.port, observe: ['/obs'] },
  ]);
  return { device, registrations, h };
}

const registered = (list: unknown[], n: number) =>
  expect.poll(() => list.length, { timeout: 5000, interval: 50 }).toBe(n);

describe('observations the device refuses or ends', () => {
  it('registers again after the Max-Age of a 5.03 refusal', async () => {
    const { registrations, h } = await observable(1);
    await registered(registrations, 2);
    await h.gw.waitForMessage<{ obs?: string }>(h.mqtt, 'zephyr2mqtt/node', (m) => m.obs === 'v2');
  });

  it('registers again soon after an error notification ends the relation', async () => {
    const { device, registrations, h } = await observable();
    await registered(registrations, 1);
    const o = registrations[0] as CoapIncomingRequest;
    expect(await device.notify(o.source, o.token, 2, { code: '2.05', contentFormat: 0, payload: 'n2' })).toBe('ack');
    await h.gw.waitForMessage<{ obs?: string }>(h.mqtt, 'zephyr2mqtt/node', (m) => m.obs === 'n2');
    // libcoap's answer to its observers when it shuts down.
    await device.notify(o.source, o.token, 3, { code: '4.04' });
    await registered(registrations, 2);
  });

  it('registers again soon after a final notification without Observe', async () => {
    let registrations = 0;
    const scripted = await scriptedDevice((m, d) => {
      if (m.type !== 'CON' || m.code !== '0.01' || m.observe !== 0) return;
      registrations++;
      d.ack(m, { code: '2.05', options: [[6, [registrations]]], payload: 'a' });
      if (registrations === 1) {
        setTimeout(() => d.send({ type: 'CON', code: '2.05', mid: 700, token: [...m.token], payload: 'last' }), 100);
      }
    });
    const h = await coapHarness([
      { id: 'node', transport: 'coap', address: '::1', port: scripted.port, observe: ['/obs'] },
    ]);
    await h.gw.waitForMessage<{ obs?: string }>(h.mqtt, 'zephyr2mqtt/node', (m) => m.obs === 'last');
    await expect.poll(() => registrations, { timeout: 5000, interval: 50 }).toBe(2);
  });
});
