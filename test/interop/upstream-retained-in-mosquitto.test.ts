// A retained message the cloud publishes on an `in` topic while the link is up (Mosquitto, MQTT 5): brokers clear the
// retain flag of what they forward live unless the subscription asks for Retain As Published, and without it the local
// broker would keep a stale retained message (or none) for the devices that subscribe later.
import { afterEach, expect, it } from 'vitest';
import { observe } from '../upstream/brokers.js';
import { startMosquittoBridge } from '../upstream/mosquitto-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('MQTT 5: a retained message published upstream while connected is retained locally, and a newer one replaces it', async () => {
  const { mosquitto, local, bridge, waitForEvent } = await startMosquittoBridge(cleanups, {
    prefix: 'z2m-retained-in-',
    bridge: { topics: [{ pattern: 'desired/#', direction: 'in', qos: 1 }] },
  });
  const live = await observe(local.url, 'zephyr2mqtt/desired/#');
  cleanups.push(() => live.close());
  const cloud = await observe(mosquitto.url, 'unused', { protocolVersion: 5 });
  cleanups.push(() => cloud.close());
  await bridge.start();
  await waitForEvent('connected');
  // A plain message through: the bridge's subscription is in place.
  await cloud.client.publishAsync('gw1/desired/probe', 'probe', { qos: 1 });
  await live.waitFor((s) => s.some((m) => m.payload === 'probe'), 10_000, 'the probe');

  for (const value of ['v1', 'v2']) {
    await cloud.client.publishAsync('gw1/desired/mode', value, { qos: 1, retain: true });
    await live.waitFor((s) => s.some((m) => m.payload === value), 10_000, `${value} live`);
    const late = await observe(local.url, 'zephyr2mqtt/desired/mode');
    cleanups.push(() => late.close());
    await late.waitFor((s) => s.length > 0, 10_000, `the retained message after ${value}`);
    expect(late.seen).toEqual([expect.objectContaining({ payload: value, retain: true })]);
  }
});
