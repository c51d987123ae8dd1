// A response's onObserving that throws is reported as the handler's error, and the answer that registered it still
// goes out: for an async handler too, where the throw would otherwise reject a promise nobody waits on.
import { describe, expect, it } from 'vitest';
import type { CoapIncomingRequest, CoapRequestHandler } from '../../../adapters/coap/endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { OBSERVE, URI_PATH } from './option-numbers.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';

stopEndpointsAfterEach();
closePeersAfterEach();

const response = () => ({
  code: '2.05',
  observe: 3,
  payload: 'on',
  onObserving: () => {
    throw new Error('boom');
  },
});

describe('a onObserving that throws', () => {
  it.each<[string, CoapRequestHandler]>([
    ['a handler', response],
    ['an async handler', async () => response()],
  ])('after %s: the client gets its 2.05, and onHandlerError is told', async (_, handler) => {
    const errors: Array<[unknown, CoapIncomingRequest]> = [];
    const server = await endpoint({ onHandlerError: (error, req) => errors.push([error, req]) });
    server.route('r', handler);
    const device = await rawPeer();
    const request = frame({
      type: 'CON',
      code: '0.01',
      mid: 7,
      token: [0xb0],
      options: [
        [OBSERVE, []],
        [URI_PATH, 'r'],
      ],
    });
    const answer = await device.exchange(request, server.port);
    expect([answer?.type, answer?.code, answer?.messageId, answer?.observe, answer?.payload.toString()]).toEqual([
      'ACK',
      '2.05',
      7,
      3,
      'on',
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toMatchObject({ message: 'boom' });
    expect(errors[0]?.[1]).toMatchObject({ method: 'GET', path: ['r'], observe: 0, source: { port: device.port } });
  });
});
