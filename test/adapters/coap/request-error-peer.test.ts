// A failed gateway-initiated request names its device the way every other CoAP log line does: an IPv6 address in
// brackets before the port (`[::1]:5683`), not `::1:5683`, which reads as another address (or a zone plus a port).
import { describe, expect, it } from 'vitest';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

describe('errors of gateway-initiated requests', () => {
  it('write an IPv6 device as [address]:port when it does not answer in time', async () => {
    const d = await scriptedDevice(() => {});
    const ep = await endpoint();
    const pending = ep.request({ peer: { address: '::1', port: d.port }, method: 'GET', path: ['a'], timeoutMs: 100 });
    await expect(pending).rejects.toThrow(`CoAP request to [::1]:${d.port} timed out`);
  });

  it('write an IPv6 device as [address]:port when it rejects the request with RST', async () => {
    const d = await scriptedDevice((m, dev) => dev.send({ type: 'RST', code: '0.00', mid: m.messageId }));
    const ep = await endpoint();
    const pending = ep.request({ peer: { address: '::1', port: d.port }, method: 'GET', path: ['a'], timeoutMs: 3000 });
    await expect(pending).rejects.toThrow(`CoAP request to [::1]:${d.port} was rejected with RST`);
  });
});
