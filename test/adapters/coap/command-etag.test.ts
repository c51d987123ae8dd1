// A device that polls GET /ps/<id>/set tells a new command from the one it has by the ETag (RFC 7252 §5.10.6):
// each stored command gets its own, a GET naming it gets 2.03 Valid without the payload, and notifications carry it.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { psSetRequests } from './ps-set-requests.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

/** GET /ps/dev1/set, CON: a poll, or a registration with `observe`, naming `etags`. */
const { next: poll, lastToken } = psSetRequests('dev1');

describe('polled commands and their ETags', () => {
  it('answers 2.03 Valid to the ETag of the command the device has, 2.05 with a new ETag for a new command', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const peer = await rawPeer();
    const port = h.port;
    // No command yet: {} without an ETag.
    const none = await peer.exchange(poll(), port);
    expect(none).toMatchObject({ code: '2.05' });
    expect(none?.etag).toBeUndefined();

    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: true }));
    await expect
      .poll(async () => (await peer.exchange(poll(), port))?.payload.toString(), { timeout: 3000, interval: 20 })
      .toBe('{"led":true}');
    const first = await peer.exchange(poll(), port);
    const etag = first?.etag;
    expect(etag).toHaveLength(8);
    if (!etag) throw new Error('unreachable');

    const valid = await peer.exchange(poll({ etags: [Buffer.from('00', 'hex'), etag] }), port);
    expect(valid?.code).toBe('2.03');
    expect(valid?.etag?.equals(etag)).toBe(true);
    expect(valid?.payload).toHaveLength(0);

    // The same payload again is still a new command: the device must run it again.
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: true }));
    await expect
      .poll(async () => (await peer.exchange(poll({ etags: [etag] }), port))?.code, { timeout: 3000, interval: 20 })
      .toBe('2.05');
    const second = await peer.exchange(poll(), port);
    expect(second?.etag?.equals(etag)).toBe(false);
    expect(second?.payload.toString()).toBe('{"led":true}');
  });

  it('notifications carry the ETag a later poll is answered 2.03 for', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
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
    const peer = await rawPeer();
    expect((await peer.exchange(poll({ etags: [notified[0] as Buffer] }), h.port))?.code).toBe('2.03');
  });

  it('answers a registration naming the ETag of the command the device has with 2.03 and Observe (RFC 7641 §4.3.2)', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const peer = await rawPeer();
    const port = h.port;
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ reboot: true }));
    await expect
      .poll(async () => (await peer.exchange(poll(), port))?.payload.toString(), { timeout: 3000, interval: 20 })
      .toBe('{"reboot":true}');
    const held = (await peer.exchange(poll(), port))?.etag;
    if (!held) throw new Error('the kept command has no ETag');

    // A device that ran the command and registers again (after its own reboot) is not given it again.
    const registered = await peer.exchange(poll({ etags: [held], observe: true }), port);
    expect(registered).toMatchObject({ code: '2.03' });
    expect(registered?.observe).toBeTypeOf('number');
    expect(registered?.etag?.equals(held)).toBe(true);
    expect(registered?.payload).toHaveLength(0);

    // It is registered: the next command is notified, with its own ETag.
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const notification = await peer.next(3000);
    expect(notification?.payload.toString()).toBe('{"led":"on"}');
    expect(notification?.etag?.equals(held)).toBe(false);
    expect(notification?.token.equals(lastToken())).toBe(true);
    if (notification?.type === 'CON') {
      peer.send(frame({ type: 'ACK', code: '0.00', mid: notification.messageId }), port);
    }

    // A registration naming an older ETag gets the command in full.
    const stale = await peer.exchange(poll({ etags: [held], observe: true }), port);
    expect([stale?.code, stale?.payload.toString()]).toEqual(['2.05', '{"led":"on"}']);
  });
});
