// The datagram decoder on its own: RFC 7252 §3 framing (option delta/length nibbles and their extensions, the
// payload marker), option length ranges (§5.4.3) and the code classes it refuses.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../adapters/coap/transport/message.js';
import { frame } from './raw-peer.js';

function kindOf(hex: string): string {
  const decoded = decodeMessage(Buffer.from(hex, 'hex'));
  return decoded.ok ? 'ok' : decoded.kind;
}

describe('decodeMessage', () => {
  it('refuses broken framing, reserved classes and unreadable headers with a kind', () => {
    expect(kindOf('4401001aaabbccddb5707370')).toBe('format'); // option claims 5 bytes, 3 present
    expect(kindOf('4401001aaabbccddff')).toBe('format'); // marker without payload
    expect(kindOf('4401001aaabbccddb3707370ff')).toBe('format'); // same after a complete option
    expect(kindOf('40010001d1')).toBe('format'); // delta 13, extension byte missing
    expect(kindOf('40010001e100')).toBe('format'); // delta 14, one of two extension bytes
    expect(kindOf('400100011d')).toBe('format'); // length 13, extension byte missing
    expect(kindOf('40010001f1')).toBe('format'); // delta 15 (reserved)
    expect(kindOf('400100011f')).toBe('format'); // length 15 (reserved)
    expect(kindOf('44010001aabb')).toBe('format'); // token longer than the datagram
    expect(kindOf('4000000100')).toBe('format'); // empty message with bytes after the header
    expect(kindOf('4901000100')).toBe('format'); // token length 9 (reserved)
    expect(kindOf('40210001')).toBe('reserved_code'); // 1.01
    expect(kindOf('40c00001')).toBe('reserved_code'); // 6.00
    expect(kindOf('40ff0001')).toBe('reserved_code'); // 7.31
    expect(kindOf('400100')).toBe('packet');
    expect(kindOf('80010001')).toBe('packet'); // version 2
    expect(kindOf('4401001aaabbccddb3707370ff31')).toBe('ok');
    expect(kindOf('40080001')).toBe('ok'); // 0.08: a request with an unknown method, answered by the server side
  });

  it('reads every option framing the same way an independent encoder wrote it', () => {
    for (let i = 0; i < 2000; i++) {
      const path = Array.from({ length: i % 4 }, (_, k) => 'p'.repeat(Math.min((i * 7 + k * 13) % 300, 255)));
      const query = Array.from({ length: i % 3 }, (_, k) => `q${k}=${'v'.repeat((i + k) % 20)}`);
      const options: Array<[number, Buffer | string | number[]]> = [
        ...path.map((s): [number, string] => [11, s]),
        ...query.map((s): [number, string] => [15, s]),
        [12, i % 2 ? [i & 0xff] : [(i >> 8) & 0xff, i & 0xff]],
        // Unknown elective options with deltas and lengths in the 13 and 14 extension ranges.
        [2000 + 2 * (i % 350), randomBytes(i % 300)],
        [258, [i % 2 ? 2 : 26]],
      ];
      const payload = i % 5 === 0 ? undefined : randomBytes(1 + (i % 40));
      const token = [...randomBytes(i % 9)];
      const decoded = decodeMessage(frame({ type: 'NON', code: '0.02', mid: i, token, options, payload }));
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) continue;
      const m = decoded.message;
      expect(m.path).toEqual(path);
      expect(m.query).toEqual(query);
      expect(m.contentFormat).toBe(i % 2 ? i & 0xff : i & 0xffff);
      expect(m.noResponse).toBe(i % 2 ? 2 : 26);
      expect(m.token).toEqual(Buffer.from(token));
      expect(m.payload).toEqual(payload ?? Buffer.alloc(0));
      expect(m.unknownCritical).toEqual([]);
    }
  });

  it('decodes what encodeMessage writes', () => {
    const fields = {
      type: 'CON',
      code: '2.05',
      messageId: 0x1234,
      token: Buffer.from([1, 2, 3]),
      observe: 0x10203,
      contentFormat: 11542,
      block2: { num: 70_000, more: true, szx: 6 },
      size2: 2 ** 31,
      locationPath: ['rd', 'x'],
      payload: Buffer.from('hello'),
    } as const;
    const decoded = decodeMessage(encodeMessage(fields));
    expect(decoded.ok && decoded.message).toMatchObject({ ...fields, unknownCritical: [] });
  });

  it('treats out-of-range lengths as unrecognized: critical ones listed, elective ones dropped', () => {
    const decoded = decodeMessage(
      frame({
        type: 'CON',
        code: '0.01',
        mid: 1,
        options: [
          [3, []], // Uri-Host must be 1-255 bytes
          [6, [0, 0, 0, 1]], // Observe 0-3
          [11, 'ok'],
          [12, [0, 0, 50]], // Content-Format 0-2
          [17, [0, 0, 50]], // Accept 0-2
          [27, [0, 0, 0, 1]], // Block1 0-3
          [28, [1, 0, 0, 0, 0]], // Size2 0-4
          [35, 'coap://x/'],
          [258, [0, 2]], // No-Response 0-1
        ],
      }),
    );
    if (!decoded.ok) throw new Error(decoded.error);
    const { path, observe, contentFormat, accept, block1, size2, noResponse, unknownCritical } = decoded.message;
    expect({ path, observe, contentFormat, accept, block1, size2, noResponse, unknownCritical }).toEqual({
      path: ['ok'],
      observe: undefined,
      contentFormat: undefined,
      accept: undefined,
      block1: undefined,
      size2: undefined,
      noResponse: undefined,
      unknownCritical: [3, 17, 27, 35],
    });
  });

  it('takes the first of a repeated non-repeatable option; a repeated critical one is listed (RFC 7252 §5.4.5)', () => {
    const decoded = decodeMessage(
      frame({
        type: 'CON',
        code: '0.01',
        mid: 1,
        options: [
          [4, [1]], // ETag, If-Match, the paths and queries may repeat
          [4, [2]],
          [11, 'a'],
          [11, 'b'],
          [12, [50]], // Content-Format is elective: the repeat is ignored, the first kept
          [12, [60]],
          [15, 'x=1'],
          [15, 'y=2'],
          [17, [50]], // Accept, Block2 and Block1 are critical: a repeat makes the message unusable
          [17, [60]],
          [23, [0x02]],
          [23, [0x12]],
          [27, [0x0a]],
          [27, [0x1a]],
        ],
      }),
    );
    if (!decoded.ok) throw new Error(decoded.error);
    const { etag, moreEtags, path, query, contentFormat, accept, block2, block1, unknownCritical } = decoded.message;
    expect({ etag, moreEtags, path, query, contentFormat, accept, unknownCritical }).toEqual({
      etag: Buffer.from([1]),
      moreEtags: [Buffer.from([2])],
      path: ['a', 'b'],
      query: ['x=1', 'y=2'],
      contentFormat: 50,
      accept: 50,
      unknownCritical: [17, 23, 27],
    });
    expect([block2?.num, block1?.num]).toEqual([0, 0]);
  });

  it('reads and writes Echo (RFC 9175, option 252, 1 to 40 bytes) and drops one out of range as elective', () => {
    const echo = Buffer.from('0102030405060708', 'hex');
    const bytes = encodeMessage({ type: 'CON', code: '0.01', messageId: 7, token: Buffer.from([9]), echo });
    // Header 41 01 0007 (CON GET, MID 7, one token byte), token 09, option 252 after none: d8 ef (delta 13 + 239,
    // length 8), then its value.
    expect(bytes.toString('hex')).toBe(`4101000709d8ef${echo.toString('hex')}`);
    const decoded = decodeMessage(bytes);
    expect(decoded.ok && decoded.message.echo).toEqual(echo);
    const tooLong = decodeMessage(frame({ type: 'ACK', code: '4.01', mid: 7, options: [[252, Buffer.alloc(41)]] }));
    expect(tooLong.ok && [tooLong.message.echo, tooLong.message.unknownCritical]).toEqual([undefined, []]);
  });

  it('reads Request-Tag (RFC 9175, option 292, 0 to 8 bytes) and drops one out of range as elective', () => {
    const tag = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
    const tagged = decodeMessage(frame({ type: 'CON', code: '0.03', mid: 1, options: [[292, tag]] }));
    expect(tagged.ok && tagged.message.requestTag).toEqual(tag);
    const empty = decodeMessage(frame({ type: 'CON', code: '0.03', mid: 1, options: [[292, []]] }));
    expect(empty.ok && empty.message.requestTag).toEqual(Buffer.alloc(0));
    const tooLong = decodeMessage(frame({ type: 'CON', code: '0.03', mid: 1, options: [[292, Buffer.alloc(9)]] }));
    expect(tooLong.ok && [tooLong.message.requestTag, tooLong.message.unknownCritical]).toEqual([undefined, []]);
  });
});
