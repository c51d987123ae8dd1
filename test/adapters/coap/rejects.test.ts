// What the endpoint answers to requests it cannot or will not serve, and that each such message reaches the
// decode-error hook (and so zephyr2mqtt_decode_errors_total) with its own reason.
import { afterEach, describe, expect, it } from 'vitest';
import type { CoapIncomingRequest } from '../../../adapters/coap/endpoint.js';
import type { CoapRejectKind } from '../../../adapters/coap/transport/message.js';
import { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';
import { frame, RawPeer } from './raw-peer.js';

const fast = { ackTimeoutMs: 50, ackRandomFactor: 1.5, maxRetransmit: 2 };
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An endpoint serving /u (echoing what it saw) and a raw peer to talk to it. */
async function setup(options: ConstructorParameters<typeof UdpCoapEndpoint>[0] = {}) {
  const kinds: CoapRejectKind[] = [];
  const seen: CoapIncomingRequest[] = [];
  const server = new UdpCoapEndpoint({
    bindAddress: '::1',
    port: 0,
    transmission: fast,
    onDecodeError: (_reason, _peer, _bytes, kind) => kinds.push(kind),
    ...options,
  });
  await server.start();
  server.route('u', (req) => {
    seen.push(req);
    return { code: '2.04' };
  });
  const raw = await RawPeer.open();
  cleanup.push(
    () => server.stop(),
    () => raw.close(),
  );
  const ask = (f: Parameters<typeof frame>[0], ms?: number) => raw.exchange(frame(f), server.port, ms);
  return { server, raw, kinds, seen, ask };
}

describe('requests the endpoint does not serve', () => {
  it('answers unknown method codes with 4.05 (piggy-backed for CON, NON for NON) and counts them', async () => {
    const { ask, kinds, seen } = await setup();
    const con = await ask({ type: 'CON', code: '0.08', mid: 1, token: [1, 2], options: [[11, 'u']] });
    expect(con).toMatchObject({ type: 'ACK', code: '4.05', messageId: 1, token: Buffer.from([1, 2]) });
    const non = await ask({ type: 'NON', code: '0.31', mid: 2, token: [3], options: [[11, 'u']] });
    expect(non).toMatchObject({ type: 'NON', code: '4.05', token: Buffer.from([3]) });
    // FETCH, PATCH and iPATCH are methods: they reach the handler.
    for (const [mid, code] of [
      [3, '0.05'],
      [4, '0.06'],
      [5, '0.07'],
    ] as const) {
      expect(await ask({ type: 'CON', code, mid, options: [[11, 'u']] })).toMatchObject({ code: '2.04' });
    }
    expect(seen.map((r) => r.method)).toEqual(['FETCH', 'PATCH', 'iPATCH']);
    expect(kinds).toEqual(['unknown_method', 'unknown_method']);
  });

  it('rejects reserved code classes 1, 6 and 7: RST for CON, silence for NON, each counted', async () => {
    const { ask, kinds } = await setup();
    for (const [mid, code] of [
      [1, '1.01'],
      [2, '6.00'],
      [3, '7.31'],
    ] as const) {
      expect(await ask({ type: 'CON', code, mid, token: [9] })).toMatchObject({ type: 'RST', messageId: mid });
    }
    expect(await ask({ type: 'NON', code: '7.01', mid: 4, token: [9] }, 150)).toBeUndefined();
    expect(kinds).toEqual(['reserved_code', 'reserved_code', 'reserved_code', 'reserved_code']);
  });

  it('answers bad options, proxy requests, oversized and out-of-sequence uploads, counting each', async () => {
    const { ask, kinds, seen } = await setup({ maxPayloadBytes: 100 });
    const put = (mid: number, options: Array<[number, Buffer | string | number[]]>, payload?: Buffer) =>
      ask({ type: 'CON', code: '0.03', mid, token: [mid], options: [[11, 'u'], ...options], payload });
    // OSCORE (9) is critical and not understood.
    expect(await put(1, [[9, []]])).toMatchObject({ code: '4.02' });
    // RFC 7252 §5.10.2: an endpoint that is not a forward proxy answers Proxy-Uri / Proxy-Scheme with 5.05.
    expect((await ask({ type: 'CON', code: '0.01', mid: 2, options: [[35, 'coap://[::1]/x']] }))?.code).toBe('5.05');
    expect(
      (
        await ask({
          type: 'CON',
          code: '0.01',
          mid: 3,
          options: [
            [39, 'coap'],
            [11, 'u'],
          ],
        })
      )?.code,
    ).toBe('5.05');
    // RFC 7959 §2.9.3: 4.13 carries the limit in Size1, for a whole payload and for an announced Block1 upload.
    expect(await put(4, [], Buffer.alloc(101))).toMatchObject({ code: '4.13', size1: 100 });
    const block1 = (num: number, more: boolean) => [(num << 4) | (more ? 8 : 0) | 2]; // SZX 2: 64-byte blocks
    expect(
      await put(
        5,
        [
          [27, block1(0, true)],
          [60, [0x13, 0x88]],
        ],
        Buffer.alloc(64),
      ),
    ).toMatchObject({
      code: '4.13',
      size1: 100,
    });
    expect(await put(6, [[27, block1(3, true)]], Buffer.alloc(64))).toMatchObject({ code: '4.08' });
    expect(await put(7, [[27, block1(0, true)]], Buffer.alloc(64))).toMatchObject({ code: '2.31' });
    expect(await put(8, [[27, block1(1, true)]], Buffer.alloc(64))).toMatchObject({ code: '4.13', size1: 100 });
    expect(seen).toEqual([]);
    expect(kinds).toEqual(['bad_option', 'proxy', 'proxy', 'too_large', 'too_large', 'block1_incomplete', 'too_large']);
  });

  it('rejects a NON request with an unknown critical option with RST (RFC 7252 §5.4.1), as libcoap does', async () => {
    const { ask, kinds, seen } = await setup();
    // OSCORE (9), If-Match (1) and an unassigned critical number: a NON carrying one is rejected, not served.
    for (const [mid, option] of [
      [1, 9],
      [2, 1],
      [3, 2049],
    ] as const) {
      const reply = await ask({
        type: 'NON',
        code: '0.03',
        mid,
        token: [mid],
        options: [
          [11, 'u'],
          [option, [1]],
        ],
      });
      expect(reply).toMatchObject({ type: 'RST', code: '0.00', messageId: mid });
    }
    // A proxy request is recognised (5.05 for any request), and an elective option is ignored.
    const proxy = await ask({ type: 'NON', code: '0.01', mid: 4, token: [4], options: [[35, 'coap://[::1]/u']] });
    expect(proxy).toMatchObject({ type: 'NON', code: '5.05' });
    const elective = await ask({
      type: 'NON',
      code: '0.03',
      mid: 5,
      token: [5],
      options: [
        [11, 'u'],
        [2050, [1]],
      ],
    });
    expect(elective).toMatchObject({ type: 'NON', code: '2.04' });
    expect(seen).toHaveLength(1);
    expect(kinds).toEqual(['bad_option', 'bad_option', 'bad_option', 'proxy']);
  });

  it('rejects truncated options and a payload marker without payload as format errors', async () => {
    const { raw, server, kinds, seen } = await setup();
    server.route('psp', (req) => {
      seen.push(req);
      return { code: '2.04' };
    });
    const cases = [
      // Uri-Path claims 5 bytes, 3 follow ("psp").
      '4401001aaabbccddb5707370',
      // Uri-Path "u", then the payload marker with nothing after it (RFC 7252 §3).
      '4103001b01b175ff',
      // Option delta 13 without its extension byte.
      '4003001cd1',
      // Option length 14 with one of its two extension bytes.
      '4003001d1e00',
      // Reserved option delta 15 that is not the payload marker.
      '4003001ef1',
      // Empty message (0.00) with a token (RFC 7252 §4.1).
      '4100001f01',
    ];
    for (const hex of cases) {
      const reply = await raw.exchange(Buffer.from(hex, 'hex'), server.port);
      expect({ hex, reply: reply?.type, mid: reply?.messageId }).toEqual({
        hex,
        reply: 'RST',
        mid: Buffer.from(hex, 'hex').readUInt16BE(2),
      });
    }
    // The same for NON: counted, not answered.
    expect(await raw.exchange(Buffer.from('5401002aaabbccddb5707370', 'hex'), server.port, 150)).toBeUndefined();
    expect(seen).toEqual([]);
    expect(kinds).toEqual(Array(cases.length + 1).fill('format'));
  });

  it('treats an option with a length outside its range as unrecognized (RFC 7252 §5.4.3)', async () => {
    const { ask, kinds, seen } = await setup();
    // Accept (17) is critical (RFC 7252 Table 4): 4.02. Block2 (23) too.
    expect(
      await ask({
        type: 'CON',
        code: '0.01',
        mid: 1,
        options: [
          [11, 'u'],
          [17, [0, 0, 50]],
        ],
      }),
    ).toMatchObject({
      type: 'ACK',
      code: '4.02',
    });
    expect(
      await ask({
        type: 'CON',
        code: '0.01',
        mid: 2,
        options: [
          [11, 'u'],
          [23, [0, 0, 0, 2]],
        ],
      }),
    ).toMatchObject({
      code: '4.02',
    });
    // Content-Format (12), Observe (6) and Size1 (60) are elective: ignored, the request is served.
    const elective: Array<[number, number[]]> = [
      [12, [0, 0, 50]],
      [6, [0, 0, 0, 0]],
      [60, [0, 0, 0, 0, 9]],
    ];
    const served = await ask({ type: 'CON', code: '0.03', mid: 3, options: [[11, 'u'], ...elective], payload: '1' });
    expect(served).toMatchObject({ code: '2.04' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ contentFormat: undefined, observe: undefined });
    expect(kinds).toEqual(['bad_option', 'bad_option']);
  });

  it('answers a repeated critical option that may appear once with 4.02 (RFC 7252 §5.4.5), a NON with RST', async () => {
    const { ask, kinds, seen } = await setup();
    const twice = (number: number, value: number[]): Array<[number, number[] | string]> => [
      [number, value],
      [number, value],
    ];
    // Uri-Host (3), Uri-Port (7), Accept (17), Block2 (23), Block1 (27).
    const cases = [twice(3, [0x61]), twice(7, [0x16, 0x33]), twice(17, [50]), twice(23, [0x02]), twice(27, [0x02])];
    let mid = 1;
    for (const options of cases) {
      const sorted = [...options, [11, 'u'] as [number, string]].sort((a, b) => a[0] - b[0]);
      expect(await ask({ type: 'CON', code: '0.03', mid: mid++, options: sorted, payload: '1' })).toMatchObject({
        type: 'ACK',
        code: '4.02',
      });
    }
    const non = await ask({ type: 'NON', code: '0.03', mid: mid++, options: [[11, 'u'], ...twice(17, [50])] });
    expect(non).toMatchObject({ type: 'RST' });
    // Content-Format (12) twice is elective: served with the first.
    const served = await ask({
      type: 'CON',
      code: '0.03',
      mid: mid++,
      options: [
        [11, 'u'],
        [12, [50]],
        [12, [60]],
      ],
      payload: '1',
    });
    expect(served).toMatchObject({ code: '2.04' });
    expect(seen.map((r) => r.contentFormat)).toEqual([50]);
    expect(kinds).toEqual(Array(cases.length + 1).fill('bad_option'));
  });

  it('answers a Block1 or Block2 option with the reserved SZX 7 with 4.00 (RFC 7959 §2.2), counted', async () => {
    const { ask, kinds, seen } = await setup();
    const put = await ask({
      type: 'CON',
      code: '0.03',
      mid: 1,
      options: [
        [11, 'u'],
        [27, [0x0f]], // Block1 #0, M=1, SZX 7
      ],
      payload: Buffer.alloc(16),
    });
    expect(put).toMatchObject({ type: 'ACK', code: '4.00' });
    expect(put?.payload.toString()).toBe('Block1 with the reserved SZX 7');
    const get = await ask({
      type: 'CON',
      code: '0.01',
      mid: 2,
      options: [
        [11, 'u'],
        [23, [0x17]], // Block2 #1, SZX 7
      ],
    });
    expect(get).toMatchObject({ type: 'ACK', code: '4.00' });
    expect(get?.payload.toString()).toBe('Block2 with the reserved SZX 7');
    expect(seen).toEqual([]);
    expect(kinds).toEqual(['bad_option', 'bad_option']);
  });

  it.each([
    ['a 4-byte Block2 option (at most 3: RFC 7959 §2.2)', [0, 0, 0, 0x0a]],
    ['a Block2 option with the reserved SZX 7', [0x0f]],
  ])('rejects a response carrying %s instead of using it', async (_what, block2) => {
    const kinds: CoapRejectKind[] = [];
    const client = new UdpCoapEndpoint({
      bindAddress: '::1',
      port: 0,
      transmission: fast,
      onDecodeError: (_reason, _peer, _bytes, kind) => kinds.push(kind),
    });
    await client.start();
    const device = await RawPeer.open();
    cleanup.push(
      () => client.stop(),
      () => device.close(),
    );
    const pending = client.request({
      peer: { address: '::1', port: device.port },
      method: 'GET',
      path: ['x'],
      confirmable: false,
      timeoutMs: 400,
    });
    const req = await device.next();
    // A separate CON response with a Block2 option that cannot be used.
    const bad = frame({
      type: 'CON',
      code: '2.05',
      mid: 77,
      token: [...(req?.token ?? [])],
      options: [[23, block2]],
      payload: 'partial',
    });
    expect(await device.exchange(bad, client.port)).toMatchObject({ type: 'RST', messageId: 77 });
    await expect(pending).rejects.toThrow(/timed out/);
    expect(kinds).toEqual(['bad_option']);
  });
});

describe('through the gateway', () => {
  stopHarnessesAfterEach();

  it('counts every rejected request in zephyr2mqtt_decode_errors_total', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }], { max_payload: 100 });
    const raw = await RawPeer.open();
    cleanup.push(() => raw.close());
    const coapErrors = async () =>
      (await (await fetch(`${h.gw.httpUrl}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('zephyr2mqtt_decode_errors_total{') && l.includes('adapter="coap"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    const before = await coapErrors();
    const ps: Array<[number, string]> = [
      [11, 'ps'],
      [11, 'dev1'],
    ];
    const answers = [
      await raw.exchange(frame({ type: 'CON', code: '0.08', mid: 1, options: ps }), h.port),
      await raw.exchange(frame({ type: 'CON', code: '0.03', mid: 2, options: [...ps, [9, []]] }), h.port),
      await raw.exchange(frame({ type: 'CON', code: '0.01', mid: 3, options: [[35, 'coap://[::1]/']] }), h.port),
      await raw.exchange(frame({ type: 'CON', code: '0.03', mid: 4, options: ps, payload: Buffer.alloc(101) }), h.port),
      await raw.exchange(Buffer.from('4403000aaabbccddb5707370', 'hex'), h.port),
    ];
    expect(answers.map((a) => a?.code)).toEqual(['4.05', '4.02', '5.05', '4.13', '0.00']);
    expect((await coapErrors()) - before).toBe(answers.length);
    // Each with its own reason label.
    const metrics = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
    for (const reason of ['coap_unknown_method', 'coap_bad_option', 'coap_proxy', 'coap_too_large', 'coap_format'])
      expect(metrics).toContain(`zephyr2mqtt_decode_errors_total{adapter="coap",reason="${reason}"} 1`);
  });
});
