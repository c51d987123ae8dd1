// A server that answers 4.01 with an Echo option (RFC 9175 §2.3) gets the request once more with that Echo. Played as
// Zephyr's coap_server built with CONFIG_COAP_SERVER_ECHO does it (coap_server.c): a GET of /.well-known/core from an
// address not yet verified is challenged for amplification mitigation, and with CONFIG_COAP_SERVER_ECHO_REQUIRE_FOR_UNSAFE
// every PUT without a valid Echo is; each challenge is a piggy-backed 4.01 with 8 new random bytes of Echo.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { BLOCK1, CONTENT_FORMAT, ECHO } from './option-numbers.js';
import { closeDevicesAfterEach, type ScriptedDevice, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

const LINKS = '</obs>;obs,</core1>;title="Core 1";rt=core1';

/** Answers only requests that carry the Echo it handed out last; challenges every other one. */
function echoServer(answer: (m: CoapMessage, d: ScriptedDevice) => void) {
  let issued: Buffer | undefined;
  return (m: CoapMessage, d: ScriptedDevice): void => {
    if (m.type !== 'CON' || m.code === '0.00') return;
    if (issued === undefined || m.echo === undefined || !m.echo.equals(issued)) {
      issued = randomBytes(8);
      d.ack(m, { code: '4.01', options: [[ECHO, issued]] });
      return;
    }
    answer(m, d);
  };
}

describe('a 4.01 with Echo', () => {
  it('is followed by the same GET with that Echo, whose answer is the response', async () => {
    const device = await scriptedDevice(
      echoServer((m, d) => d.ack(m, { code: '2.05', options: [[CONTENT_FORMAT, [40]]], payload: LINKS })),
    );
    const ep = await endpoint();
    const res = await ep.request({
      peer: { address: '::1', port: device.port },
      method: 'GET',
      path: ['.well-known', 'core'],
    });
    expect([res.code, res.payload.toString()]).toEqual(['2.05', LINKS]);
    const gets = device.withCode('0.01').map((r) => r.message);
    expect(gets).toHaveLength(2);
    expect(gets[0]?.echo).toBeUndefined();
    expect(gets[1]?.echo?.length).toBe(8);
    expect(gets[1]?.path).toEqual(['.well-known', 'core']);
  });

  it('is answered for each block of an upload whose every request must carry a fresh Echo', async () => {
    const received: Buffer[] = [];
    const device = await scriptedDevice(
      echoServer((m, d) => {
        received.push(m.payload);
        const block = m.block1;
        const echo: Array<[number, number[]]> = block
          ? [[BLOCK1, [(block.num << 4) | (block.more ? 8 : 0) | block.szx]]]
          : [];
        d.ack(m, { code: block?.more ? '2.31' : '2.04', options: echo });
      }),
    );
    const ep = await endpoint({ blockSize: 64 });
    const payload = Buffer.alloc(150, 'u');
    const res = await ep.request({
      peer: { address: '::1', port: device.port },
      method: 'PUT',
      path: ['led'],
      payload,
    });
    expect(res.code).toBe('2.04');
    expect(Buffer.concat(received)).toEqual(payload);
    expect(device.withCode('0.03').map((r) => [r.message.block1?.num, r.message.echo !== undefined])).toEqual([
      [0, false],
      [0, true],
      [1, false],
      [1, true],
      [2, false],
      [2, true],
    ]);
  });

  it('is the answer when the request already carried an Echo', async () => {
    const device = await scriptedDevice((m, d) => {
      if (m.type === 'CON' && m.code === '0.01') d.ack(m, { code: '4.01', options: [[ECHO, randomBytes(8)]] });
    });
    const ep = await endpoint();
    const res = await ep.request({ peer: { address: '::1', port: device.port }, method: 'GET', path: ['obs'] });
    expect(res.code).toBe('4.01');
    expect(device.withCode('0.01')).toHaveLength(2);
  });
});
