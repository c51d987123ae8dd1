// Client observations must not outlive their relation: a failed Block2 completion, cancel() and stop() each remove
// the token listener and free the observation slot, and nothing is delivered afterwards.
import { describe, expect, it } from 'vitest';
import type { CoapClientResponse, CoapIncomingRequest } from '../../../adapters/coap/endpoint.js';
import type { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

stopEndpointsAfterEach();

/** A server whose /obs accepts observations; `body` is what GETs (and Block2 follow-ups) return. */
async function observable(firstBody: Buffer) {
  const server = await endpoint({ blockSize: 64 });
  const observers: CoapIncomingRequest[] = [];
  let body = firstBody;
  server.route('obs', (req) => {
    if (req.observe === 0) observers.push(req);
    return { code: '2.05', payload: body, observe: req.observe === 0 ? 1 : undefined };
  });
  return {
    server,
    observers,
    setBody: (b: Buffer) => {
      body = b;
    },
  };
}

function observationStats(ep: UdpCoapEndpoint) {
  const { observations, pending_tokens } = ep.stats();
  return { observations, pending_tokens };
}

const idle = { observations: 0, pending_tokens: 0 };

describe('client observation cleanup', () => {
  it('a registration whose Block2 answer is too large fails without leaving a listener or a slot', async () => {
    const { server } = await observable(Buffer.alloc(1000, 'x'));
    const client = await endpoint({ maxPayloadBytes: 200 });
    const notes: CoapClientResponse[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(
        client.observe({ peer: { address: '::1', port: server.port }, method: 'GET', path: ['obs'] }, (r) =>
          notes.push(r),
        ),
      ).rejects.toThrow(/exceeds 200 bytes \(max_payload\)/);
      expect(observationStats(client)).toEqual(idle);
    }
    expect(notes).toEqual([]);
  });

  it('a notification whose Block2 completion fails ends the relation and is reported as 5.02', async () => {
    const { server, observers, setBody } = await observable(Buffer.from('small'));
    const client = await endpoint({ maxPayloadBytes: 200 });
    const notes: CoapClientResponse[] = [];
    let noted: () => void = () => {};
    const observation = await client.observe(
      { peer: { address: '::1', port: server.port }, method: 'GET', path: ['obs'] },
      (res) => {
        notes.push(res);
        noted();
      },
    );
    expect(observation.first.payload.toString()).toBe('small');
    const o = observers[0] as CoapIncomingRequest;
    setBody(Buffer.alloc(1000, 'y'));
    const reported = new Promise<void>((resolve) => {
      noted = resolve;
    });
    // notify() sends the first 64-byte block; the client fetches the rest until it passes its 200-byte limit.
    expect(await server.notify(o.source, o.token, 2, { code: '2.05', payload: Buffer.alloc(1000, 'y') })).toBe('ack');
    await reported;
    expect(notes.map((n) => n.code)).toEqual(['5.02']);
    expect(notes[0]?.payload.toString()).toMatch(/exceeds 200 bytes/);
    expect(observationStats(client)).toEqual(idle);
    // The relation is gone on the client, so the server's next notification is rejected (RFC 7641 §3.6).
    expect(await server.notify(o.source, o.token, 3, { code: '2.05', payload: 'again' })).toBe('rst');
    expect(notes).toHaveLength(1);
    await observation.cancel();
    expect(observationStats(client)).toEqual(idle);
  });

  it('cancel() and stop() free every observation and deliver nothing afterwards', async () => {
    const { server, observers } = await observable(Buffer.from('v0'));
    const client = await endpoint();
    const notes: string[] = [];
    const peer = { address: '::1', port: server.port };
    const first = await client.observe({ peer, method: 'GET', path: ['obs'] }, (r) => notes.push(r.payload.toString()));
    await client.observe({ peer, method: 'GET', path: ['obs'] }, (r) => notes.push(r.payload.toString()));
    expect(observationStats(client)).toEqual({ observations: 2, pending_tokens: 2 });
    await first.cancel();
    expect(observationStats(client)).toEqual({ observations: 1, pending_tokens: 1 });
    await client.stop();
    expect(observationStats(client)).toEqual(idle);
    const o = observers[1] as CoapIncomingRequest;
    await server.notify(o.source, o.token, 5, { code: '2.05', payload: 'late' }, false);
    // A window, not an event: the client is stopped, so nothing it could answer can mark the end; a datagram on
    // loopback takes well under 100 ms.
    await new Promise((r) => setTimeout(r, 100));
    expect(notes).toEqual([]);
  });
});
