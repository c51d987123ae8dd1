// Several bind addresses: one socket each on the same port, and every answer leaves by the address it was asked on
// (a client accepts an answer only from the address and port it sent to).
import { afterEach, describe, expect, it } from 'vitest';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { type CoapHarness, startCoapHarness } from './harness.js';

const fast = { ackTimeoutMs: 50, ackRandomFactor: 1.5, maxRetransmit: 2 };
const endpoints: UdpCoapEndpoint[] = [];
let h: CoapHarness | undefined;

afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((ep) => ep.stop()));
  await h?.stop();
  h = undefined;
});

async function client(bindAddress: string): Promise<UdpCoapEndpoint> {
  const ep = new UdpCoapEndpoint({ bindAddress, port: 0, transmission: fast });
  await ep.start();
  endpoints.push(ep);
  return ep;
}

describe('CoAP on several bind addresses', () => {
  it('serves each address on the same port and answers from the address asked', async () => {
    const server = new UdpCoapEndpoint({ bindAddress: ['127.0.0.1', '::1'], port: 0, transmission: fast });
    await server.start();
    endpoints.push(server);
    server.route('who', (req) => ({ code: '2.05', payload: req.source.address }));
    for (const [bind, address] of [
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
    ] as const) {
      const res = await (await client(bind)).request({
        peer: { address, port: server.port },
        method: 'GET',
        path: ['who'],
      });
      expect(res).toMatchObject({ code: '2.05', source: { address, port: server.port } });
      expect(res.payload.toString()).toBe(address);
    }
  });

  it('takes a list in the adapter config: devices reach the gateway on each address', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }], { bind: ['::1', '127.0.0.1'] });
    expect((await h.send('PUT', '/ps/dev1', '{"v6":1}', { contentFormat: 50 })).code).toBe('2.04');
    const v4 = await client('127.0.0.1');
    const res = await v4.request({
      peer: { address: '127.0.0.1', port: h.port },
      method: 'PUT',
      path: ['ps', 'dev1'],
      payload: '{"v4":1}',
      contentFormat: 50,
    });
    expect(res.code).toBe('2.04');
    const state = await h.gw.waitForMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/dev1', (m) => 'v4' in m);
    expect(state).toMatchObject({ v6: 1, v4: 1 });
  });
});
