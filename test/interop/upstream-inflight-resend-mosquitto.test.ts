// QoS 2 messages Mosquitto answered with PUBREC, whose PUBRECs were lost with the connection: on the reconnect (a
// persistent session, Session Present 1) the bridge sends them again under their packet ids with DUP set, so
// Mosquitto recognises them and each is delivered once (MQTT-4.4.0-1).
import { rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBridge, observe, startLocalBroker } from '../upstream/brokers.js';
import { Mosquitto } from '../upstream/mosquitto.js';
import { tempDir } from '../upstream/queue-helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP proxy on `port` to `target` that, on its first connection only, drops the broker's first `swallow` PUBREC
 * packets and then cuts the connection: the broker holds those messages under their packet ids. */
async function pubrecCuttingProxy(port: number, target: number, swallow: number) {
  let first = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    if (!first) {
      upstream.pipe(client);
      return;
    }
    first = false;
    let pending = Buffer.alloc(0);
    let swallowed = 0;
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < pending.length && i < 5; i++) {
          len += (pending[i]! & 0x7f) * mul;
          mul *= 128;
          if ((pending[i]! & 0x80) === 0) break;
        }
        const end = i + 1 + len;
        if (i >= pending.length || end > pending.length) return;
        const packet = pending.subarray(0, end);
        pending = pending.subarray(end);
        if ((packet[0]! & 0xf0) !== 0x50) client.write(packet);
        else if (++swallowed === swallow) {
          upstream.destroy();
          return;
        }
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('QoS 2 messages whose PUBREC was lost (Mosquitto, persistent session)', () => {
  it('MQTT 5: are sent again under their packet ids and delivered once each; nothing stays in the session', async () => {
    const dir = await tempDir('z2m-resend-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Receive Maximum 3: three messages left in the session under old packet ids would use up the quota.
    const mosquitto = new Mosquitto(dir, 'max_inflight_messages 3');
    await mosquitto.start(21830);
    cleanups.push(() => mosquitto.stop());
    const proxy = await pubrecCuttingProxy(21831, mosquitto.port, 3);
    cleanups.push(() => proxy.close());
    const up = await observe(mosquitto.url, 'gw1/x', { protocolVersion: 5 });
    cleanups.push(() => up.close());
    const local = await startLocalBroker(dir);
    cleanups.push(() => local.broker.close());
    const b = makeBridge(local.broker, dir, {
      url: 'mqtt://127.0.0.1:21831',
      protocol_version: '5',
      clean_session: false,
      link_state: false,
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    cleanups.push(() => b.bridge.stop());
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
