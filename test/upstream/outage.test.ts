// Outage: stream QoS 1 from a device, SIGKILL the upstream broker mid-stream, keep publishing, restart it.
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { ChildUpstream } from './brokers.js';
import { checkDelivery } from './delivery.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('every message arrives in order per topic across a SIGKILL of the upstream broker', async () => {
  const dir = await tempDataDir(cleanups);
  const upstream = new ChildUpstream();
  await upstream.start(0);
  cleanups.push(() => upstream.kill());
  const { local, ...b } = await startLocalBridge(cleanups, dir, { url: upstream.url });
  await b.bridge.start();
  await b.waitForEvent('connected');

  const device = await mqtt.connectAsync(local.url, { reconnectPeriod: 0, clientId: 'device-1' });
  cleanups.push(() => device.endAsync(true));
  const sent = new Map<string, string[]>();
  let n = 0;
  const streamBatch = async (count: number) => {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++, n++) {
      const topic = `zephyr2mqtt/sensor${n % 4}`;
      const payload = JSON.stringify({ n });
      const list = sent.get(`gw1/sensor${n % 4}`) ?? [];
      list.push(payload);
      sent.set(`gw1/sensor${n % 4}`, list);
      batch.push(device.publishAsync(topic, payload, { qos: 1 }));
    }
    await Promise.all(batch);
  };

  for (let i = 0; i < 10; i++) await streamBatch(100);
  // Mid-stream: the upstream dies while messages are in flight.
  const inFlight = streamBatch(200);
  await upstream.kill();
  await inFlight;
  for (let i = 0; i < 10; i++) await streamBatch(100);
  expect(b.bridge.status().connected).toBe(false);
  expect((b.bridge.status().queue as { depth: number }).depth).toBeGreaterThan(0);

  await upstream.start(); // same port
  for (let i = 0; i < 5; i++) await streamBatch(100);
  const total = n;
  await upstream.waitFor(
    (seen) => new Set(seen.filter((m) => m.topic.startsWith('gw1/sensor')).map((m) => m.payload)).size >= total,
    30_000,
    `${total} distinct messages upstream`,
  );
  const data = upstream.seen.filter((m) => m.topic.startsWith('gw1/sensor'));
  const duplicates = checkDelivery(data, sent);
  const status = b.bridge.status() as { messages: { resent: number; reconnects: number } };
  // At-least-once: a duplicate can only come from a message re-sent after the connection loss.
  expect(duplicates).toBeLessThanOrEqual(status.messages.resent);
  expect(status.messages.reconnects).toBeGreaterThanOrEqual(1);
  console.log(`outage: ${total} messages, ${duplicates} duplicates, ${status.messages.resent} re-sent`);
});
