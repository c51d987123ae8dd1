// The rest of a Block2 answer to a POST or FETCH is asked for with that method, not GET (RFC 7959 §2.4, §2.7):
// to a resource that only takes POST (an action that answers with a report) a GET is 4.05, or another resource's
// representation. A FETCH sends its body (the query) with every block (RFC 8132 §2.3.2); a POST does not repeat its
// body, which the device has already acted on.
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import type { ScriptedDevice } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

const REPORT = 'report: 0123456789abcdefghijklmnopqrstuvwxyz';
const BLOCK = 16;

const node = scriptedNode();

/** A device whose /report takes only `method` and answers with REPORT in 16-byte blocks (SZX 0). */
function start(method: string) {
  return node.start((m, d) => {
    if (d.answerPing(m) || m.type !== 'CON') return;
    if (m.code !== method) {
      d.ack(m, { code: '4.05' });
      return;
    }
    const num = m.block2?.num ?? 0;
    const more = (num + 1) * BLOCK < REPORT.length;
    d.ack(m, {
      code: '2.05',
      options: [[23, [(num << 4) | (more ? 0x08 : 0)]]],
      payload: REPORT.slice(num * BLOCK, (num + 1) * BLOCK),
    });
  });
}

const requests = (d: ScriptedDevice): CoapMessage[] =>
  d.received.map((r) => r.message).filter((m) => m.type === 'CON' && m.code !== '0.00');

describe('Block2 answers to a POST or FETCH', () => {
  it('asks for the further blocks of a POST answer with POST, without the body again', async () => {
    const { device, h } = await start('0.02');
    const answer = await h.gw.request(h.mqtt, 'device/coap', {
      device: 'node',
      method: 'POST',
      path: '/report',
      payload: 'run',
    });
    expect(answer).toMatchObject({ status: 'ok', data: { code: '2.05', payload: REPORT } });
    const sent = requests(device);
    expect(sent.map((m) => [m.code, m.block2?.num, m.payload.toString()])).toEqual([
      ['0.02', undefined, 'run'],
      ['0.02', 1, ''],
      ['0.02', 2, ''],
    ]);
  });

  it('asks for the further blocks of a FETCH answer with FETCH and the same body', async () => {
    const { device, h } = await start('0.05');
    const answer = await h.gw.request(h.mqtt, 'device/coap', {
      device: 'node',
      method: 'FETCH',
      path: '/report',
      payload: '{"since":0}',
      content_format: 50,
    });
    expect(answer).toMatchObject({ status: 'ok', data: { code: '2.05', payload: REPORT } });
    const sent = requests(device);
    expect(sent.map((m) => [m.code, m.block2?.num, m.payload.toString(), m.contentFormat])).toEqual([
      ['0.05', undefined, '{"since":0}', 50],
      ['0.05', 1, '{"since":0}', 50],
      ['0.05', 2, '{"since":0}', 50],
    ]);
  });
});
