// QoS 2 messages Mosquitto answered with PUBREC, whose PUBRECs were lost with the connection: on the reconnect (a
// persistent session, Session Present 1) the bridge sends them again under their packet ids with DUP set, so
// Mosquitto recognises them and each is delivered once (MQTT-4.4.0-1).
import { afterEach, describe, expect, it } from 'vitest';
import { observe } from '../upstream/brokers.js';
import { startLocalBridge, tempDataDir } from '../upstream/local-bridge.js';
import { Mosquitto } from '../upstream/mosquitto.js';
import { packetCuttingProxy } from './packet-cutting-proxy.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('QoS 2 messages whose PUBREC was lost (Mosquitto, persistent session)', () => {
  it('MQTT 5: are sent again under their packet ids and delivered once each; nothing stays in the session', async () => {
    const dir = await tempDataDir(cleanups, 'z2m-resend-');
    // Receive Maximum 3: three messages left in the session under old packet ids would use up the quota.
    const mosquitto = new Mosquitto(dir, 'max_inflight_messages 3');
    await mosquitto.start(21830);
    cleanups.push(() => mosquitto.stop());
    // The first connection loses Mosquitto's first 3 PUBRECs, then drops: Mosquitto holds those messages.
    const proxy = await packetCuttingProxy({ target: mosquitto.port, from: 'broker', packetType: 5, swallow: 3 });
    cleanups.push(() => proxy.close());
    const up = await observe(mosquitto.url, 'gw1/x', { protocolVersion: 5 });
    cleanups.push(() => up.close());
    const { local, ...b } = await startLocalBridge(cleanups, dir, {
      url: `mqtt://127.0.0.1:${proxy.port}`,
      protocol_version: '5',
      clean_session: false,
      link_state: false,
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    await b.bridge.start();
    await b.waitForEvent('connected');
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/x', `m${i}`, { qos: 2 });
    await expect.poll(() => (b.bridge.status() as { messages: { reconnects: number } }).messages.reconnects).toBe(1);
    await expect.poll(() => (b.bridge.status().queue as { depth: number }).depth, { timeout: 10_000 }).toBe(0);
    // A marker after them: once it arrived, whatever Mosquitto delivers of the three has arrived too.
    await local.broker.publish('zephyr2mqtt/x', 'end', { qos: 2 });
    await up.waitFor((s) => s.some((m) => m.payload === 'end'), 10_000, 'the marker');
    expect(up.seen.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'end']);
    expect(b.bridge.status()).toMatchObject({ last_error: null, messages: { reconnects: 1 } });
  });
});
