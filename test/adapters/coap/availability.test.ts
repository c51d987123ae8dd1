// Availability of a device with a CoAP server: only a CON that got no ACK after MAX_RETRANSMIT takes it offline
// (RFC 7252 §4.2). A request whose deadline passes first is cancelled and fails, and a CoAP ping (§4.3) decides
// whether the device is gone or only that resource is silent.
import { afterEach, describe, expect, it } from 'vitest';
import type { CoapEndpoint } from '../../../adapters/coap/endpoint.js';
import { ResourceObserver } from '../../../adapters/coap/resource-observer.js';
import { Timers } from '../../../adapters/coap/timers.js';
import { CoapUnreachableError } from '../../../adapters/coap/transport/errors.js';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import type { CoapHarness } from './harness.js';
import { type ScriptedDevice, sleep } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

const { start, harness } = scriptedNode({ ok: { path: '/ok' }, silent: { path: '/silent' } });
const observedNode = scriptedNode({ obs: { path: '/obs', observe: true }, silent: { path: '/silent' } });

const isGet = (m: CoapMessage, path: string) => m.type === 'CON' && m.code === '0.01' && m.path[0] === path;

async function get(h: CoapHarness, property: string, outcome: 'response' | 'get/error') {
  const answer = await h.gw.expectMessage(h.mqtt, `zephyr2mqtt/node/${outcome}`);
  await h.mqtt.publishAsync('zephyr2mqtt/node/get', JSON.stringify({ [property]: '' }));
  return answer.message;
}

const online = () => (harness() ?? observedNode.harness())?.gw.gateway.devices.get('node')?.online;

/**
 * Asks for `property` and waits until its GET reaches the device. NSTART = 1: it leaves only once the device's
 * outstanding ping has ended, so by then the gateway has judged the ping's outcome. The GET must be one the device
 * does not answer (an answer would set the device online whatever the ping did).
 */
async function pingSettled(h: CoapHarness, device: ScriptedDevice, property: string) {
  const from = device.received.length;
  await h.mqtt.publishAsync('zephyr2mqtt/node/get', JSON.stringify({ [property]: '' }));
  await device.waitFor((m) => isGet(m, property), 5000, from);
}

describe('CoAP device availability', () => {
  it('keeps a device online when one resource stays silent but the device answers a ping', async () => {
    const { device, h } = await start(
      (m, d) => {
        if (d.answerPing(m)) return;
        if (isGet(m, 'ok')) d.ack(m, { code: '2.05', payload: '1' });
      },
      // MAX_TRANSMIT_WAIT is 9.3 s here: the 0.5 s deadline passes long before the retransmissions are used up.
      { ack_timeout: 0.2, max_retransmit: 4, request_timeout: 0.5 },
    );
    await get(h, 'ok', 'response');
    expect(online()).toBe(true);
    expect(await get(h, 'silent', 'get/error')).toMatchObject({ error: expect.stringMatching(/no answer before/) });
    await device.waitFor((m) => m.type === 'CON' && m.code === '0.00');
    await pingSettled(h, device, 'silent');
    expect(online()).toBe(true);
  });

  it('takes a device offline when neither the request nor a ping gets an answer', async () => {
    let alive = true;
    const { h } = await start(
      (m, d) => {
        if (alive && isGet(m, 'ok')) d.ack(m, { code: '2.05', payload: '1' });
      },
      { ack_timeout: 0.05, max_retransmit: 2, request_timeout: 0.3 },
    );
    await get(h, 'ok', 'response');
    expect(online()).toBe(true);
    alive = false;
    await get(h, 'ok', 'get/error');
    await expect.poll(online, { timeout: 3000, interval: 50 }).toBe(false);
  });

  it('keeps a device online that answered while a ping probe was still retransmitting', async () => {
    // NSTART = 1: nothing else is sent to the device while the probe's ping is outstanding, so the answer that
    // arrives meanwhile is a notification of an observation registered earlier.
    let registration: CoapMessage | undefined;
    const { device, h } = await observedNode.start(
      // Every copy of the ping and of GET /silent is lost; the observe registration is answered.
      (m, d) => {
        if (!isGet(m, 'obs') || m.observe !== 0) return;
        registration = m;
        d.ack(m, { code: '2.05', options: [[6, [1]]], payload: '1' });
      },
      // The 0.2 s deadline passes first; the probe's ping then goes out 3 times and fails 0.7 to 1.05 s later.
      { ack_timeout: 0.1, max_retransmit: 2, request_timeout: 0.2 },
    );
    await h.gw.waitForMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/node', (m) => m.obs === 1);
    await get(h, 'silent', 'get/error');
    await device.waitFor((m) => m.type === 'CON' && m.code === '0.00');
    const notified = h.gw.waitForMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/node', (m) => m.obs === 2);
    device.send({
      type: 'NON',
      code: '2.05',
      mid: 500,
      token: [...(registration?.token ?? [])],
      options: [[6, [2]]],
      payload: '2',
    });
    await notified;
    expect(online()).toBe(true);
    await expect.poll(() => device.withCode('0.00').length, { timeout: 3000, interval: 20 }).toBe(3);
    // Past the last copy's ACK timeout (at most 0.4 s * 1.5): the ping has failed by then. The retransmission timer
    // itself, with no marker to wait for instead: a GET queued behind the ping (NSTART = 1) passes its 0.2 s deadline
    // in the queue and is never sent, and the failed ping publishes nothing.
    await sleep(700);
    expect(online()).toBe(true);
  });

  it('keeps a device online whose request went unanswered when a request sent after it was answered', async () => {
    const { device, h } = await start(
      // Every copy of GET /silent is lost; GET /ok is answered.
      (m, d) => {
        if (isGet(m, 'ok')) d.ack(m, { code: '2.05', payload: '1' });
      },
      // The deadline is past MAX_TRANSMIT_WAIT (0.525 s): GET /silent ends unacknowledged after MAX_RETRANSMIT.
      { ack_timeout: 0.05, max_retransmit: 2, request_timeout: 5 },
    );
    const silent = h.adapter.request('coap', 'node', { method: 'GET', path: '/silent' });
    const silentFailed = expect(silent).rejects.toThrow(/no ACK after MAX_RETRANSMIT/);
    await device.waitFor((m) => isGet(m, 'silent'));
    await h.adapter.request('coap', 'node', { method: 'GET', path: '/ok' });
    expect(online()).toBe(true);
    await silentFailed;
    expect(online()).toBe(true);
  });
});

describe('an observe registration that got no answer', () => {
  const timers = new Timers();
  afterEach(() => timers.stop());

  it('hands back what onRegistering returned before it was sent, not what holds when it fails', async () => {
    const events: string[] = [];
    let fail: (e: Error) => void = () => {};
    const endpoint = {
      observe: () => {
        events.push('sent');
        return new Promise((_, reject) => {
          fail = reject;
        });
      },
    } as unknown as CoapEndpoint;
    let answers = 0;
    const failed = new Promise<number>((resolve) => {
      const hooks = {
        onAnswer: () => {},
        onResponse: () => {},
        onRegistering: () => {
          events.push('registering');
          return answers;
        },
        onFailure: (_error: unknown, registering: number) => resolve(registering),
      };
      const policy = { retryMinMs: 60_000, retryMaxMs: 60_000, requestTimeoutMs: 1000, observeFreshnessMs: 60_000 };
      new ResourceObserver(endpoint, { address: '::1', port: 5683 }, '/obs', timers, policy, hooks).start();
    });
    answers = 3; // another request was answered while the registration went unanswered
    fail(new CoapUnreachableError({ address: '::1', port: 5683 }));
    expect(await failed).toBe(0);
    expect(events).toEqual(['registering', 'sent']);
  });
});
