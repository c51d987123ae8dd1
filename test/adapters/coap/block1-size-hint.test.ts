// A device that answers an upload with 4.13 and a smaller Block1 size (RFC 7959 §2.9.3) gets it again, once, in
// blocks of that size; one that names only Size1 (Zephyr's coap_server, whose Size1 is its whole receive buffer,
// header and options included) gets it again in blocks of at most half of that.
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { BLOCK1, SIZE1 } from './option-numbers.js';
import { closeDevicesAfterEach, type ScriptedDevice, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

/** Block1 NUM 0, SZX 2: "64-byte blocks, please". */
const HINT_64: [number, number[]] = [BLOCK1, [0x02]];

/** Takes Block1 blocks of at most 64 bytes; anything larger gets 4.13 with the hint. */
function smallBuffer(accepted: Buffer[]) {
  return (m: CoapMessage, d: ScriptedDevice): void => {
    if (m.type !== 'CON' || m.code !== '0.03') return;
    const block = m.block1;
    if (!block || block.szx > 2) {
      d.ack(m, { code: '4.13', options: [HINT_64] });
      return;
    }
    accepted.push(m.payload);
    const echo: [number, number[]] = [BLOCK1, [(block.num << 4) | (block.more ? 8 : 0) | block.szx]];
    d.ack(m, { code: block.more ? '2.31' : '2.04', options: [echo] });
  };
}

describe('a 4.13 with a Block1 size hint', () => {
  it('is followed by the same upload in blocks of the hinted size', async () => {
    const accepted: Buffer[] = [];
    const device = await scriptedDevice(smallBuffer(accepted));
    const ep = await endpoint({ blockSize: 1024 });
    const payload = Buffer.alloc(300, 'p');
    const res = await ep.request({ peer: { address: '::1', port: device.port }, method: 'PUT', path: ['f'], payload });
    expect(res.code).toBe('2.04');
    expect(accepted.map((b) => b.length)).toEqual([64, 64, 64, 64, 44]);
    expect(Buffer.concat(accepted)).toEqual(payload);
    const puts = device.withCode('0.03').map((r) => r.message.block1?.szx);
    expect(puts).toEqual([undefined, 2, 2, 2, 2, 2]);
  });

  it('is followed once only: a second 4.13 is the answer', async () => {
    const device = await scriptedDevice((m, d) => {
      if (m.type === 'CON' && m.code === '0.03') d.ack(m, { code: '4.13', options: [HINT_64] });
    });
    const ep = await endpoint({ blockSize: 256 });
    const payload = Buffer.alloc(300, 'p');
    const res = await ep.request({ peer: { address: '::1', port: device.port }, method: 'PUT', path: ['f'], payload });
    expect(res.code).toBe('4.13');
    expect(device.withCode('0.03').map((r) => r.message.block1?.szx)).toEqual([4, 2]);
  });

  it('without Block1 but with Size1, as Zephyr answers a datagram larger than its buffer, is followed by blocks that fit', async () => {
    // coap_server.c with CONFIG_COAP_SERVER_MESSAGE_SIZE 256: a datagram that does not fit gets 4.13 with Size1 256
    // (coap_server_process); the sample's /large-update takes Block1 and asks for 64-byte blocks (large_update_put).
    const received = Buffer.alloc(300);
    const device = await scriptedDevice((m, d, size) => {
      if (m.type !== 'CON' || m.code !== '0.03') return;
      if (size > 256) {
        d.ack(m, { code: '4.13', options: [[SIZE1, [0x01, 0x00]]] });
        return;
      }
      const block = m.block1;
      if (!block) {
        d.ack(m, { code: '2.04' });
        return;
      }
      const offset = block.num * 2 ** (block.szx + 4);
      m.payload.copy(received, offset);
      const szx = Math.min(block.szx, 2);
      const echo: [number, number[]] = [BLOCK1, [((offset / 64) << 4) | szx]];
      d.ack(m, { code: block.more ? '2.31' : '2.04', options: [echo] });
    });
    const ep = await endpoint({ blockSize: 1024 });
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const res = await ep.request({
      peer: { address: '::1', port: device.port },
      method: 'PUT',
      path: ['large-update'],
      payload,
    });
    expect(res.code).toBe('2.04');
    expect(received).toEqual(payload);
    const puts = device.withCode('0.03');
    expect(puts.map((r) => r.message.block1?.szx)).toEqual([undefined, 3, 2, 2, 2]);
    expect(puts.slice(1).every((r) => r.size <= 256)).toBe(true);
  });
});
