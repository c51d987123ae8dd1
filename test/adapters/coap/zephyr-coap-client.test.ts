// Zephyr's coap_client (subsys/net/lib/coap/coap_client.c) as a /ps device, datagram by datagram as it sends them:
// - a Block1 upload takes a new token and message id for every block and carries an 8-byte Request-Tag (option 292),
//   no Size1, and its blocks are CONFIG_COAP_CLIENT_BLOCK_SIZE (256) bytes;
// - a Block2 notification is completed by GETs that repeat the registration's options (Observe 0 included) with a new
//   token each, Block2 NUM n and the smaller of its own and our SZX; the relation then lives on the last token.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { BLOCK1, BLOCK2, CONTENT_FORMAT, OBSERVE, REQUEST_TAG, URI_PATH } from './option-numbers.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';

stopHarnessesAfterEach();
closePeersAfterEach();

const JSON_CF = 50;

/** coap_next_token(): 8 random bytes for every request. */
const token = (): number[] => [...randomBytes(8)];
let mid = 0x2000;

type State = Record<string, unknown>;

/** Block `num` (256 bytes, SZX 4) of an upload of `body` to /ps/dev1, on a new token, tagged with `tag`. */
function uploadBlock(body: Buffer, tag: Buffer, num: number): Buffer {
  return frame({
    type: 'CON',
    code: '0.03',
    mid: ++mid,
    token: token(),
    options: [
      [URI_PATH, 'ps'],
      [URI_PATH, 'dev1'],
      [CONTENT_FORMAT, [JSON_CF]],
      [BLOCK1, [(num << 4) | ((num + 1) * 256 < body.length ? 0x08 : 0) | 4]],
      [REQUEST_TAG, tag],
    ],
    payload: body.subarray(num * 256, (num + 1) * 256),
  });
}

const setPath = (id: string): Array<[number, string]> => [
  [URI_PATH, 'ps'],
  [URI_PATH, id],
  [URI_PATH, 'set'],
];

/** The application's registration: GET /ps/<id>/set with Observe 0 on a new token, no Block2; returns the token. */
async function register(peer: RawPeer, port: number, id: string): Promise<number[]> {
  const registration = token();
  const registered = await peer.exchange(
    frame({ type: 'CON', code: '0.01', mid: ++mid, token: registration, options: [[OBSERVE, []], ...setPath(id)] }),
    port,
  );
  expect(registered).toMatchObject({ type: 'ACK', code: '2.05' });
  expect(registered?.observe).toBeTypeOf('number');
  return registration;
}

describe("Zephyr's coap_client as a /ps device", () => {
  it('uploads in 256-byte Block1 blocks, each with its own token, tagged with Request-Tag and without Size1', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const zephyr = await rawPeer();
    const body = Buffer.from(JSON.stringify({ note: 'z'.repeat(600) }));
    const tag = randomBytes(8);
    const published = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.note === 'z'.repeat(600));
    const answers: Array<CoapMessage | undefined> = [];
    for (let num = 0; num * 256 < body.length; num++)
      answers.push(await zephyr.exchange(uploadBlock(body, tag, num), h.port));
    expect(answers.map((a) => [a?.type, a?.code, a?.block1?.num, a?.block1?.szx])).toEqual([
      ['ACK', '2.31', 0, 4],
      ['ACK', '2.31', 1, 4],
      ['ACK', '2.04', 2, 4],
    ]);
    await published;
  });

  it('keeps two uploads apart by their Request-Tag when their blocks interleave', async () => {
    // CONFIG_COAP_CLIENT_MAX_REQUESTS (2): a second report can start before the first one's last block.
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const zephyr = await rawPeer();
    const first = Buffer.from(JSON.stringify({ a: 'a'.repeat(300) }));
    const second = Buffer.from(JSON.stringify({ b: 'b'.repeat(300) }));
    const tags = [randomBytes(8), randomBytes(8)];
    const both = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.a !== undefined && m.b !== undefined);
    const codes: Array<string | undefined> = [];
    for (const [body, tag, num] of [
      [first, tags[0], 0],
      [second, tags[1], 0],
      [first, tags[0], 1],
      [second, tags[1], 1],
    ] as const) {
      codes.push((await zephyr.exchange(uploadBlock(body, tag as Buffer, num), h.port))?.code);
    }
    expect(codes).toEqual(['2.31', '2.31', '2.04', '2.04']);
    expect(await both).toMatchObject({ a: 'a'.repeat(300), b: 'b'.repeat(300) });
  });

  it('completes a Block2 notification with GETs that re-register on new tokens, and gets the next command', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }], { block_size: 64 });
    const zephyr = await rawPeer();
    const path = setPath('dev1');
    // No Block2 in the registration (coap_client_option_initial_block2() not added).
    let current = await register(zephyr, h.port, 'dev1');

    const command = { text: 'c'.repeat(200) };
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify(command));
    const note = await zephyr.next(5000);
    expect(note).toMatchObject({ type: 'CON', code: '2.05', token: Buffer.from(current) });
    expect(note?.block2).toEqual({ num: 0, more: true, szx: 2 });
    // send_ack(): an empty ACK (coap_ack_init with code 0 leaves the token out).
    zephyr.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0 }), h.port);

    const chunks = [note?.payload ?? Buffer.alloc(0)];
    let more = note?.block2?.more ?? false;
    for (let num = 1; more && num < 16; num++) {
      current = token();
      const next = await zephyr.exchange(
        frame({
          type: 'CON',
          code: '0.01',
          mid: ++mid,
          token: current,
          options: [[OBSERVE, []], ...path, [BLOCK2, [(num << 4) | 2]]],
        }),
        h.port,
      );
      expect(next).toMatchObject({ type: 'ACK', code: '2.05', token: Buffer.from(current) });
      expect(next?.block2?.num).toBe(num);
      // Newer clients check that every block carries the ETag of the first (coap_client_check_etag()).
      expect(next?.etag).toEqual(note?.etag);
      chunks.push(next?.payload ?? Buffer.alloc(0));
      more = next?.block2?.more ?? false;
    }
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual(command);

    // The relation now lives on the token of the last block's GET, the one the client still matches.
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const second = await zephyr.next(5000);
    expect(second).toMatchObject({ type: 'CON', code: '2.05', token: Buffer.from(current) });
    expect(second?.payload.toString()).toBe('{"led":"on"}');
    zephyr.send(frame({ type: 'ACK', code: '0.00', mid: second?.messageId ?? 0 }), h.port);
  });
  it("takes the Zephyr 2.x sample's ACK that carries its token, and its RST that carries a token and options", async () => {
    // samples/net/sockets/coap_client @0183d022 (protocols.md §2.2): send_obs_reply_ack() builds the ACK with
    // coap_packet_init(ACK, its token, code 0), and after five notifications it sends a RST with a new token, Observe
    // and Uri-Path. RFC 7252 §4.1 calls both format errors; matched by message id they are what they stand for.
    const h = await coapHarness([{ id: 'act', transport: 'coap', availability_timeout: 1 }]);
    const zephyr = await rawPeer();
    const registration = await register(zephyr, h.port, 'act');
    const availability = 'zephyr2mqtt/act/availability';
    await h.gw.waitForMessage<{ state: string }>(h.mqtt, availability, (m) => m.state === 'offline', 5000);

    // The ACK with the token: the command is delivered, which brings the quiet device back online.
    const back = await h.gw.expectMessage<{ state: string }>(h.mqtt, availability, (m) => m.state === 'online');
    await h.mqtt.publishAsync('zephyr2mqtt/act/set', '{"led":"on"}');
    const note = await zephyr.next(5000);
    expect(note).toMatchObject({ type: 'CON', code: '2.05', token: Buffer.from(registration) });
    zephyr.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0, token: registration }), h.port);
    await back.message;

    // The RST with a token and options ends the relation at once: the command fails without a retransmission, and
    // the device, which answered, stays online.
    const failed = await h.gw.expectMessage<{ error: string }>(h.mqtt, 'zephyr2mqtt/act/set/error');
    await h.mqtt.publishAsync('zephyr2mqtt/act/set', '{"led":"off"}');
    const second = await zephyr.next(5000);
    expect(second).toMatchObject({ type: 'CON', code: '2.05', token: Buffer.from(registration) });
    zephyr.send(
      frame({
        type: 'RST',
        code: '0.00',
        mid: second?.messageId ?? 0,
        token: token(),
        options: [[OBSERVE, [1]], ...setPath('act')],
      }),
      h.port,
    );
    expect((await failed.message).error).toContain('rejected the command with RST');
    expect(await zephyr.next(0)).toBeUndefined();
    expect(h.gw.gateway.devices.get('act')?.online).toBe(true);
  });
});
