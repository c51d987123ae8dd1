// multicast(): every responder's answer is delivered whole, a Block2 answer completed with unicast GETs to that
// responder (RFC 7959 §2.8). Loopback has no multicast group, so the "group" here is ::1; what is exercised is the
// many-answers path that a group address takes.
import { describe, expect, it } from 'vitest';
import type { CoapClientResponse } from '../../../adapters/coap/endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

stopEndpointsAfterEach();

const links = Array.from({ length: 20 }, (_, i) => `</sensors/s${i}>;rt="temperature";if="sensor"`).join(',');

describe('multicast requests', () => {
  it('completes a Block2 answer with unicast follow-ups to the responder', async () => {
    const responder = await endpoint({ blockSize: 64 });
    responder.route('.well-known', () => ({ code: '2.05', contentFormat: 40, payload: links }));
    const client = await endpoint();
    const answers: CoapClientResponse[] = [];
    await client.multicast(
      { peer: { address: '::1', port: responder.port }, method: 'GET', path: ['.well-known', 'core'] },
      200,
      (res) => answers.push(res),
    );
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ code: '2.05', contentFormat: 40, source: { port: responder.port } });
    expect(answers[0]?.payload.toString()).toBe(links);
    expect(client.stats().pending_tokens).toBe(0);
  });

  it('reports a Block2 answer it cannot complete as 5.02 instead of a cut-off payload', async () => {
    const responder = await endpoint({ blockSize: 64 });
    responder.route('.well-known', () => ({ code: '2.05', contentFormat: 40, payload: links }));
    const client = await endpoint({ maxPayloadBytes: 128 });
    const answers: CoapClientResponse[] = [];
    await client.multicast(
      { peer: { address: '::1', port: responder.port }, method: 'GET', path: ['.well-known', 'core'] },
      200,
      (res) => answers.push(res),
    );
    expect(answers.map((a) => [a.code, a.payload.toString()])).toEqual([
      ['5.02', expect.stringMatching(/exceeds 128 bytes/)],
    ]);
  });
});
