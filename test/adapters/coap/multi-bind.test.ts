// Several bind addresses: one socket each on the same port, and every answer leaves by the address it was asked on
// (a client accepts an answer only from the address and port it sent to).
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

stopEndpointsAfterEach();
stopHarnessesAfterEach();

const client = (bindAddress: string) => endpoint({ bindAddress });

describe('CoAP on several bind addresses', () => {
  it('serves each address on the same port and answers from the address asked', async () => {
    const server = await endpoint({ bindAddress: ['127.0.0.1', '::1'] });
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
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }], { bind: ['::1', '127.0.0.1'] });
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
