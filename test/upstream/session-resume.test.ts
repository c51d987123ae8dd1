// A reconnect to an upstream that kept the session (CONNACK Session Present): the messages in flight are sent again
// under their packet ids with DUP set (MQTT-4.4.0-1, MQTT-3.3.1-1), a QoS 2 message the upstream took over gets
// only its PUBREL, and the `in` subscriptions do not make the upstream send its retained commands again.
import type { ISubscribePacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from '../../gateway/deferred.js';
import { type UpstreamConfigInput, upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { observe } from './brokers.js';
import {
  publishesOn,
  type Received,
  type SessionUpstreamOptions,
  sessionBridgeConfig,
  startSessionBridge,
  startSessionUpstream,
} from './session-upstream.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Ports 21810-21819: one per test, so a test never meets a port the last one left behind. */
let nextPort = 21810;

async function fake(opts: Omit<SessionUpstreamOptions, 'port'>) {
  const upstream = await startSessionUpstream({ ...opts, port: nextPort++ });
  cleanups.push(() => upstream.close());
  return upstream;
}

const bridgeTo = (url: string, config: Partial<UpstreamConfigInput>) => startSessionBridge(url, config, cleanups);

const DEV = 'gw1/dev';
const depth = (status: Record<string, unknown>) => (status.queue as { depth: number }).depth;
const sent = (publishes: Array<{ payload: Buffer | string; messageId?: number; dup: boolean }>) =>
  publishes.map((p) => ({ payload: String(p.payload), id: p.messageId, dup: p.dup }));

describe('messages in flight when the connection drops', () => {
  for (const version of ['5', '3.1.1'] as const) {
    it(`MQTT ${version}, Session Present 1: sent again first, with the same packet ids and DUP 1`, async () => {
      const upstream = await fake({
        version: version === '5' ? 5 : 4,
        sessionPresent: (conn) => conn > 1,
        onPublish: (p, conn) => (conn === 1 && p.topic === DEV ? 'ignore' : 'answer'),
      });
      const { local, bridge } = await bridgeTo(upstream.url, {
        protocol_version: version,
        topics: [{ pattern: '#', direction: 'out', qos: 1 }],
      });
      for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
      await upstream.waitFor(() => publishesOn(upstream.received, 1, DEV).length === 3, 'three unanswered publishes');
      upstream.dropAll();
      await upstream.waitFor(() => publishesOn(upstream.received, 2, DEV).length === 3, 'the three sent again');
      const first = sent(publishesOn(upstream.received, 1, DEV));
      expect(first.map((p) => p.dup)).toEqual([false, false, false]);
      expect(sent(publishesOn(upstream.received, 2, DEV))).toEqual(first.map((p) => ({ ...p, dup: true })));
      await expect.poll(() => depth(bridge.status())).toBe(0);
    });
  }

  it('Session Present 0: sent again with DUP 1 (new packet ids are allowed), then new messages with DUP 0', async () => {
    const upstream = await fake({
      version: 5,
      sessionPresent: () => false,
      onPublish: (p, conn) => (conn === 1 && p.topic === DEV ? 'ignore' : 'answer'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      protocol_version: '5',
      topics: [{ pattern: '#', direction: 'out', qos: 1 }],
    });
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
    await upstream.waitFor(() => publishesOn(upstream.received, 1, DEV).length === 3, 'three unanswered publishes');
    upstream.dropAll();
    await upstream.waitFor(() => publishesOn(upstream.received, 2, DEV).length === 3, 'the three sent again');
    await local.broker.publish('zephyr2mqtt/dev', 'm3', { qos: 1 });
    await upstream.waitFor(() => publishesOn(upstream.received, 2, DEV).length === 4, 'a new message');
    expect(sent(publishesOn(upstream.received, 2, DEV)).map(({ payload, dup }) => ({ payload, dup }))).toEqual([
      { payload: 'm0', dup: true },
      { payload: 'm1', dup: true },
      { payload: 'm2', dup: true },
      { payload: 'm3', dup: false },
    ]);
    await expect.poll(() => depth(bridge.status())).toBe(0);
  });

  it('Session Present 1: a message refused with 0x91 Packet Identifier in use is sent again under a new id', async () => {
    const upstream = await fake({
      version: 5,
      sessionPresent: (conn) => conn > 1,
      onPublish: (p, conn) => (conn === 1 && p.topic === DEV ? { reasonCode: 0x91 } : 'answer'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      protocol_version: '5',
      topics: [{ pattern: '#', direction: 'out', qos: 1 }],
    });
    await local.broker.publish('zephyr2mqtt/dev', 'm0', { qos: 1 });
    await upstream.waitFor(() => publishesOn(upstream.received, 2, DEV).length === 1, 'the message sent again');
    await expect.poll(() => depth(bridge.status())).toBe(0);
    const [first] = sent(publishesOn(upstream.received, 1, DEV));
    const [again] = sent(publishesOn(upstream.received, 2, DEV));
    expect(again?.payload).toBe('m0');
    expect(again?.id).not.toBe(first?.id);
  });

  it('QoS 2, Session Present 1: a message the upstream PUBRECed gets only its PUBREL, the others their PUBLISH again', async () => {
    const upstream = await fake({
      version: 5,
      sessionPresent: (conn) => conn > 1,
      // The first connection takes over m1 only (PUBREC), and its PUBREL goes unanswered.
      onPublish: (p, conn) => (conn === 1 && p.topic === DEV && String(p.payload) !== 'm1' ? 'ignore' : 'answer'),
      onPubrel: (_id, conn) => (conn === 1 ? 'ignore' : 'answer'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      protocol_version: '5',
      topics: [{ pattern: '#', direction: 'out', qos: 2 }],
    });
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 2 });
    const pubrels = (conn: number) =>
      upstream.received.flatMap((r) => (r.conn === conn && r.packet.cmd === 'pubrel' ? [r.packet.messageId] : []));
    await upstream.waitFor(() => pubrels(1).length === 1, 'the PUBREL of m1');
    upstream.dropAll();
    await upstream.waitFor(() => publishesOn(upstream.received, 2, DEV).length >= 2, 'm0 and m2 sent again');
    await expect.poll(() => depth(bridge.status())).toBe(0);
    const first = sent(publishesOn(upstream.received, 1, DEV));
    // m1's PUBREL first (mqtt.js sends what it owes before anything else), then those of m0 and m2.
    expect(pubrels(2)).toEqual([first[1]!.id, first[0]!.id, first[2]!.id]);
    expect(sent(publishesOn(upstream.received, 2, DEV))).toEqual([
      { ...first[0]!, dup: true },
      { ...first[2]!, dup: true },
    ]);
  });
});

const subscribes = (received: Received[], conn: number) =>
  received.flatMap((r) =>
    r.conn === conn && r.packet.cmd === 'subscribe' ? (r.packet as ISubscribePacket).subscriptions : [],
  );

describe('the `in` subscriptions on a reconnect', () => {
  const topics = [
    { pattern: '+/set', direction: 'in', qos: 1 },
    { pattern: 'marker', direction: 'out', qos: 1 },
  ] as const;
  const retained = [{ filter: 'gw1/+/set', topic: 'gw1/lamp/set', payload: '{"state":"TOGGLE"}' }];

  /** Waits until connection `conn` has sent a message published locally after it came up: the SUBSCRIBEs of a
   * connection come before anything it sends from the queue. */
  async function settled(upstream: Awaited<ReturnType<typeof fake>>, publish: () => Promise<void>, conn: number) {
    await upstream.waitFor(() => upstream.connections >= conn, `connection ${conn}`);
    await publish();
    await upstream.waitFor(() => publishesOn(upstream.received, conn, 'gw1/marker').length > 0, `marker ${conn}`);
  }

  /**
   * An MQTT 3.1.1 upstream that keeps the session from connection 2 on and answers that connection's CONNECT only
   * once `release()` is called, and a bridge of `topics` to it: `marker()` publishes locally on gw1/marker, and
   * `reload(mappings)` reconfigures the bridge to other topics.
   */
  async function secondConnackHeld() {
    const held = deferred();
    const upstream = await fake({
      version: 4,
      sessionPresent: (conn) => conn > 1,
      beforeConnack: (conn) => (conn === 2 ? held.promise : Promise.resolve()),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      protocol_version: '3.1.1',
      topics: topics.map((t) => ({ ...t })),
    });
    const marker = () => local.broker.publish('zephyr2mqtt/marker', 'x', { qos: 1 });
    const reload = (mappings: ReadonlyArray<{ pattern: string; direction: 'in' | 'out'; qos: 1 }>) =>
      bridge.reconfigure(
        upstreamConfigSchema.parse({
          enabled: true,
          protocol_version: '3.1.1',
          ...sessionBridgeConfig(upstream.url, { topics: mappings.map((t) => ({ ...t })) }),
        }),
      );
    return { upstream, marker, reload, release: held.resolve };
  }

  it('MQTT 3.1.1, Session Present 1: nothing is subscribed again and a retained command arrives once; Session Present 0: everything is', async () => {
    const upstream = await fake({ version: 4, sessionPresent: (conn) => conn === 2 || conn === 3, retained });
    const { local } = await bridgeTo(upstream.url, {
      protocol_version: '3.1.1',
      topics: topics.map((t) => ({ ...t })),
    });
    const down = await observe(local.url, 'zephyr2mqtt/lamp/set');
    cleanups.push(() => down.close());
    const marker = () => local.broker.publish('zephyr2mqtt/marker', 'x', { qos: 1 });
    await settled(upstream, marker, 1);
    await down.waitFor((s) => s.length > 0, 5_000, 'the retained command');
    for (const conn of [2, 3]) {
      upstream.dropAll();
      await settled(upstream, marker, conn);
    }
    expect([1, 2, 3].map((conn) => subscribes(upstream.received, conn).map((s) => s.topic))).toEqual([
      ['gw1/+/set'],
      [],
      [],
    ]);
    upstream.dropAll();
    await settled(upstream, marker, 4);
    expect(subscribes(upstream.received, 4).map((s) => s.topic)).toEqual(['gw1/+/set']);
    await down.waitFor((s) => s.length === 2, 5_000, 'the retained command of the new session');
    expect(down.seen.slice(0, 1).map((m) => m.payload)).toEqual(['{"state":"TOGGLE"}']);
  });

  it('MQTT 3.1.1, Session Present 1: a filter added by a reload while the link was down is subscribed, the others not', async () => {
    const { upstream, marker, reload, release } = await secondConnackHeld();
    await settled(upstream, marker, 1);
    upstream.dropAll();
    await upstream.waitFor(() => upstream.connections >= 2, 'connection 2');
    await reload([...topics, { pattern: 'alerts/#', direction: 'in', qos: 1 }]);
    release();
    await settled(upstream, marker, 2);
    expect(subscribes(upstream.received, 1).map((s) => s.topic)).toEqual(['gw1/+/set']);
    expect(subscribes(upstream.received, 2).map((s) => s.topic)).toEqual(['gw1/alerts/#']);
  });

  it('MQTT 3.1.1, Session Present 1: a filter unsubscribed by a reload, then added back while the link was down, is subscribed', async () => {
    const { upstream, marker, reload, release } = await secondConnackHeld();
    await settled(upstream, marker, 1);
    await reload(topics.filter((t) => t.direction === 'out'));
    await upstream.waitFor(
      () => upstream.received.some((r) => r.conn === 1 && r.packet.cmd === 'unsubscribe'),
      'the UNSUBSCRIBE',
    );
    upstream.dropAll();
    await upstream.waitFor(() => upstream.connections >= 2, 'connection 2');
    await reload(topics);
    release();
    await settled(upstream, marker, 2);
    expect(subscribes(upstream.received, 2).map((s) => s.topic)).toEqual(['gw1/+/set']);
  });

  it('MQTT 5 subscribes with Retain Handling 1 (retained messages only for a new subscription), No Local and Retain As Published', async () => {
    const upstream = await fake({ version: 5, sessionPresent: (conn) => conn > 1 });
    const { local } = await bridgeTo(upstream.url, { protocol_version: '5', topics: topics.map((t) => ({ ...t })) });
    const marker = () => local.broker.publish('zephyr2mqtt/marker', 'x', { qos: 1 });
    await settled(upstream, marker, 1);
    upstream.dropAll();
    await settled(upstream, marker, 2);
    for (const conn of [1, 2])
      expect(subscribes(upstream.received, conn)).toEqual([{ topic: 'gw1/+/set', qos: 1, nl: true, rap: true, rh: 1 }]);
  });
});
