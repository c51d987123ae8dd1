// A GET answered with a later block than the first (Block2 NUM > 0 to a request without Block2) asks for block 0
// and reads the representation from there. Zephyr's coap_server sample answers its /large that way after a transfer
// the client gave up on: large_get() keeps each client's block context and a request without Block2 leaves it where
// the last one stopped (coap_update_from_block() only moves it for a Block2 option); its /.well-known/core does the
// same with CONFIG_COAP_WELL_KNOWN_BLOCK_WISE (one static context).
import { describe, expect, it } from 'vitest';
import { CoapCancelledError } from '../../../adapters/coap/transport/errors.js';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { BLOCK2, CONTENT_FORMAT } from './option-numbers.js';
import { closeDevicesAfterEach, type ScriptedDevice, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

const TOTAL = 2048;
const BLOCK = 64;

/** large.c's /large: 2048 bytes in 64-byte blocks (here each byte is its block's number, to see the order). */
function sampleLarge(onBlock: (num: number) => void) {
  let current = 0;
  return (m: CoapMessage, d: ScriptedDevice): void => {
    if (m.type !== 'CON' || m.code !== '0.01') return;
    if (m.block2) current = m.block2.num * 2 ** (m.block2.szx + 4);
    const num = current / BLOCK;
    const more = current + BLOCK < TOTAL;
    onBlock(num);
    d.ack(m, {
      code: '2.05',
      options: [
        [CONTENT_FORMAT, []],
        [BLOCK2, num > 15 ? [num >> 4, ((num & 0xf) << 4) | (more ? 8 : 0) | 2] : [(num << 4) | (more ? 8 : 0) | 2]],
      ],
      payload: Buffer.alloc(BLOCK, num),
    });
    current = more ? current + BLOCK : 0;
  };
}

const whole = Buffer.concat(Array.from({ length: TOTAL / BLOCK }, (_, num) => Buffer.alloc(BLOCK, num)));

describe('a GET whose first answer is a later block', () => {
  it('asks for block 0 and reads the whole representation', async () => {
    const giveUp = new AbortController();
    const device = await scriptedDevice(
      sampleLarge((num) => {
        // The gateway gives up on the first transfer (its deadline) while block 3 is on its way.
        if (num === 3) giveUp.abort();
      }),
    );
    const ep = await endpoint();
    const peer = { address: '::1', port: device.port };
    await expect(ep.request({ peer, method: 'GET', path: ['large'], signal: giveUp.signal })).rejects.toBeInstanceOf(
      CoapCancelledError,
    );

    const res = await ep.request({ peer, method: 'GET', path: ['large'] });
    expect(res.code).toBe('2.05');
    expect(res.payload).toEqual(whole);
    const asked = device.withCode('0.01').map((r) => r.message.block2?.num);
    expect(asked.slice(4, 6)).toEqual([undefined, 0]);
  });
});
