// A GET /ps/<id>/set with Observe that is answered with an error leaves no relation on its token (RFC 7641 §3.2, §4.1):
// a new registration is not taken, and one the device had on that token ends. Else the next command would go out as a
// notification on a token the device dropped, which it rejects with RST. The errors come from the transport, before
// the handler runs (4.02 for an unknown critical option, 4.00, 4.08, 5.05, and RST for a NON it cannot serve) or after
// it answered (4.02 for a Block2 past the end of the command), and from the handler (4.06, 4.01).
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { type CoapHarness, coapHarness, stopHarnessesAfterEach } from './harness.js';
import { ACCEPT, BLOCK1, BLOCK2, PROXY_URI } from './option-numbers.js';
import { type PsSetRequest, psSetRequests } from './ps-set-requests.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

/** Odd, so critical (RFC 7252 §5.4.6), and in the experimental range: no endpoint knows it. */
const UNKNOWN_CRITICAL = 65001;
const PS_TOKEN = 'dev1-secret-0123';
const query = [`token=${PS_TOKEN}`];
/** Block2 NUM 1 of 16 bytes: past the end of a command as short as `{}` (or of a 2.03's empty body). */
const pastTheEnd: [number, number[]] = [BLOCK2, [0x10]];
const { next: get, lastToken } = psSetRequests('dev1');

async function start(
  binding: Record<string, string> = { token: PS_TOKEN },
): Promise<{ gateway: CoapHarness; device: RawPeer }> {
  const gateway = await coapHarness([{ id: 'dev1', transport: 'coap', ...binding }]);
  const device = await rawPeer();
  return { gateway, device };
}

const relations = (gateway: CoapHarness) => gateway.adapter.status().details?.command_observers;

/**
 * Publishes a command and polls for it (GET /ps/dev1/set from the device's socket) until the gateway answers with it;
 * resolves to what came before that answer (a notification, acknowledged), if anything. A notification of the command
 * cannot come after it: the gateway sends its notifications in the turn it takes the command, before any poll can be
 * handed the command, and its datagrams leave in the order it sends them.
 */
async function command(gateway: CoapHarness, device: RawPeer, led: string): Promise<CoapMessage | undefined> {
  const payload = JSON.stringify({ led });
  await gateway.mqtt.publishAsync('zephyr2mqtt/dev1/set', payload);
  let note: CoapMessage | undefined;
  for (let polls = 0; polls < 200; polls++) {
    const poll = get({ query });
    device.send(poll, gateway.port);
    for (;;) {
      const m = await device.next();
      if (m === undefined) throw new Error('a poll of /ps/dev1/set got no answer');
      if (m.type === 'ACK' && m.messageId === poll.readUInt16BE(2)) {
        if (m.payload.toString() === payload) return note;
        break;
      }
      if (note) throw new Error(`a second datagram before the poll's answer: ${m.type} ${m.code}`);
      note = m;
      if (m.type === 'CON') device.send(frame({ type: 'ACK', code: '0.00', mid: m.messageId }), gateway.port);
    }
    await delay(5);
  }
  throw new Error(`the gateway did not take the command ${payload}`);
}

describe('an Observe GET of /ps/<id>/set answered with an error', () => {
  it('registers nothing: the next command is kept for a poll, not notified', async () => {
    const { gateway, device } = await start();
    const answer = await device.exchange(get({ observe: true, query, options: [pastTheEnd] }), gateway.port);
    expect([answer?.code, answer?.observe]).toEqual(['4.02', undefined]);
    expect(relations(gateway)).toBe(0);

    expect(await command(gateway, device, 'on')).toBeUndefined();
    expect((await device.exchange(get({ query }), gateway.port))?.payload.toString()).toBe('{"led":"on"}');
  });

  const failing: Array<[string, string, PsSetRequest]> = [
    ['a Block2 past the end of the command (the transport)', '4.02', { query, options: [pastTheEnd] }],
    ['an Accept the gateway does not serve (the handler)', '4.06', { query, options: [[ACCEPT, [41]]] }],
    ['a wrong ?token= (the identity check)', '4.01', { query: ['token=wrong'] }],
    ['an unknown critical option (the transport)', '4.02', { query, options: [[UNKNOWN_CRITICAL, []]] }],
    ['a Block2 with the reserved SZX 7 (the transport)', '4.00', { query, options: [[BLOCK2, [0x07]]] }],
    ['a Block1 of no upload in progress (the transport)', '4.08', { query, options: [[BLOCK1, [0x10]]] }],
    ['Proxy-Uri (the transport: no proxy)', '5.05', { query, options: [[PROXY_URI, 'coap://[::1]/x']] }],
  ];
  it.each(failing)('ends the relation on its token: %s', async (_case, code, request) => {
    const { gateway, device } = await start();
    const registered = await device.exchange(get({ observe: true, query }), gateway.port);
    expect(registered?.observe).toBeTypeOf('number');
    const token = lastToken();
    expect(relations(gateway)).toBe(1);

    const answer = await device.exchange(get({ observe: true, token, ...request }), gateway.port);
    expect([answer?.code, answer?.observe]).toEqual([code, undefined]);
    expect(relations(gateway)).toBe(0);
    expect(await command(gateway, device, 'off')).toBeUndefined();
  });

  it('ends the relation on its token when it is a NON the transport rejects with RST (unknown critical option)', async () => {
    const { gateway, device } = await start();
    expect((await device.exchange(get({ observe: true, query }), gateway.port))?.observe).toBeTypeOf('number');
    const token = lastToken();

    const request: PsSetRequest = {
      observe: true,
      token,
      query,
      confirmable: false,
      options: [[UNKNOWN_CRITICAL, []]],
    };
    expect((await device.exchange(get(request), gateway.port))?.type).toBe('RST');
    expect(relations(gateway)).toBe(0);
    expect(await command(gateway, device, 'off')).toBeUndefined();
  });

  // No id in the path: the device is the one the token names, or the one bound to the address it comes from.
  it.each([
    ['?token=', { token: PS_TOKEN }, query],
    ['address', { address: '::1' }, []],
  ])(
    'ends the relation on its token when it was registered on /ps//set (the device found by its %s)',
    async (_, binding, named) => {
      const { gateway, device } = await start(binding);
      const registered = await device.exchange(get({ id: '', observe: true, query: named }), gateway.port);
      expect([registered?.code, registered?.observe]).toEqual(['2.05', expect.any(Number)]);
      const token = lastToken();
      expect(relations(gateway)).toBe(1);

      const request: PsSetRequest = { id: '', observe: true, token, query: named, options: [[UNKNOWN_CRITICAL, []]] };
      expect((await device.exchange(get(request), gateway.port))?.code).toBe('4.02');
      expect(relations(gateway)).toBe(0);
      expect(await command(gateway, device, 'off')).toBeUndefined();
    },
  );

  it("on a new token leaves the peer's relation on its old token as it was", async () => {
    const { gateway, device } = await start();
    expect((await device.exchange(get({ observe: true, query }), gateway.port))?.observe).toBeTypeOf('number');
    const token = lastToken();
    const answer = await device.exchange(get({ observe: true, query, options: [pastTheEnd] }), gateway.port);
    expect(answer?.code).toBe('4.02');
    expect(lastToken().equals(token)).toBe(false);

    const note = await command(gateway, device, 'on');
    expect([note?.type, note?.code, note?.token, note?.payload.toString()]).toEqual([
      'CON',
      '2.05',
      token,
      '{"led":"on"}',
    ]);
    expect(relations(gateway)).toBe(1);
  });
});
