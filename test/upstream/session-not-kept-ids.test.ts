// Packet ids across a session the upstream did not keep: a connection with Session Present 0 forgets the ids the
// messages in flight had in the session before, so a message it did not get to before it dropped is sent on the
// next kept session under a new id (still DUP: it was sent before), not under an id that session never held.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishesOn, type SessionUpstream, startSessionBridge, startSessionUpstream } from './session-upstream.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PORT = 22400;
const DEV = 'gw1/dev';
const depth = (status: Record<string, unknown>) => (status.queue as { depth: number }).depth;
const sent = (upstream: SessionUpstream, conn: number) =>
  new Map(publishesOn(upstream.received, conn, DEV).map((p) => [String(p.payload), { id: p.messageId, dup: p.dup }]));

describe('a session the upstream did not keep', () => {
  it('a message the connection did not get to is sent on the next kept session under a new id', async () => {
    let restoreRandom = () => {};
    let nextIds = 0;
    const upstream: SessionUpstream = await startSessionUpstream({
      version: 5,
      port: PORT,
      // 1: a new session; 2: not kept (the ids of 1 are gone); 3: keeps the session of 2.
      sessionPresent: (conn) => conn === 3,
      onPublish: (p, conn) => {
        if (p.topic !== DEV || conn === 3) return 'answer';
        if (conn === 1) return 'ignore';
        // Connection 2 drops on m0, the only message drain_rate lets it send at once; the next client's packet id
        // counter starts at nextIds, far from the ids of connection 1.
        const random = vi.spyOn(Math, 'random').mockReturnValue((nextIds + 0.5) / 65535);
        restoreRandom = () => random.mockRestore();
        return 'close';
      },
    });
    cleanups.push(() => upstream.close());
    const b = await startSessionBridge(
      upstream.url,
      {
        protocol_version: '5',
        drain_rate: 1,
        topics: [{ pattern: '#', direction: 'out', qos: 1 }],
      },
      cleanups,
    );
    const { local } = b;
    await b.waitForEvent('connected');
    // Sent live (no backlog when connection 1 came up), so drain_rate's one token is still there for connection 2.
    for (let i = 0; i < 2; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
    await upstream.waitFor(() => sent(upstream, 1).size === 2, 'two unanswered publishes');
    const first = sent(upstream, 1);
    const m1Id = first.get('m1')!.id!;
    nextIds = ((m1Id + 30_000) % 65_535) + 1;
    upstream.dropAll();
    await upstream.waitFor(() => upstream.connections === 3, 'the connection after the one dropped on m0');
    restoreRandom();
    await upstream.waitFor(() => sent(upstream, 3).size === 2, 'both sent on the kept session');
    await expect.poll(() => depth(b.bridge.status())).toBe(0);
    const second = sent(upstream, 2);
    const third = sent(upstream, 3);
    expect([...second.keys()]).toEqual(['m0']);
    // m0 was sent in the session kept: again under that id. m1 never was: a new id, not the one of connection 1.
    expect(third.get('m0')).toEqual({ id: second.get('m0')!.id, dup: true });
    expect(third.get('m1')?.id).not.toBe(m1Id);
    expect(third.get('m1')?.dup).toBe(true);
  });
});
