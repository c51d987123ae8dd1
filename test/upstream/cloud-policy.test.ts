// Cloud brokers (AWS IoT Core, Azure IoT Hub, Mosquitto with an ACL or limits) refuse by closing the connection,
// by MQTT 5 DISCONNECT reason codes, or announce limits in CONNACK (Maximum QoS, Retain Available). The bridge must
// report each of these and keep device data flowing.
import { afterEach, describe, expect, it } from 'vitest';
import type { UpstreamConfigInput } from '../../gateway/upstream/config.js';
import { observe, startUpstreamAedes } from './brokers.js';
import { type FakeUpstreamOptions, startFakeUpstream } from './fake-upstream.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bridgeTo(url: string, config: Partial<UpstreamConfigInput> = {}) {
  const dir = await tempDataDir(cleanups);
  const b = await startLocalBridge(cleanups, dir, { url, ...config });
  await b.bridge.start();
  return b;
}

async function fake(opts: FakeUpstreamOptions) {
  const upstream = await startFakeUpstream(opts);
  cleanups.push(() => upstream.close());
  return upstream;
}

const errorsOf = (events: Array<{ type: string; data: Record<string, unknown> }>) =>
  events.filter((e) => e.type === 'upstream' && e.data.event === 'error').map((e) => String(e.data.error));

describe('connections the upstream closes', () => {
  it('a close before CONNACK (a policy refusing the client id or will) is reported, not retried in silence', async () => {
    const upstream = await fake({ version: 4, onConnect: () => 'close' });
    const { bridge, waitForEvent } = await bridgeTo(upstream.url);
    const event = await waitForEvent('error');
    expect(String(event.error)).toMatch(
      /closed the connection before CONNACK: check the broker's policy for client_id zephyr2mqtt-gw1, the will topic gw1\/bridge\/state and retain/,
    );
    await upstream.waitFor(() => upstream.connects.length >= 3, 10_000, 'reconnects');
    expect(bridge.status()).toMatchObject({
      state: expect.not.stringMatching(/^connected$/),
      last_error: expect.stringMatching(/before CONNACK/),
    });
  });

  it('a broker that closes the connection on the link state publish: reported, the state given up, device data delivered', async () => {
    const upstream = await startUpstreamAedes({ deny: (t) => t === 'gw1/bridge/state' });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/dev');
    cleanups.push(() => obs.close());
    const { local, bridge, events } = await bridgeTo(upstream.url);
    for (let i = 1; i <= 3; i++) await local.broker.publish('zephyr2mqtt/dev', String(i), { qos: 1 });
    await obs.waitFor((s) => new Set(s.map((m) => m.payload)).size === 3, 15_000, 'the device messages');
    expect(
      errorsOf(events).some((e) =>
        /closed the connection right after the link state publish on gw1\/bridge\/state/.test(e),
      ),
    ).toBe(true);
    const status = bridge.status() as { last_error: string; messages: { reconnects: number } };
    expect(status.last_error).toMatch(/the link state is not published for now/);
    expect(status.messages.reconnects).toBeGreaterThan(0);
  });

  it('a reload to another state topic is not blocked by the old, refused state publish', async () => {
    // The refused topic only: once the state topic changes, every connection must come up and send the queue.
    const upstream = await startUpstreamAedes({ deny: (t) => t === 'gw1/bridge/state' });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    const { local, bridge, waitForEvent } = await bridgeTo(upstream.url);
    await waitForEvent('disconnected');
    const { upstreamConfigSchema } = await import('../../gateway/upstream/config.js');
    await bridge.reconfigure(
      upstreamConfigSchema.parse({
        enabled: true,
        url: upstream.url,
        protocol_version: '3.1.1',
        reconnect_min: 0.05,
        reconnect_max: 0.5,
        state_topic: 'gw1/state-allowed',
      }),
    );
    await local.broker.publish('zephyr2mqtt/dev', 'after reload', { qos: 1 });
    await obs.waitFor(
      (s) => s.some((m) => m.topic === 'gw1/state-allowed' && m.payload === '{"state":"online"}'),
      10_000,
      'the new state',
    );
    await obs.waitFor((s) => s.some((m) => m.payload === 'after reload'), 10_000, 'the device message');
  });
});

describe('connection errors after CONNACK', () => {
  it('the CONNACK makes the link connected, also while mqtt.js still sends the PUBRELs it owes', async () => {
    // The upstream drops the first two connections on the PUBREL (the second gets it resent before anything else).
    let pubrels = 0;
    const upstream = await fake({ version: 5, onPubrel: () => (++pubrels <= 2 ? 'close' : 'accept') });
    const { local, bridge, events } = await bridgeTo(upstream.url, {
      protocol_version: '5',
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1 });
    await upstream.waitFor(() => pubrels >= 3, 10_000, 'the third PUBREL');
    await expect.poll(() => (bridge.status() as { messages: { reconnects: number } }).messages.reconnects).toBe(2);
    expect(errorsOf(events).filter((e) => /before CONNACK/.test(e))).toEqual([]);
  });

  it('a reset after the upstream accepted the connection gives no "does the port expect TLS?" hint', async () => {
    const upstream = await fake({ version: 4, onPublish: (p) => (p.topic === 'gw1/dev' ? 'reset' : 'accept') });
    const { local, events, waitForEvent } = await bridgeTo(upstream.url);
    await waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1 });
    const event = await waitForEvent('error');
    expect(String(event.error)).toMatch(/closed the connection \(ECONNRESET\) after accepting it/);
    expect(errorsOf(events).some((e) => /TLS/.test(e))).toBe(false);
  });
});

describe('topics the upstream refuses by closing the connection', () => {
  it('after one verdict, later messages on the refused topic are dropped at once (reported with the topic)', async () => {
    const upstream = await startUpstreamAedes({ deny: (t) => t === 'gw1/refused' });
    cleanups.push(() => upstream.close());
    let connections = 0;
    upstream.aedes.on('clientReady', () => connections++);
    const obs = await observe(upstream.url, 'gw1/dev');
    cleanups.push(() => obs.close());
    const { local, bridge, events, waitForEvent } = await bridgeTo(upstream.url, { link_state: false });
    for (let i = 1; i <= 4; i++) {
      await local.broker.publish('zephyr2mqtt/refused', `r${i}`, { qos: 1 });
      await local.broker.publish('zephyr2mqtt/dev', String(i), { qos: 1 });
    }
    await obs.waitFor((s) => new Set(s.map((m) => m.payload)).size === 4, 20_000, 'the device messages');
    await expect.poll(() => (bridge.status() as { dropped: { rejected: number } }).dropped.rejected).toBe(4);
    // One verdict costs 4 connections; without the topic memory each refused message would (16+).
    expect(connections).toBeLessThanOrEqual(7);
    const report = await waitForEvent('queue_dropped');
    expect(String(report.upstream_error)).toMatch(/topic gw1\/refused/);
    // Each close before the verdict says what is suspected (MQTT 3.1.1 gives no reason).
    expect(errorsOf(events)).toContain(
      `upstream ${upstream.url} closed the connection with a message on gw1/refused in flight (2 times in a row): a broker policy refusing that topic? It is given up after 4`,
    );
  });

  it('a large message the upstream closes the connection on is given up alone: its topic stays open', async () => {
    // A broker with a packet size limit (Mosquitto max_packet_size, AWS IoT 128 KB) on MQTT 3.1.1: it closes.
    const upstream = await startUpstreamAedes({ deny: (_topic, bytes) => bytes > 100_000 });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/dev');
    cleanups.push(() => obs.close());
    const { local, bridge, waitForEvent } = await bridgeTo(upstream.url, { link_state: false });
    await local.broker.publish('zephyr2mqtt/dev', 'small-1', { qos: 1 });
    await local.broker.publish('zephyr2mqtt/dev', 'x'.repeat(150_000), { qos: 1 });
    await local.broker.publish('zephyr2mqtt/dev', 'small-2', { qos: 1 });
    await local.broker.publish('zephyr2mqtt/dev', 'small-3', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.payload === 'small-3'), 20_000, 'the small messages after the large one');
    expect(obs.seen.map((m) => m.payload)).toEqual(['small-1', 'small-2', 'small-3']);
    expect((bridge.status() as { dropped: { rejected: number } }).dropped.rejected).toBe(1);
    const report = await waitForEvent('queue_dropped');
    expect(String(report.upstream_error)).toMatch(/message of 150000 bytes .*later messages on it are still sent/);
  });

  it("the bridge's own link events (upstream connected / disconnected) are not sent upstream; other events are", async () => {
    const upstream = await startUpstreamAedes();
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/bridge/event');
    cleanups.push(() => obs.close());
    const { local, waitForEvent } = await bridgeTo(upstream.url);
    await waitForEvent('connected');
    const event = (data: Record<string, unknown>) => JSON.stringify({ type: 'upstream', data });
    await local.broker.publish('zephyr2mqtt/bridge/event', event({ event: 'connected', url: 'x' }), { qos: 1 });
    await local.broker.publish('zephyr2mqtt/bridge/event', event({ event: 'disconnected', url: 'x' }), { qos: 1 });
    await local.broker.publish('zephyr2mqtt/bridge/event', event({ event: 'queue_disk_full', error: 'x' }), { qos: 1 });
    await obs.waitFor((s) => s.length > 0);
    expect(obs.seen.map((m) => JSON.parse(m.payload).data.event)).toEqual(['queue_disk_full']);
  });

  it("bridge_topics: false keeps the gateway's own <base>/bridge/* topics local", async () => {
    const upstream = await startUpstreamAedes();
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    const { local, waitForEvent } = await bridgeTo(upstream.url, { bridge_topics: false, link_state: false });
    await waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/bridge/info', '{}', { qos: 1, retain: true });
    await local.broker.publish('zephyr2mqtt/bridge/devices', '[]', { qos: 1, retain: true });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.topic === 'gw1/dev'));
    expect(obs.seen.map((m) => m.topic)).toEqual(['gw1/dev']);
  });

  it('never sends the answer to bridge/request/backup upstream (it holds the config file and its secrets)', async () => {
    const upstream = await startUpstreamAedes();
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    const { local, waitForEvent } = await bridgeTo(upstream.url, { link_state: false });
    await waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/bridge/response/backup', '{"data":{"zip":"c2VjcmV0"}}', { qos: 1 });
    await local.broker.publish('zephyr2mqtt/bridge/response/health_check', '{"status":"ok"}', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.topic === 'gw1/bridge/response/health_check'));
    expect(obs.seen.map((m) => m.topic)).toEqual(['gw1/bridge/response/health_check']);
  });
});

describe('limits the upstream announces or the config sets', () => {
  it('MQTT 5: QoS 2 mappings are sent at the Maximum QoS of the CONNACK (1), not disconnected with 0x9B', async () => {
    const upstream = await fake({
      version: 5,
      connackProperties: { maximumQoS: 1 },
      onPublish: (p) => (p.qos > 1 ? { send: { cmd: 'disconnect', reasonCode: 0x9b } } : 'accept'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      protocol_version: '5',
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    for (let i = 1; i <= 3; i++) await local.broker.publish('zephyr2mqtt/dev', String(i), { qos: 1 });
    await upstream.waitFor(() => upstream.publishes.filter((p) => p.topic === 'gw1/dev').length === 3);
    expect(upstream.publishes.filter((p) => p.topic === 'gw1/dev').map((p) => p.qos)).toEqual([1, 1, 1]);
    // The upstream has all three; its last PUBACK may still be on its way to the bridge.
    await expect.poll(() => (bridge.status() as { queue: { depth: number } }).queue.depth).toBe(0);
    expect(bridge.status()).toMatchObject({ last_error: null });
  });

  it('MQTT 3.1.1: bridge.max_qos caps the QoS the broker cannot announce', async () => {
    const upstream = await fake({ version: 4, onPublish: (p) => (p.qos > 1 ? 'close' : 'accept') });
    const { local } = await bridgeTo(upstream.url, {
      max_qos: 1,
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1 });
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/dev'));
    expect(upstream.publishes.find((p) => p.topic === 'gw1/dev')?.qos).toBe(1);
  });

  it('MQTT 5: Retain Available 0 strips the retain flag from the state and the queue', async () => {
    const upstream = await fake({
      version: 5,
      connackProperties: { retainAvailable: false },
      onPublish: (p) => (p.retain ? { send: { cmd: 'disconnect', reasonCode: 0x9a } } : 'accept'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, { protocol_version: '5' });
    await local.broker.publish('zephyr2mqtt/dev', 'kept', { qos: 1, retain: true });
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/dev'));
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/bridge/state'));
    expect(upstream.publishes.every((p) => !p.retain)).toBe(true);
    expect(bridge.status()).toMatchObject({ last_error: null });
  });

  it('MQTT 5: CONNACK 0x9A (Retain not supported) reconnects with a non-retained will and says so', async () => {
    const upstream = await fake({
      version: 5,
      onConnect: (p) =>
        p.will?.retain ? { send: { cmd: 'connack', reasonCode: 0x9a, sessionPresent: false } } : 'accept',
      onPublish: (p) => (p.retain ? { send: { cmd: 'disconnect', reasonCode: 0x9a } } : 'accept'),
    });
    const { local, events, waitForEvent } = await bridgeTo(upstream.url, { protocol_version: '5' });
    await waitForEvent('connected');
    expect(upstream.connects.map((c) => c.will?.retain)).toEqual([true, false]);
    expect(errorsOf(events)[0]).toMatch(/Retain not supported \(0x9A\); reconnecting with a non-retained last will/);
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1, retain: true });
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/dev'));
    expect(upstream.publishes.every((p) => !p.retain)).toBe(true);
  });

  it('bridge.retain: strip and link_state: false (MQTT 3.1.1, Azure IoT Hub): no retain, no will, no state', async () => {
    const upstream = await fake({ version: 4, onPublish: (p) => (p.retain ? 'close' : 'accept') });
    const { local } = await bridgeTo(upstream.url, { retain: 'strip', link_state: false });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 1, retain: true });
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/dev'));
    expect(upstream.publishes.map((p) => [p.topic, p.retain])).toEqual([['gw1/dev', false]]);
    expect(upstream.connects[0]?.will).toBeUndefined();
  });
});

describe('MQTT 5 DISCONNECT reason codes', () => {
  it('are reported in last_error and in the drop report of the message they refused', async () => {
    const upstream = await fake({
      version: 5,
      onPublish: (p) =>
        p.topic.endsWith('/deep')
          ? { send: { cmd: 'disconnect', reasonCode: 0x90, properties: { reasonString: 'more than 7 slashes' } } }
          : 'accept',
    });
    const { local, bridge, events, waitForEvent } = await bridgeTo(upstream.url, { protocol_version: '5' });
    await waitForEvent('connected');
    await local.broker.publish('zephyr2mqtt/deep', 'x', { qos: 1 });
    await local.broker.publish('zephyr2mqtt/dev', 'after', { qos: 1 });
    const report = await waitForEvent('queue_dropped', 20_000);
    expect(String(report.upstream_error)).toMatch(/\(0x90 Topic Name invalid: more than 7 slashes\): topic gw1\/deep/);
    expect(errorsOf(events)).toContain(
      `upstream ${upstream.url} disconnected the bridge: 0x90 Topic Name invalid: more than 7 slashes`,
    );
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/dev'));
    // Its PUBACK may still be on its way to the bridge.
    await expect.poll(() => (bridge.status() as { queue: { depth: number } }).queue.depth).toBe(0);
  });
});
