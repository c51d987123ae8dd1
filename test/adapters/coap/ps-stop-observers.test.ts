// When the adapter stops (gateway shutdown or restart) its /ps/<id>/set relations end with a NON 5.03 without
// Observe and a Max-Age (RFC 7641 §3.2, RFC 7252 §5.9.3.4): the relations do not survive the restart, and a device
// told so registers again after Max-Age instead of waiting for commands that would never reach it.
import { afterEach, describe, expect, it } from 'vitest';
import { type CoapHarness, firstNotification, startCoapHarness } from './harness.js';

let h: CoapHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('/ps/<id>/set observers when the adapter stops', () => {
  it('are told with a 5.03 without Observe that carries a Max-Age to register again after', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    const { onNote: ended, note: end } = firstNotification();
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'dev1', 'set'], timeoutMs: 3000 },
      (res) => ended(res),
    );
    expect(observation.first.observe).toBeTypeOf('number');

    await h.adapter.stop();
    const res = await end;
    expect([res.code, res.observe, res.maxAge]).toEqual(['5.03', undefined, 10]);
  });
});
