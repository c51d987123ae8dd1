// A device removed from the gateway while it observes /ps/<id>/set is told so: a 4.04 without Observe ends the
// relation (RFC 7641 §3.2), instead of a silent drop that leaves the device waiting for commands that never come.
import { describe, expect, it } from 'vitest';
import type { CoapClientResponse } from '../../../adapters/coap/endpoint.js';
import { coapHarness, firstNotification, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('/ps/<id>/set observers of a removed device', () => {
  it('end with a 4.04 notification without Observe; the other devices keep theirs', async () => {
    const h = await coapHarness([
      { id: 'stays', transport: 'coap' },
      { id: 'goes', transport: 'coap' },
    ]);
    const { onNote: ended, note: end } = firstNotification();
    const observe = (id: string, onNote: (res: CoapClientResponse) => void) =>
      h.device.observe(
        { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', id, 'set'], timeoutMs: 3000 },
        onNote,
      );
    const stays = await observe('stays', () => {});
    await observe('goes', (res) => ended(res));
    expect(h.adapter.status().details?.command_observers).toBe(2);

    expect(await h.gw.request(h.mqtt, 'device/remove', { id: 'goes' })).toMatchObject({ status: 'ok' });
    const res = await end;
    expect([res.code, res.observe]).toEqual(['4.04', undefined]);
    expect(h.adapter.status().details?.command_observers).toBe(1);
    await stays.cancel();
  });
});
