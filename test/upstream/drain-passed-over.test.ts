// The backlog a connection drains at drain_rate ends where the queue ended when it came up, also when the reader
// passes over records the upstream acknowledged out of order before the last drop (they are not sent again): new
// messages after it go out at once, and `draining` says so.
import { afterEach, describe, expect, it } from 'vitest';
import { publishesOn, type SessionUpstream, startSessionBridge, startSessionUpstream } from './session-upstream.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PORT = 22401;
const DEV = 'gw1/dev';
const payloads = (upstream: SessionUpstream, conn: number) =>
  publishesOn(upstream.received, conn, DEV).map((p) => String(p.payload));

describe('drain_rate after a drop with messages acknowledged out of order', () => {
  it('the backlog ends after its last record, not after as many records as it held', async () => {
    const upstream = await startSessionUpstream({
      version: 5,
      port: PORT,
      sessionPresent: () => false,
      // Connection 1 leaves m0 unanswered and acknowledges m1..m9: the next connection sends m0 only.
      onPublish: (p, conn) => (conn === 1 && String(p.payload) === 'm0' ? 'ignore' : 'answer'),
    });
    cleanups.push(() => upstream.close());
    const b = await startSessionBridge(
      upstream.url,
      {
        protocol_version: '5',
        // One message a second, one of burst: the backlog's m0 goes at once, the next message a second later.
        drain_rate: 1,
        topics: [{ pattern: '#', direction: 'out', qos: 1 }],
      },
      cleanups,
    );
    const { local } = b;
    await b.waitForEvent('connected');
    // Sent live (no backlog when connection 1 came up): drain_rate's token is still there for connection 2.
    for (let i = 0; i < 10; i++) await local.broker.publish('zephyr2mqtt/dev', `m${i}`, { qos: 1 });
    await upstream.waitFor(() => payloads(upstream, 1).length === 10, 'the ten publishes');
    await expect.poll(() => (b.bridge.status().messages as { acked: number }).acked).toBe(9);
    upstream.dropAll();
    await upstream.waitFor(() => payloads(upstream, 2).length === 1, 'm0 sent again');
    // The backlog (m0..m9, m1..m9 passed over) is still being drained: the sender waits for drain_rate's next token.
    expect(b.bridge.status().draining).toBe(true);
    for (let i = 0; i < 2; i++) await local.broker.publish('zephyr2mqtt/dev', `n${i}`, { qos: 1 });
    await upstream.waitFor(() => payloads(upstream, 2).length >= 2, 'n0, with the next token');
    // n0 is past the backlog: it ended the drain, so n1 does not wait a second for a token.
    expect(b.bridge.status().draining).toBe(false);
    await upstream.waitFor(() => payloads(upstream, 2).length === 3, 'n1');
    expect(payloads(upstream, 2)).toEqual(['m0', 'n0', 'n1']);
  });
});
