import type { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { type UpstreamConfigInput, upstreamConfigSchema } from '../../gateway/upstream/config.js';
import {
  type InProcessUpstream,
  makeBridge,
  observe,
  publishMany,
  reservedUpstreamPort,
  startLocalBroker,
  startUpstreamAedes,
  startUpstreamAedesWs,
} from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(config: UpstreamConfigInput = {}, upstreamOpts = {}) {
  const dir = await tempDataDir(cleanups);
  const upstream: InProcessUpstream = await startUpstreamAedes(upstreamOpts);
  cleanups.push(() => upstream.close());
  return { dir, upstream, ...(await startLocalBridge(cleanups, dir, { url: upstream.url, ...config })) };
}

/** A connected bridge of `pattern` both ways, with observers of everything on the upstream (`up`) and locally (`down`). */
async function connectedBothWays(pattern: string) {
  const s = await setup({ topics: [{ pattern, direction: 'both', qos: 1 }] });
  const up = await observe(s.upstream.url, 'gw1/#');
  cleanups.push(() => up.close());
  const down = await observe(s.local.url, 'zephyr2mqtt/#');
  cleanups.push(() => down.close());
  await s.bridge.start();
  await s.waitForEvent('connected');
  return { ...s, up, down };
}

/** Resolves once the upstream handled the bridge's SUBSCRIBE (or UNSUBSCRIBE) of `filter`. */
function upstreamSubscription(upstream: InProcessUpstream, event: 'subscribe' | 'unsubscribe', filter: string) {
  const broker: EventEmitter = upstream.aedes; // its typings list no union of event names
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      broker.off(event, on);
      reject(new Error(`the upstream got no ${event} of ${filter} within 5 s`));
    }, 5000);
    const on = (filters: Array<string | { topic: string }>) => {
      if (!filters.some((f) => (typeof f === 'string' ? f : f.topic) === filter)) return;
      clearTimeout(timer);
      broker.off(event, on);
      resolve();
    };
    broker.on(event, on);
  });
}

/** A bridge whose URL leads nowhere (nothing listens on port 1), and an upstream a reconfigure can point it to. */
async function setupPointedElsewhere() {
  const dir = await tempDataDir(cleanups);
  const { local, ...b } = await startLocalBridge(cleanups, dir, { url: 'mqtt://127.0.0.1:1' });
  const upstream = await startUpstreamAedes();
  cleanups.push(() => upstream.close());
  return { local, upstream, b };
}

describe('upstream bridge against aedes', () => {
  it('a reload that changes the topics subscribes new `in` patterns and unsubscribes removed ones, without reconnecting', async () => {
    const { upstream, local, bridge, waitForEvent } = await setup();
    const down = await observe(local.url, 'zephyr2mqtt/cmd/#');
    cleanups.push(() => down.close());
    const sender = await observe(upstream.url, 'nothing');
    cleanups.push(() => sender.close());
    await bridge.start();
    await waitForEvent('connected');
    const base = {
      enabled: true,
      protocol_version: '3.1.1',
      reconnect_min: 0.05,
      reconnect_max: 0.5,
      url: upstream.url,
    };
    const out = { pattern: '#', direction: 'out' as const, qos: 1 as const };
    // An `in` mapping both configs keep: its marker, sent after a message, arrives after anything that message made.
    const marker = { pattern: 'marker', direction: 'in' as const };
    const markers = await observe(local.url, 'zephyr2mqtt/marker');
    cleanups.push(() => markers.close());
    const subscribed = upstreamSubscription(upstream, 'subscribe', 'gw1/cmd/#');
    await bridge.reconfigure(
      upstreamConfigSchema.parse({ ...base, topics: [{ pattern: 'cmd/#', direction: 'in' }, marker, out] }),
    );
    await subscribed;
    await sender.client.publishAsync('gw1/cmd/a', 'in', { qos: 1 });
    await down.waitFor((s) => s.some((m) => m.payload === 'in'));
    const unsubscribed = upstreamSubscription(upstream, 'unsubscribe', 'gw1/cmd/#');
    await bridge.reconfigure(upstreamConfigSchema.parse({ ...base, topics: [marker, out] }));
    await unsubscribed;
    await sender.client.publishAsync('gw1/cmd/b', 'after removal', { qos: 1 });
    await sender.client.publishAsync('gw1/marker', 'after it', { qos: 1 });
    await markers.waitFor((s) => s.some((m) => m.payload === 'after it'), 5000, 'the marker');
    expect(down.seen.map((m) => m.payload)).toEqual(['in']);
    expect((bridge.status().messages as { reconnects: number }).reconnects).toBe(0);
  });

  it('an upstream that accepts and then drops the bridge at once is not hit at reconnect_min forever', async () => {
    const { upstream, bridge, waitForEvent } = await setup();
    let connections = 0;
    upstream.aedes.on('clientReady', (client) => {
      connections++;
      setImmediate(() => client.close());
    });
    await bridge.start();
    await waitForEvent('connected');
    // The window is the behaviour: how often the reconnect back-off (reconnect_min 0.05 s doubling to 0.5 s) lets
    // the bridge connect in 1.5 s; no event marks "enough connections".
    await new Promise((r) => setTimeout(r, 1500));
    // reconnect_min 0.05 s, max 0.5 s: with the back-off reset on every CONNACK this was 30-60 connections.
    expect(connections).toBeGreaterThan(2);
    expect(connections).toBeLessThan(12);
  });

  it('forwards <base>/# to <gateway-id>/... with retain, keeps order per topic and reports status', async () => {
    const { upstream, local, bridge, waitForEvent, registry } = await setup();
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    await bridge.start();
    await waitForEvent('connected');
    const messages = Array.from({ length: 200 }, (_, i) => ({ topic: `zephyr2mqtt/dev${i % 4}`, payload: `${i}` }));
    await publishMany(local.url, messages);
    await local.broker.publish('zephyr2mqtt/dev9', '{"t":1}', { retain: true, qos: 1 });
    await local.broker.publish('other/topic', 'not bridged');
    await obs.waitFor((s) => s.filter((m) => m.topic.startsWith('gw1/dev')).length >= 201, 10_000, '201 messages');
    for (let d = 0; d < 4; d++) {
      const got = obs.seen.filter((m) => m.topic === `gw1/dev${d}`).map((m) => Number(m.payload));
      expect(got).toEqual(messages.filter((_, i) => i % 4 === d).map((m) => Number(m.payload)));
    }
    expect(obs.seen.some((m) => m.topic.includes('other'))).toBe(false);
    // The retained state is retained upstream too: a new subscriber gets it.
    const late = await observe(upstream.url, 'gw1/dev9');
    cleanups.push(() => late.close());
    await late.waitFor((s) => s.some((m) => m.payload === '{"t":1}' && m.retain));
    // The link's own retained state.
    const state = await observe(upstream.url, 'gw1/bridge/state');
    cleanups.push(() => state.close());
    await state.waitFor((s) => s.some((m) => m.payload === '{"state":"online"}' && m.retain));

    const status = bridge.status();
    expect(status).toMatchObject({ connected: true, state: 'connected', last_error: null });
    expect((status.messages as { acked: number }).acked).toBeGreaterThanOrEqual(201);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/zephyr2mqtt_upstream_connected 1/);
    expect(metrics).toMatch(/zephyr2mqtt_upstream_messages_acked_total \d+/);
    expect(metrics).toMatch(/zephyr2mqtt_upstream_queue_depth 0/);
  });

  it('a message the upstream answers by closing the connection is tried alone, then given up; the rest flows on', async () => {
    const { upstream, local, bridge, waitForEvent } = await setup({}, { deny: (t: string) => t.includes('poison') });
    const obs = await observe(upstream.url, 'gw1/a');
    cleanups.push(() => obs.close());
    await bridge.start();
    await waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/a', '1', { qos: 1 });
    await local.broker.publish('zephyr2mqtt/poison', 'x', { qos: 1 });
    for (let i = 2; i <= 5; i++) await local.broker.publish('zephyr2mqtt/a', String(i), { qos: 1 });
    await obs.waitFor((s) => new Set(s.map((m) => m.payload)).size === 5, 20_000, 'the 5 allowed messages');
    expect([...new Set(obs.seen.map((m) => m.payload))]).toEqual(['1', '2', '3', '4', '5']);
    const report = await waitForEvent('queue_dropped');
    expect(report).toMatchObject({ reason: 'rejected', count: 1 });
    expect(String(report.upstream_error)).toMatch(/closed the connection each time this message was sent \(4 times/);
    const status = bridge.status() as { dropped: { rejected: number }; queue: { depth: number }; connected: boolean };
    expect(status.dropped.rejected).toBe(1);
    expect(status.queue.depth).toBe(0);
  });

  it('sends QoS 0, 1 and 2 mappings and large payloads in one ordered stream, every one acknowledged', async () => {
    const { upstream, local, bridge, waitForEvent } = await setup({
      topics: [
        { pattern: 'q0/#', qos: 0 },
        { pattern: 'q2/#', qos: 2 },
        { pattern: '#', qos: 1 },
      ],
    });
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    await bridge.start();
    await waitForEvent('connected');
    const big = 'b'.repeat(200_000); // larger than one encode chunk
    const messages = Array.from({ length: 300 }, (_, i) => ({
      topic: `zephyr2mqtt/${['q0', 'q2', 'q1'][i % 3]}/dev`,
      payload: i % 50 === 7 ? `${i}:${big}` : `${i}`,
    }));
    await publishMany(local.url, messages);
    await obs.waitFor((s) => s.filter((m) => m.topic.endsWith('/dev')).length >= 300, 10_000, '300 messages');
    for (const q of ['q0', 'q1', 'q2']) {
      const got = obs.seen.filter((m) => m.topic === `gw1/${q}/dev`);
      expect(got.map((m) => m.payload)).toEqual(messages.filter((m) => m.topic.includes(q)).map((m) => m.payload));
      // Each arrives with the QoS of its mapping (QoS 0 stays 0; 1 and 2 are at least 1).
      expect(got.every((m) => (q === 'q0' ? m.qos === 0 : m.qos > 0))).toBe(true);
    }
    // QoS 2 completes (PUBCOMP) a little after the upstream delivered it.
    const status = () => bridge.status() as { messages: { sent: number; acked: number }; queue: { depth: number } };
    await expect.poll(() => status().messages.acked, { timeout: 5000 }).toBe(status().messages.sent);
    expect(status().queue.depth).toBe(0);
  });

  it('queues while upstream is unreachable and drains in order once it comes up', async () => {
    const dir = await tempDataDir(cleanups);
    // Reserve a port, then start the upstream on it only after the backlog built up.
    const port = await reservedUpstreamPort();
    const { local, ...b } = await startLocalBridge(cleanups, dir, { url: `mqtt://127.0.0.1:${port}` });
    await b.bridge.start();
    const messages = Array.from({ length: 500 }, (_, i) => ({ topic: `zephyr2mqtt/s${i % 3}`, payload: `${i}` }));
    await publishMany(local.url, messages);
    expect((b.bridge.status().queue as { depth: number }).depth).toBe(500);
    expect(b.bridge.status().last_error).toMatch(/cannot reach upstream .* \(ECONNREFUSED\)/);

    const upstream = await startUpstreamAedes({ port });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    await obs.waitFor((s) => s.filter((m) => m.topic.startsWith('gw1/s')).length >= 500, 15_000, '500 drained');
    for (let t = 0; t < 3; t++) {
      const got = obs.seen.filter((m) => m.topic === `gw1/s${t}`).map((m) => Number(m.payload));
      expect(got).toEqual(messages.filter((_, i) => i % 3 === t).map((m) => Number(m.payload)));
    }
  });

  it('in: the cloud sends <base>/<device>/set locally; nothing bridged in goes back out (loop prevention)', async () => {
    // MQTT 3.1.1 (aedes) has no No Local: the bridge must recognise its own publishes coming back.
    const { local, bridge, up, down } = await connectedBothWays('#');
    await up.client.publishAsync('gw1/lamp/set', '{"state":"ON"}', { qos: 1 });
    await down.waitFor((s) => s.some((m) => m.topic === 'zephyr2mqtt/lamp/set'), 5000, 'set');
    // A marker published locally afterwards on the same topic travels the same ordered queue: once it is
    // upstream, anything looped back out would have arrived before it.
    await local.broker.publish('zephyr2mqtt/lamp/set', 'marker', { qos: 1 });
    await up.waitFor((s) => s.some((m) => m.payload === 'marker'), 5000, 'marker');
    // The upstream sends the marker back to our subscription before anything published after it.
    await up.client.publishAsync('gw1/lamp/set', 'after', { qos: 1 });
    await down.waitFor((s) => s.some((m) => m.payload === 'after'), 5000, 'after');
    await up.waitFor((s) => s.some((m) => m.payload === 'after'), 5000, 'after upstream');
    expect(up.seen.filter((m) => m.topic === 'gw1/lamp/set').map((m) => m.payload)).toEqual([
      '{"state":"ON"}',
      'marker',
      'after',
    ]);
    expect(down.seen.filter((m) => m.topic === 'zephyr2mqtt/lamp/set').map((m) => m.payload)).toEqual([
      '{"state":"ON"}',
      'marker',
      'after',
    ]);
    expect(bridge.status().messages).toMatchObject({ received: 2, echoes: 1 });
  });

  it('MQTT 3.1.1: each copy of a repeated payload sent upstream suppresses exactly one echo', async () => {
    const { local, bridge, up, down } = await connectedBothWays('+/set');
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/lamp/set', 'S', { qos: 1 });
    await up.waitFor((s) => s.filter((m) => m.payload === 'S').length === 3, 5000, '3 copies upstream');
    await up.client.publishAsync('gw1/lamp/set', 'after', { qos: 1 });
    await down.waitFor((s) => s.some((m) => m.payload === 'after'), 5000, 'after');
    expect(down.seen.filter((m) => m.topic === 'zephyr2mqtt/lamp/set').map((m) => m.payload)).toEqual([
      'S',
      'S',
      'S',
      'after',
    ]);
    expect(bridge.status().messages).toMatchObject({ received: 1, echoes: 3 });
  });

  it('forwards over a WebSocket upstream (ws://)', async () => {
    const dir = await tempDataDir(cleanups);
    const upstream = await startUpstreamAedesWs();
    cleanups.push(() => upstream.close());
    const { local, ...b } = await startLocalBridge(cleanups, dir, { url: upstream.url });
    const obs = await observe(upstream.url, 'gw1/ws');
    cleanups.push(() => obs.close());
    await b.bridge.start();
    await b.waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/ws', 'over websocket', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.payload === 'over websocket'));
    expect(b.bridge.status()).toMatchObject({ connected: true, url: upstream.url });
  });

  it('drain_rate limits the backlog after a reconnect, in order', async () => {
    const dir = await tempDataDir(cleanups);
    const port = await reservedUpstreamPort();
    const { local, ...b } = await startLocalBridge(cleanups, dir, { url: `mqtt://127.0.0.1:${port}`, drain_rate: 100 });
    await b.bridge.start();
    await publishMany(
      local.url,
      Array.from({ length: 250 }, (_, i) => ({ topic: 'zephyr2mqtt/r', payload: String(i) })),
    );
    const upstream = await startUpstreamAedes({ port });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/r');
    cleanups.push(() => obs.close());
    await b.waitForEvent('connected');
    const start = performance.now();
    await obs.waitFor((s) => s.length >= 100, 10_000, 'the first second of the drain');
    expect(b.bridge.status().draining).toBe(true);
    await obs.waitFor((s) => s.length >= 250, 10_000, 'the whole backlog');
    // 100/s with one second of burst: 250 messages need at least 1.5 s.
    expect(performance.now() - start).toBeGreaterThanOrEqual(1400);
    expect(obs.seen.map((m) => Number(m.payload))).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('reconfigure: a new URL reconnects there and the queue is kept', async () => {
    const { local, upstream, b } = await setupPointedElsewhere();
    await b.bridge.start();
    await publishMany(local.url, [{ topic: 'zephyr2mqtt/k', payload: 'kept' }]);
    expect((b.bridge.status().queue as { depth: number }).depth).toBe(1);
    const obs = await observe(upstream.url, 'gw1/k');
    cleanups.push(() => obs.close());
    await b.bridge.reconfigure(
      upstreamConfigSchema.parse({
        enabled: true,
        protocol_version: '3.1.1',
        url: upstream.url,
        queue: { max_bytes: 2 * 1024 * 1024 },
      }),
    );
    await obs.waitFor((s) => s.some((m) => m.payload === 'kept'));
    expect(b.bridge.status()).toMatchObject({ connected: true, url: upstream.url });
  });

  it('reconfigure while opened but not yet connected (the gateway still starting) waits for connect()', async () => {
    const { upstream, b } = await setupPointedElsewhere();
    const connections: string[] = [];
    let phase = 'before connect()';
    upstream.aedes.on('client', () => connections.push(phase));
    await b.bridge.open();
    await b.bridge.reconfigure(
      upstreamConfigSchema.parse({ enabled: true, protocol_version: '3.1.1', url: upstream.url }),
    );
    // Nothing may connect now; a connection on loopback takes a few milliseconds, so a second is ample to see one.
    const early = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      upstream.aedes.once('client', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(await early).toBe(false);
    phase = 'after connect()';
    b.bridge.connect();
    await b.waitForEvent('connected');
    expect(connections).toEqual(['after connect()']);
    expect(b.bridge.status()).toMatchObject({ connected: true, url: upstream.url });
  });

  it('reports wrong credentials clearly and keeps retrying', async () => {
    const { bridge, waitForEvent } = await setup({ username: 'bridge', password: 'wrong' }, { password: 'right' });
    await bridge.start();
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/refused the login: bad username or password/);
    expect(bridge.status()).toMatchObject({ connected: false });
    expect(bridge.status().last_error).toMatch(/bad username or password/);
  });

  it('reads the password from password_file', async () => {
    const dir = await tempDataDir(cleanups);
    const file = `${dir}/pw`;
    await import('node:fs/promises').then((fs) => fs.writeFile(file, 'right\n'));
    const { bridge, waitForEvent } = await setup({ username: 'bridge', password_file: file }, { password: 'right' });
    await bridge.start();
    await waitForEvent('connected');
    expect(bridge.status().connected).toBe(true);
  });

  it('survives a restart of the bridge with a backlog: the queue is reopened, not wiped', async () => {
    const dir = await tempDataDir(cleanups);
    const local = await startLocalBroker(dir);
    cleanups.push(() => local.broker.close());
    const first = makeBridge(local.broker, dir, { url: 'mqtt://127.0.0.1:1' });
    await first.bridge.start();
    await publishMany(
      local.url,
      Array.from({ length: 50 }, (_, i) => ({ topic: 'zephyr2mqtt/x', payload: String(i) })),
    );
    await first.bridge.stop();
    const upstream = await startUpstreamAedes();
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/x');
    cleanups.push(() => obs.close());
    const second = makeBridge(local.broker, dir, { url: upstream.url });
    cleanups.push(() => second.bridge.stop());
    await second.bridge.start();
    await obs.waitFor((s) => s.length >= 50);
    expect(obs.seen.map((m) => Number(m.payload))).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
