// A reconnect into a kept session (CONNACK Session Present 1) sends the messages still in flight again under their
// packet ids: nothing sent before them on the new connection (the link state publish, the SUBSCRIBEs, a message that
// needs a new id) may take one of those ids (MQTT-2.2.1-3), whatever id the new client's counter starts at.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UpstreamConfigInput } from '../../gateway/upstream/config.js';
import {
  publishesOn,
  type SessionUpstream,
  type SessionUpstreamOptions,
  startSessionBridge,
  startSessionUpstream,
} from './session-upstream.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Ports 22200-22209: one per test. */
let nextPort = 22200;

async function fake(opts: Omit<SessionUpstreamOptions, 'port'>) {
  const upstream = await startSessionUpstream({ ...opts, port: nextPort++ });
  cleanups.push(() => upstream.close());
  return upstream;
}

// The link state stays on: its publish is one of the packets whose ids are checked.
const bridgeTo = (url: string, config: Partial<UpstreamConfigInput>) =>
  startSessionBridge(url, { protocol_version: '5', link_state: true, ...config }, cleanups);

const DEV = 'gw1/dev';
const STATE = 'gw1/bridge/state';
const depth = (status: Record<string, unknown>) => (status.queue as { depth: number }).depth;
const ids = (upstream: SessionUpstream, conn: number) =>
  new Map(publishesOn(upstream.received, conn, DEV).map((p) => [String(p.payload), p.messageId]));

/** Drops the connection; the next client's packet id counter (mqtt.js DefaultMessageIdProvider, which starts at a
 * random id) starts at `id`. Math.random is stubbed only until that client has sent its CONNECT. */
async function reconnectWithIdsFrom(upstream: SessionUpstream, id: number): Promise<void> {
  const random = vi.spyOn(Math, 'random').mockReturnValue((id + 0.5) / 65535);
  const conn = upstream.connections + 1;
  upstream.dropAll();
  await upstream.waitFor(() => upstream.connections === conn, 'the next connection');
  random.mockRestore();
}

describe('packet ids on a reconnect into a kept session', () => {
  it('the link state publish and the SUBSCRIBE skip the ids of the messages sent again', async () => {
    const upstream = await fake({
      version: 5,
      sessionPresent: (conn) => conn > 1,
      onPublish: (p, conn) => (conn === 1 && p.topic === DEV ? 'ignore' : 'answer'),
    });
    const { local, bridge } = await bridgeTo(upstream.url, {
      link_state: true,
      topics: [
        { pattern: '#', direction: 'out', qos: 1 },
        { pattern: 'cmd/#', direction: 'in', qos: 1 },
      ],
    });
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
    await upstream.waitFor(() => ids(upstream, 1).size === 3, 'three unanswered publishes');
    const old = ids(upstream, 1);
    // The new counter starts at m0's id: unreserved, the link state publish takes it and the SUBSCRIBE the next.
    await reconnectWithIdsFrom(upstream, old.get('m0')!);
    await upstream.waitFor(() => ids(upstream, 2).size === 3, 'the three sent again');
    await expect.poll(() => depth(bridge.status())).toBe(0);
    expect(ids(upstream, 2)).toEqual(old);
    const oldIds = [...old.values()];
    const [state] = publishesOn(upstream.received, 2, STATE);
    const subscribes = upstream.received.flatMap((r) =>
      r.conn === 2 && r.packet.cmd === 'subscribe' ? [r.packet.messageId] : [],
    );
    expect(state?.qos).toBe(1);
    expect(subscribes).toHaveLength(1);
    expect(oldIds).not.toContain(state?.messageId);
    expect(oldIds).not.toContain(subscribes[0]);
  });

  it('a message that needs a new id does not take the old id of a later message still to be sent again', async () => {
    let queued!: () => void;
    const allQueued = new Promise<void>((r) => {
      queued = r;
    });
    const upstream = await fake({
      version: 5,
      sessionPresent: (conn) => conn > 1,
      // The first connection comes up with all three queued, so they go in one write: m0 is refused with 0x91
      // Packet Identifier in use (sent again under a new id), m1 and m2 stay unanswered.
      beforeConnack: (conn) => (conn === 1 ? allQueued : Promise.resolve()),
      onPublish: (p, conn) => {
        if (conn > 1 || p.topic !== DEV) return 'answer';
        return String(p.payload) === 'm0' ? { reasonCode: 0x91 } : 'ignore';
      },
    });
    const { local, bridge } = await bridgeTo(upstream.url, { link_state: false });
    for (let i = 0; i < 3; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
    await expect.poll(() => depth(bridge.status())).toBe(3);
    queued();
    await upstream.waitFor(() => ids(upstream, 1).size === 3, 'the three publishes');
    const old = ids(upstream, 1);
    // The counter of the connection after the refusal starts at m1's id, which m0 would take unreserved. Set
    // before the refusal has even reached the bridge, which then waits reconnect_min / 2 at least.
    const random = vi.spyOn(Math, 'random').mockReturnValue((old.get('m1')! + 0.5) / 65535);
    await upstream.waitFor(() => upstream.connections === 2, 'the reconnect after the refusal');
    random.mockRestore();
    await upstream.waitFor(() => ids(upstream, 2).size === 3, 'the three sent again');
    await expect.poll(() => depth(bridge.status())).toBe(0);
    const again = ids(upstream, 2);
    expect(again.get('m1')).toBe(old.get('m1'));
    expect(again.get('m2')).toBe(old.get('m2'));
    expect([old.get('m0'), old.get('m1'), old.get('m2')]).not.toContain(again.get('m0'));
  });
});
