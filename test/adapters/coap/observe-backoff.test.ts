// The back-off between observe registrations (ResourceObserver on a real UDP endpoint, with a 50 ms floor instead of
// the adapter's 2 s so the growth shows in a second): a relation that held starts it over, so refusals during one
// outage do not slow the recovery from the next; a device that ends every relation at once keeps backing off.
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceObserver } from '../../../adapters/coap/resource-observer.js';
import { Timers } from '../../../adapters/coap/timers.js';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import {
  closeDevicesAfterEach,
  type Received,
  type Script,
  type ScriptedDevice,
  scriptedDevice,
  sleep,
} from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();
let timers: Timers | undefined;
afterEach(() => {
  timers?.stop();
  timers = undefined;
});

const policy = { retryMinMs: 50, retryMaxMs: 5000, requestTimeoutMs: 1000, observeFreshnessMs: 60_000 };
const isRegistration = (m: CoapMessage) => m.type === 'CON' && m.code === '0.01' && m.observe === 0;

async function observe(script: Script) {
  const device = await scriptedDevice(script);
  timers = new Timers();
  const gateway = await endpoint();
  const hooks = { onAnswer: () => {}, onResponse: () => {}, onRegistering: () => 0, onFailure: () => {} };
  new ResourceObserver(gateway, { address: '::1', port: device.port }, '/obs', timers, policy, hooks).start();
  return device;
}

const registrations = (d: ScriptedDevice) => d.received.filter((r) => isRegistration(r.message));

/** The device ends the relation it holds (libcoap's 4.04 when it shuts down). */
function endRelation(d: ScriptedDevice, registration: Received, mid: number) {
  d.send({ type: 'NON', code: '4.04', mid, token: [...registration.message.token] });
}

describe('the observe registration back-off', () => {
  it('starts over once a relation held, however many registrations were refused before', async () => {
    let count = 0;
    const d = await observe((m, d) => {
      if (!isRegistration(m)) return;
      count++;
      // Five refusals take the back-off to 50 ms * 2^5 = 1.6 s; the sixth registration is accepted.
      if (count <= 5) d.ack(m, { code: '5.03' });
      else d.ack(m, { code: '2.05', options: [[6, [count]]], payload: 'v' });
    });
    await expect.poll(() => registrations(d).length, { timeout: 5000, interval: 20 }).toBe(6);
    // The relation holds longer than the 50 ms floor, then the device ends it.
    await sleep(100);
    const endedAt = Date.now();
    endRelation(d, registrations(d)[5] as Received, 900);
    const again = await d.waitFor(isRegistration, 3000, d.received.length);
    expect(again.at - endedAt).toBeLessThan(800);
  });

  it('keeps backing off from a device that ends every relation as soon as it accepted it', async () => {
    const d = await observe((m, d, size) => {
      if (!isRegistration(m)) return;
      d.ack(m, { code: '2.05', options: [[6, [1]]], payload: 'v' });
      endRelation(d, { message: m, at: Date.now(), size }, m.messageId);
    });
    await expect.poll(() => registrations(d).length, { timeout: 5000, interval: 20 }).toBe(5);
    const at = registrations(d).map((r) => r.at);
    // 50, 100, 200, 400 ms: the fourth gap alone is at least the floor * 2^3.
    expect((at[4] as number) - (at[3] as number)).toBeGreaterThanOrEqual(400 - 5);
  });
});
