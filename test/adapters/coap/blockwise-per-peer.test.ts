// Block-wise state is bounded per peer as well as in total: a peer that opens more transfers than its share (8) loses
// its own oldest, and another peer's upload in progress or Block2 read goes on, even when the first peer opens more
// transfers than the total bound (16 here).
import { describe, expect, it } from 'vitest';
import type { CoapRejectKind } from '../../../adapters/coap/transport/message.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { BLOCK1, BLOCK2, REQUEST_TAG, URI_PATH, URI_QUERY } from './option-numbers.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';

stopEndpointsAfterEach();
closePeersAfterEach();

/** SZX 2: 64-byte blocks. */
const SZX = 2;
const TOTAL = 16;
const OPENED_BY_B = 20;

async function setup() {
  const kinds: CoapRejectKind[] = [];
  const server = await endpoint({
    reassemblyEntries: TOTAL,
    blockSize: 64,
    onDecodeError: (_reason, _peer, _bytes, kind) => kinds.push(kind),
  });
  const a = await rawPeer();
  const b = await rawPeer();
  let mid = 0;
  const ask = (peer: RawPeer, options: Array<[number, Buffer | string | number[]]>, code: string, payload?: Buffer) => {
    mid++;
    return peer.exchange(frame({ type: 'CON', code, mid, token: [mid & 0xff], options, payload }), server.port);
  };
  return { server, kinds, a, b, ask };
}

const block = (option: number, num: number, more: boolean): [number, number[]] => [
  option,
  [(num << 4) | (more ? 0x08 : 0) | SZX],
];

describe('block-wise state per peer', () => {
  it('lets a peer finish its upload while another opens more uploads than its share and the total, losing its own oldest', async () => {
    const { server, kinds, a, b, ask } = await setup();
    const received: Buffer[] = [];
    server.route('u', (req) => {
      received.push(req.payload);
      return { code: '2.04' };
    });
    const put = (peer: RawPeer, num: number, more: boolean, payload: Buffer, tag?: number) =>
      ask(
        peer,
        [
          [URI_PATH, 'u'],
          block(BLOCK1, num, more),
          ...(tag === undefined ? [] : [[REQUEST_TAG, [tag]] as [number, number[]]]),
        ],
        '0.03',
        payload,
      );
    const first = Buffer.alloc(64, 'a');
    expect((await put(a, 0, true, first))?.code).toBe('2.31');
    // B's uploads to the same path, each its own body by its Request-Tag (RFC 9175 §3.3).
    for (let tag = 0; tag < OPENED_BY_B; tag++)
      expect((await put(b, 0, true, Buffer.alloc(64, tag), tag))?.code).toBe('2.31');

    const last = Buffer.from('the end');
    expect((await put(a, 1, false, last))?.code).toBe('2.04');
    expect(received).toEqual([Buffer.concat([first, last])]);
    expect(server.stats().reassembly).toBe(8);
    // B's oldest upload was dropped for its newer ones (its next block gets 4.08, counted); its newest goes on.
    expect((await put(b, 1, false, last, 0))?.code).toBe('4.08');
    expect((await put(b, 1, false, last, OPENED_BY_B - 1))?.code).toBe('2.04');
    expect(received[1]).toEqual(Buffer.concat([Buffer.alloc(64, OPENED_BY_B - 1), last]));
    expect(kinds).toEqual(['block1_incomplete']);
  });

  it("serves a peer's further Block2 blocks from the body it started while another reads more bodies than the total", async () => {
    const { server, a, b, ask } = await setup();
    let version = 0;
    server.route('big', () => {
      version++;
      return { code: '2.05', contentFormat: 0, payload: Buffer.alloc(150, 0x40 + version) };
    });
    const get = (peer: RawPeer, num: number, query: string[] = []) =>
      ask(
        peer,
        [[URI_PATH, 'big'], ...query.map((q): [number, string] => [URI_QUERY, q]), block(BLOCK2, num, false)],
        '0.01',
      );
    const head = await get(a, 0);
    expect([head?.code, head?.block2?.more, head?.payload]).toEqual(['2.05', true, Buffer.alloc(64, 0x41)]);
    // Every query is a resource of its own: each body B starts is kept for its next block.
    for (let i = 0; i < OPENED_BY_B; i++) expect((await get(b, 0, [`n=${i}`]))?.block2?.more).toBe(true);

    // A's next block comes from the body it started, not from a new one the handler would make.
    const next = await get(a, 1);
    expect([next?.code, next?.payload]).toEqual(['2.05', Buffer.alloc(64, 0x41)]);
    expect(version).toBe(1 + OPENED_BY_B);
    expect(server.stats().block2_cache).toBe(1 + 8);
  });
});
