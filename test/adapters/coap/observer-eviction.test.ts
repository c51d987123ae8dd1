// A fifth observer of /ps/<id>/set pushes out the oldest (four per device): the one pushed out is told, with a
// response without Observe (RFC 7641 §3.2), instead of waiting for notifications that will never come.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { OBSERVE, URI_PATH } from './option-numbers.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

function register(mid: number, token: number): Buffer {
  return frame({
    type: 'CON',
    code: '0.01',
    mid,
    token: [token],
    options: [
      [OBSERVE, []],
      [URI_PATH, 'ps'],
      [URI_PATH, 'dev1'],
      [URI_PATH, 'set'],
    ],
  });
}

describe('observers of /ps/<id>/set past four per device', () => {
  it('tell the oldest it was replaced: 5.03 without Observe, with its token', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const peers: RawPeer[] = [];
    for (let i = 0; i < 5; i++) {
      const peer = await rawPeer();
      peers.push(peer);
      const answer = await peer.exchange(register(0x100 + i, 0x10 + i), h.port);
      expect(answer).toMatchObject({ code: '2.05', observe: expect.any(Number) });
    }
    const ended = await peers[0]?.next();
    expect(ended).toMatchObject({ type: 'NON', code: '5.03' });
    expect(ended?.observe).toBeUndefined();
    expect(ended?.token).toEqual(Buffer.from([0x10]));
    expect(h.adapter.status().details?.command_observers).toBe(4);
  });
});
