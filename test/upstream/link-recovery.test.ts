// What the bridge gives up on, and how it comes back: a broker that is only busy for a while must not get a topic
// refused, a refused SUBSCRIBE is not blamed on a message, a given-up link state is tried again, and a QoS 2
// message the upstream took over (PUBREC) is not published twice.
import { afterEach, describe, expect, it } from 'vitest';
import { type UpstreamConfigInput, upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { type FakeUpstreamOptions, startFakeUpstream } from './fake-upstream.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fake(opts: FakeUpstreamOptions) {
  const upstream = await startFakeUpstream(opts);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function bridgeTo(url: string, config: Partial<UpstreamConfigInput> = {}, stateRetryMs?: number) {
  const dir = await tempDataDir(cleanups);
  const b = await startLocalBridge(cleanups, dir, { url, ...config }, stateRetryMs ? { hooks: { stateRetryMs } } : {});
  await b.bridge.start();
  return b;
}

const reload = (url: string, config: Partial<UpstreamConfigInput> = {}) =>
  upstreamConfigSchema.parse({
    enabled: true,
    protocol_version: '3.1.1',
    reconnect_min: 0.05,
    reconnect_max: 0.5,
    url,
    ...config,
  });

type Status = { last_error: string | null; queue: { depth: number }; messages: { acked: number } };
const devicePayloads = (publishes: Array<{ topic: string; payload: Buffer | string }>) =>
  publishes.filter((p) => p.topic === 'gw1/dev').map((p) => String(p.payload));

describe('MQTT 5 DISCONNECT reasons that do not blame the message', () => {
  for (const code of [0x89, 0x97]) {
    it(`0x${code.toString(16)}: a broker that disconnects the first four connections loses no message and refuses no topic`, async () => {
      const upstream = await fake({
        version: 5,
        onPublish: (p) =>
          p.topic === 'gw1/dev' && upstream.connects.length <= 4
            ? { send: { cmd: 'disconnect', reasonCode: code } }
            : 'accept',
      });
      const { local, bridge, events } = await bridgeTo(upstream.url, { protocol_version: '5', link_state: false });
      await local.broker.publish('zephyr2mqtt/dev', 'm1', { qos: 1 });
      await upstream.waitFor(() => upstream.connects.length >= 5, 15_000, 'the fifth connection');
      await local.broker.publish('zephyr2mqtt/dev', 'm2', { qos: 1 });
      await upstream.waitFor(() => devicePayloads(upstream.publishes).includes('m2'), 10_000, 'm2');
      expect(devicePayloads(upstream.publishes)).toEqual(['m1', 'm2']);
      expect(events.filter((e) => e.type === 'queue_dropped')).toEqual([]);
      // The upstream records m2 before it sends the PUBACK.
      await expect.poll(() => bridge.status()).toMatchObject({ dropped: { rejected: 0 }, queue: { depth: 0 } });
    });
  }

  it('0x87 Not authorized still gives the message up (and its topic) after the usual strikes', async () => {
    const upstream = await fake({
      version: 5,
      onPublish: (p) => (p.topic === 'gw1/denied' ? { send: { cmd: 'disconnect', reasonCode: 0x87 } } : 'accept'),
    });
    const { local, waitForEvent } = await bridgeTo(upstream.url, { protocol_version: '5', link_state: false });
    await local.broker.publish('zephyr2mqtt/denied', 'x', { qos: 1 });
    const report = await waitForEvent('queue_dropped', 20_000);
    expect(String(report.upstream_error)).toMatch(/\(0x87 Not authorized\): topic gw1\/denied/);
  });
});

describe('MQTT 3.1.1: a close while a SUBSCRIBE waits for its SUBACK', () => {
  it('is blamed on the subscription (named), not on the message in flight; the message goes once the mapping is fixed', async () => {
    const upstream = await fake({ version: 4, onSubscribe: () => 'close' });
    const topics = [
      { pattern: '#', direction: 'out', qos: 1 },
      { pattern: 'cmd/#', direction: 'in', qos: 1 },
    ] as const;
    const { local, bridge, events } = await bridgeTo(upstream.url, { topics: [...topics] });
    await local.broker.publish('zephyr2mqtt/dev', 'm1', { qos: 1 });
    // Enough connections for a poison verdict (4) had the close been blamed on m1.
    await upstream.waitFor(() => upstream.connects.length >= 7, 15_000, 'seven connections');
    expect(events.filter((e) => e.type === 'queue_dropped')).toEqual([]);
    expect(String((bridge.status() as Status).last_error)).toMatch(
      /closed the connection before answering the subscription to gw1\/cmd\/#: check that the broker's policy allows subscribing to it/,
    );
    await bridge.reconfigure(reload(upstream.url));
    await local.broker.publish('zephyr2mqtt/dev', 'm2', { qos: 1 });
    await upstream.waitFor(() => devicePayloads(upstream.publishes).includes('m2'), 10_000, 'm2');
    expect(new Set(devicePayloads(upstream.publishes))).toEqual(new Set(['m1', 'm2']));
  });
});

describe('a given-up link state', () => {
  it('is published again after a reload that changes nothing, and last_error no longer says it is given up', async () => {
    let refuseState = true;
    const upstream = await fake({
      version: 4,
      onPublish: (p) => (refuseState && p.topic === 'gw1/bridge/state' ? 'close' : 'accept'),
    });
    const { bridge } = await bridgeTo(upstream.url);
    await expect
      .poll(() => (bridge.status() as Status).last_error, { timeout: 10_000 })
      .toMatch(/the link state is not published for now/);
    refuseState = false;
    await bridge.reconfigure(reload(upstream.url));
    await upstream.waitFor(() => upstream.publishes.some((p) => p.topic === 'gw1/bridge/state'), 10_000, 'the state');
    await expect.poll(() => (bridge.status() as Status).last_error).toBeNull();
  });

  it('is published again on a connection that stays up (a flaky link is not a policy)', async () => {
    let stateTries = 0;
    const upstream = await fake({
      version: 4,
      onPublish: (p) => (p.topic === 'gw1/bridge/state' && ++stateTries <= 2 ? 'close' : 'accept'),
    });
    const { bridge } = await bridgeTo(upstream.url, {}, 200);
    await upstream.waitFor(
      () => upstream.publishes.some((p) => p.topic === 'gw1/bridge/state' && String(p.payload).includes('online')),
      10_000,
      'the state published again',
    );
    expect(stateTries).toBe(3);
    await expect.poll(() => (bridge.status() as Status).last_error).toBeNull();
  });
});

describe('QoS 2: the connection drops between PUBREC and PUBCOMP', () => {
  const qos2 = { protocol_version: '5', topics: [{ pattern: '#', direction: 'out', qos: 2 }] } as const;

  it('the upstream kept the session: only the PUBREL is sent again, the message is published once', async () => {
    let pubrels = 0;
    const upstream = await fake({
      version: 5,
      keepsSessions: true,
      onPubrel: () => (++pubrels <= 1 ? 'close' : 'accept'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, { ...qos2, topics: [...qos2.topics], clean_session: false });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 2 });
    await upstream.waitFor(() => pubrels >= 2, 10_000, 'the PUBREL sent again');
    await expect.poll(() => bridge.status() as Status).toMatchObject({ queue: { depth: 0 }, messages: { acked: 1 } });
    expect(devicePayloads(upstream.publishes)).toEqual(['x']);
  });

  it('the upstream lost the session (Session Present 0): the message is sent again, at least once', async () => {
    let pubrels = 0;
    const upstream = await fake({ version: 5, onPubrel: () => (++pubrels <= 1 ? 'close' : 'accept') });
    const { local } = await bridgeTo(upstream.url, { ...qos2, topics: [...qos2.topics], clean_session: false });
    await local.broker.publish('zephyr2mqtt/dev', 'x', { qos: 2 });
    await upstream.waitFor(() => devicePayloads(upstream.publishes).length === 2, 10_000, 'the message sent again');
  });
});
