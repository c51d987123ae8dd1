// A CoAP adapter instance the gateway has let go of (a restart replaced it while its stop still runs) whose socket
// still answers: a PUT /ps/<id> gets 5.03 with Max-Age, the device sends again later, instead of a 2.04 for values
// the gateway dropped.
import { describe, expect, it } from 'vitest';
import { deferred } from '../../../gateway/deferred.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('CoAP /ps on an adapter instance the gateway no longer runs', () => {
  it('answers 5.03 Service Unavailable with Max-Age, and the state stays as it was', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const { host } = h.gw.gateway.adapterFor('dev1');
    const replaced = h.adapter;
    const stopMayGoOn = deferred();
    const stop = replaced.stop.bind(replaced);
    let stopped: Promise<void> | undefined;
    replaced.stop = () => {
      stopped = stopMayGoOn.promise.then(stop);
      return stopped;
    };
    expect((await h.send('PUT', '/ps/dev1', '{"t":1}', { contentFormat: 50 })).code).toBe('2.04');
    await expect.poll(() => h.gw.gateway.devices.get('dev1')?.state.t).toBe(1);
    try {
      await host.start(); // a restart: the new instance takes another ephemeral port, this one still serves h.port
      expect(host.adapter).not.toBe(replaced);

      const res = await h.send('PUT', '/ps/dev1', '{"t":2}', { contentFormat: 50 });

      expect(res.code).toBe('5.03');
      expect(res.maxAge).toBe(5);
      expect(h.gw.gateway.devices.get('dev1')?.state.t).toBe(1);
    } finally {
      stopMayGoOn.resolve();
      await stopped;
    }
  });
});
