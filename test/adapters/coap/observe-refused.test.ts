// A route's observeRefused hears of each request with Observe answered with an error, here the 5.00 of a handler
// that threw or rejected (no request we found makes the /ps handler throw, so not through it; ps-observe-errors.test.ts
// covers the other errors through the gateway), and of no other request.
import { describe, expect, it } from 'vitest';
import type { CoapIncomingRequest, CoapRequestHandler } from '../../../adapters/coap/endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { OBSERVE, URI_PATH } from './option-numbers.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';

stopEndpointsAfterEach();
closePeersAfterEach();

/** An endpoint serving /r with `handler`, and what its observeRefused was told. */
async function serving(handler: CoapRequestHandler) {
  const server = await endpoint();
  const refused: Array<Omit<CoapIncomingRequest, 'payload'>> = [];
  server.route('r', handler, { observeRefused: (req) => refused.push(req) });
  const device = await rawPeer();
  const get = (mid: number, observe: boolean) =>
    device.exchange(
      frame({
        type: 'CON',
        code: '0.01',
        mid,
        token: [0xa0, mid],
        options: [...(observe ? [[OBSERVE, []] as [number, number[]]] : []), [URI_PATH, 'r']],
      }),
      server.port,
    );
  return { device, refused, get };
}

const throws: CoapRequestHandler = () => {
  throw new Error('boom');
};
const rejects: CoapRequestHandler = () => Promise.reject(new Error('boom'));

describe("a route's observeRefused", () => {
  it.each([
    ['throws', throws],
    ['rejects', rejects],
  ])('is told of a GET with Observe whose handler %s (5.00)', async (_, handler) => {
    const { device, refused, get } = await serving(handler);
    expect((await get(1, true))?.code).toBe('5.00');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ method: 'GET', path: ['r'], observe: 0, source: { port: device.port } });
    expect(refused[0]?.token).toEqual(Buffer.from([0xa0, 1]));
  });

  it('is not told of a 5.00 to a request without Observe, nor of a 2.05 to one with it', async () => {
    let fail = true;
    const { refused, get } = await serving(() => {
      if (fail) throw new Error('boom');
      return { code: '2.05', observe: 3 };
    });
    expect((await get(1, false))?.code).toBe('5.00');
    fail = false;
    expect((await get(2, true))?.code).toBe('2.05');
    expect(refused).toEqual([]);
  });
});
