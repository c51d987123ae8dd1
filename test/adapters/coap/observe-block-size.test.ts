// A device that registers on /ps/<id>/set with a small Block2 size gets notifications in blocks of that size
// (RFC 7959 §2.4 early negotiation, §2.6 block-wise notifications): a Zephyr client with a 64-byte buffer cannot
// take a 1 kB datagram.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { BLOCK2, OBSERVE } from './option-numbers.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

/** Block2 value: NUM 0, M 0, SZX 2 (64 bytes). */
const BLOCK2_64 = [0x02];

describe('/ps/<id>/set notifications', () => {
  it('use the Block2 size the registration asked for', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const raw = await rawPeer();
    const token = [7, 7, 7];
    const registered = await raw.exchange(
      frame({
        type: 'CON',
        code: '0.01',
        mid: 100,
        token,
        options: [
          [OBSERVE, []],
          [11, 'ps'],
          [11, 'dev1'],
          [11, 'set'],
          [BLOCK2, BLOCK2_64],
        ],
      }),
      h.port,
    );
    expect(registered).toMatchObject({ type: 'ACK', code: '2.05' });
    expect(registered?.observe).toBeTypeOf('number');

    const command = { text: 'c'.repeat(1500) };
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify(command));
    const note = await raw.next(5000);
    expect(note).toMatchObject({ type: 'CON', code: '2.05', token: Buffer.from(token) });
    expect(note?.block2).toEqual({ num: 0, more: true, szx: 2 });
    expect(note?.size2).toBe(JSON.stringify(command).length);
    expect(note?.payload.length).toBe(64);
    raw.send(frame({ type: 'ACK', code: '0.00', mid: note!.messageId }), h.port);
  });
});
