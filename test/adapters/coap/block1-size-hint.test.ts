// A device that answers an upload with 4.13 and a smaller Block1 size (RFC 7959 §2.9.3) gets it again, once, in
// blocks of that size.
import { afterEach, describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { ScriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
let device: ScriptedDevice | undefined;
afterEach(() => {
  device?.close();
  device = undefined;
});

const BLOCK1 = 27;
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
    device = await ScriptedDevice.open(smallBuffer(accepted));
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
    device = await ScriptedDevice.open((m, d) => {
      if (m.type === 'CON' && m.code === '0.03') d.ack(m, { code: '4.13', options: [HINT_64] });
    });
    const ep = await endpoint({ blockSize: 256 });
    const payload = Buffer.alloc(300, 'p');
    const res = await ep.request({ peer: { address: '::1', port: device.port }, method: 'PUT', path: ['f'], payload });
    expect(res.code).toBe('4.13');
    expect(device.withCode('0.03').map((r) => r.message.block1?.szx)).toEqual([4, 2]);
  });
});
