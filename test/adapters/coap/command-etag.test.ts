// A device that polls GET /ps/<id>/set tells a new command from the one it has by the ETag (RFC 7252 §5.10.6):
// each stored command gets its own, a GET naming it gets 2.03 Valid without the payload, and notifications carry it.
import { afterEach, describe, expect, it } from 'vitest';
import { type CoapHarness, startCoapHarness } from './harness.js';
import { frame, RawPeer } from './raw-peer.js';

let h: CoapHarness | undefined;
let peer: RawPeer | undefined;
afterEach(async () => {
  peer?.close();
  peer = undefined;
  await h?.stop();
  h = undefined;
});

const ETAG = 4;
const URI_PATH = 11;
let mid = 0x4000;

/** GET /ps/dev1/set, CON, with these ETags. */
function poll(etags: Buffer[] = []) {
  mid++;
  return frame({
    type: 'CON',
    code: '0.01',
    mid,
    token: [mid & 0xff],
    options: [
      [URI_PATH, 'ps'],
      [URI_PATH, 'dev1'],
      [URI_PATH, 'set'],
      ...etags.map((e): [number, Buffer] => [ETAG, e]),
    ],
  });
}

describe('polled commands and their ETags', () => {
  it('answers 2.03 Valid to the ETag of the command the device has, 2.05 with a new ETag for a new command', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    peer = await RawPeer.open();
    const port = h.port;
    // No command yet: {} without an ETag.
    const none = await peer.exchange(poll(), port);
    expect(none).toMatchObject({ code: '2.05' });
    expect(none?.etag).toBeUndefined();

    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: true }));
    await expect
      .poll(async () => (await peer?.exchange(poll(), port))?.payload.toString(), { timeout: 3000, interval: 20 })
      .toBe('{"led":true}');
    const first = await peer.exchange(poll(), port);
    const etag = first?.etag;
    expect(etag).toHaveLength(8);
    if (!etag) throw new Error('unreachable');

    const valid = await peer.exchange(poll([Buffer.from('00', 'hex'), etag]), port);
    expect(valid?.code).toBe('2.03');
    expect(valid?.etag?.equals(etag)).toBe(true);
    expect(valid?.payload).toHaveLength(0);

    // The same payload again is still a new command: the device must run it again.
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: true }));
    await expect
      .poll(async () => (await peer?.exchange(poll([etag]), port))?.code, { timeout: 3000, interval: 20 })
      .toBe('2.05');
    const second = await peer.exchange(poll(), port);
    expect(second?.etag?.equals(etag)).toBe(false);
    expect(second?.payload.toString()).toBe('{"led":true}');
  });

  it('notifications carry the ETag a later poll is answered 2.03 for', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
    const notified: Buffer[] = [];
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'dev1', 'set'] },
      (res) => {
        if (res.etag) notified.push(res.etag);
      },
    );
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: false }));
    await expect.poll(() => notified.length, { timeout: 3000, interval: 20 }).toBe(1);
    await observation.cancel();
    peer = await RawPeer.open();
    expect((await peer.exchange(poll([notified[0] as Buffer]), h.port))?.code).toBe('2.03');
  });
});
