// Gateway-initiated CoAP against a simulated Zephyr coap_server: discovery into bridge/devices, observe with
// re-registration after a reboot, Block2 reads, Block1 and plain writes from MQTT /set, responses published back.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ZephyrCoapServerSim } from '../../sim/coap/zephyr-server.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

let sim: ZephyrCoapServerSim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});
stopHarnessesAfterEach();

type State = Record<string, unknown>;

describe('gateway-initiated CoAP (device runs a CoAP server)', () => {
  it('discovers, observes, re-registers after a reboot, reads /large and writes /led and /large-update', async () => {
    sim = new ZephyrCoapServerSim();
    const port = await sim.start(100);
    const h = await coapHarness(
      [
        {
          id: 'node1',
          transport: 'coap',
          address: '::1',
          port,
          discover: true,
          resources: {
            counter: { path: '/obs', observe: true },
            large: { path: '/large' },
            upload: { path: '/large-update', method: 'PUT', format: 'text' },
            led: { path: '/led', method: 'PUT', format: 'text' },
            core1: { path: '/core1' },
            polled: { path: '/led', poll: 0.2 },
            unit: { path: '/query?unit=C' },
          },
        },
      ],
      { observe_freshness: 1 },
    );
    await h.gw.waitForMessage(h.mqtt, 'zephyr2mqtt/bridge/devices', (list) =>
      JSON.stringify(list).includes('"rt":"core1"'),
    );
    const first = await h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) =>
      /^Counter: \d+$/.test(String(m.counter)),
    );
    await h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) => m.counter !== first.counter);
    expect(sim.registrations).toBe(1);

    sim.reboot();
    await h.gw.waitForMessage(h.mqtt, 'zephyr2mqtt/node1', () => sim!.registrations >= 2, 8000);

    const large = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) => m.large === 'A'.repeat(2048));
    await h.mqtt.publishAsync('zephyr2mqtt/node1/get', JSON.stringify({ large: '' }));
    await large;

    const core = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) => m.core1 === 'Just a test');
    await h.mqtt.publishAsync('zephyr2mqtt/node1/get', JSON.stringify({ core1: '' }));
    await core;

    const response = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1/response', (m) => m.path === '/led');
    await h.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ led: 'on' }));
    expect(await response).toMatchObject({ method: 'PUT', code: '2.04' });
    expect(sim.led).toBe('on');
    // The polled resource picks the new value up without an MQTT /get.
    await h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) => m.polled === 'on');

    const body = 'u'.repeat(1500);
    const uploaded = h.gw.waitForMessage<State>(
      h.mqtt,
      'zephyr2mqtt/node1/response',
      (m) => m.path === '/large-update',
    );
    await h.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ upload: body }));
    expect((await uploaded).code).toBe('2.04');
    expect(sim.uploaded?.toString()).toBe(body);

    const unmapped = h.gw.waitForMessage<{ error: string }>(h.mqtt, 'zephyr2mqtt/node1/set/error');
    await h.mqtt.publishAsync('zephyr2mqtt/node1/set', JSON.stringify({ nope: 1 }));
    expect((await unmapped).error).toMatch(/no CoAP resource mapped for "nope"/);

    const raw = await h.gw.request(h.mqtt, 'device/coap', { device: 'node1', method: 'GET', path: '/led' });
    expect(raw).toMatchObject({ status: 'ok', data: { code: '2.05', payload: 'on' } });
    // A query in a path goes out as Uri-Query options, not inside the last Uri-Path segment.
    const query = await h.gw.request(h.mqtt, 'device/coap', { device: 'node1', method: 'GET', path: '/query?a=1&b' });
    expect(query).toMatchObject({ status: 'ok', data: { code: '2.05', payload: 'a=1&b' } });
    const mapped = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/node1', (m) => m.unit === 'unit=C');
    await h.mqtt.publishAsync('zephyr2mqtt/node1/get', JSON.stringify({ unit: '' }));
    await mapped;
  });

  it('observe: ["/obs"] (the shorthand of the README and issue) observes the path as property "obs"', async () => {
    sim = new ZephyrCoapServerSim();
    const port = await sim.start(100);
    // The address written out in full: answers come from "::1" and must still match.
    const address = '0:0:0:0:0:0:0:1';
    const h = await coapHarness([{ id: 'door-node', transport: 'coap', address, port, observe: ['/obs'] }]);
    const first = await h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/door-node', (m) =>
      /^Counter: \d+$/.test(String(m.obs)),
    );
    await h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/door-node', (m) => m.obs !== first.obs);
  });

  it('retries discovery with back-off when the device is not up yet at start', async () => {
    // A device that is not running yet: its port swallows the discovery GET and both retransmissions.
    const silent = createSocket('udp6');
    await new Promise<void>((resolve) => silent.bind(0, '::1', resolve));
    const port = silent.address().port;
    const swallowed = new Promise<void>((resolve) => {
      let count = 0;
      silent.on('message', () => {
        if (++count === 3) resolve();
      });
    });
    const h = await coapHarness([{ id: 'late', transport: 'coap', address: '::1', port, discover: true }]);
    await swallowed;
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    sim = new ZephyrCoapServerSim(port);
    await sim.start(100);
    await h.gw.waitForMessage(h.mqtt, 'zephyr2mqtt/bridge/devices', (list) =>
      JSON.stringify(list).includes('"rt":"core1"'),
    );
  });

  it('re-registers once notifications are older than their Max-Age, not only after observe_freshness', async () => {
    sim = new ZephyrCoapServerSim();
    sim.maxAge = 1;
    const port = await sim.start(100);
    const h = await coapHarness([{ id: 'node', transport: 'coap', address: '::1', port, observe: ['/obs'] }]);
    await h.gw.waitForMessage(h.mqtt, 'zephyr2mqtt/node', (m) => typeof (m as { obs?: unknown }).obs === 'string');
    expect(sim.registrations).toBe(1);
    sim.reboot(); // forgets the observer silently: notifications stop
    // observe_freshness is 300 s here; Max-Age 1 s (+ 2 s of slack) brings the re-registration.
    await expect.poll(() => sim?.registrations, { timeout: 8000, interval: 100 }).toBe(2);
  });
});
