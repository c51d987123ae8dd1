// A wildcard bind ("::") also binds every host address on the same port, so an answer leaves from the address it
// was asked on (RFC 7252 §5.3.2); the list follows the host's addresses; a port in use still fails the start.
// The cross-link case (two addresses on one interface, a libcoap client that drops answers from the wrong one) is
// in test/interop/coap-netns.test.ts.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressFamilies } from '../../../adapters/coap/transport/local-addresses.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

stopEndpointsAfterEach();
const holders: Socket[] = [];
afterEach(() => {
  for (const s of holders.splice(0)) s.close();
});

async function occupy(reuseAddr: boolean): Promise<number> {
  const socket = createSocket({ type: 'udp6', reuseAddr });
  holders.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: '::', port: 0 }, () => resolve());
  });
  return socket.address().port;
}

describe('a wildcard CoAP bind', () => {
  it("binds the host's addresses beside it and follows them as they come and go", async () => {
    let host = ['::1'];
    const asked: AddressFamilies[] = [];
    const server = await endpoint({
      bindAddress: '::',
      localAddresses: (families) => {
        asked.push(families);
        return host;
      },
      addressRefreshMs: 20,
    });
    expect(asked[0]).toEqual({ v4: true, v6: true });
    expect(server.boundAddresses()).toEqual(['::', '::1']);
    server.route('t', () => ({ code: '2.05', payload: 'here' }));
    const client = await endpoint({ bindAddress: '127.0.0.1' });
    const ask = (address: string) =>
      client.request({ peer: { address, port: server.port }, method: 'GET', path: ['t'], timeoutMs: 2000 });

    host = ['127.0.0.1', '::1'];
    await expect
      .poll(() => server.boundAddresses(), { timeout: 3000, interval: 10 })
      .toEqual(['::', '::1', '127.0.0.1']);
    expect((await ask('127.0.0.1')).payload.toString()).toBe('here');
    host = [];
    await expect.poll(() => server.boundAddresses(), { timeout: 3000, interval: 10 }).toEqual(['::']);
    // The wildcard still serves every address.
    expect((await ask('127.0.0.1')).payload.toString()).toBe('here');
  });

  it("binds the host's real addresses by default (loopback at least)", async () => {
    const server = await endpoint({ bindAddress: '::' });
    expect(server.boundAddresses()).toEqual(expect.arrayContaining(['::', '::1', '127.0.0.1']));
    expect(server.boundAddresses()[0]).toBe('::');
  });

  it('still fails on a port in use, whether its holder set SO_REUSEADDR or not', async () => {
    for (const reuse of [false, true]) {
      const port = await occupy(reuse);
      const ep = new UdpCoapEndpoint({ bindAddress: '::', port, localAddresses: () => ['::1'] });
      await expect(ep.start(), `holder reuseAddr ${reuse}`).rejects.toThrow(/EADDRINUSE/);
      await ep.stop();
    }
  });

  it('binds no host address for an explicit list without a wildcard', async () => {
    const server = await endpoint({ bindAddress: ['::1'], localAddresses: () => ['127.0.0.1'] });
    expect(server.boundAddresses()).toEqual(['::1']);
  });
});
