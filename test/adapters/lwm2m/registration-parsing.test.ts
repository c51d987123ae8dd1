import { describe, expect, it } from 'vitest';
import { parseLinkFormat } from '../../../adapters/coap/lwm2m/link-format.js';
import { preferredFormat } from '../../../adapters/coap/lwm2m/rd-handler.js';
import { parseRegisterQuery, parseUpdateQuery } from '../../../adapters/coap/lwm2m/registration-query.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

describe('registration query', () => {
  it('reads Zephyr 1.1 and 1.0 queue-mode queries', () => {
    expect(parseRegisterQuery(['lwm2m=1.1', 'ep=zephyr-node1', 'lt=300', 'Q'])).toEqual({
      ok: true,
      value: { endpoint: 'zephyr-node1', lifetime: 300, version: '1.1', binding: 'U', queueMode: true },
    });
    expect(parseRegisterQuery(['lwm2m=1.0', 'ep=n', 'lt=30', 'b=UQ'])).toMatchObject({
      ok: true,
      value: { binding: 'UQ', queueMode: true, version: '1.0' },
    });
    expect(parseRegisterQuery(['ep=n'])).toMatchObject({ ok: true, value: { lifetime: 86400, version: '1.0' } });
    expect(parseUpdateQuery([])).toEqual({ ok: true, value: {} });
    expect(parseUpdateQuery(['lt=60'])).toEqual({ ok: true, value: { lifetime: 60 } });
  });
});

describe('binding', () => {
  it('accepts LwM2M 1.0 bindings and 1.1 transport letters', () => {
    for (const b of ['U', 'UQ', 'S', 'SQ', 'US', 'UQS', 'M', 'H', 'T', 'N', 'UMHTSN', 'TQ']) {
      expect(parseRegisterQuery(['ep=n', `b=${b}`]), b).toMatchObject({ ok: true, value: { binding: b } });
    }
    expect(parseRegisterQuery(['ep=n', 'b=U', 'Q'])).toMatchObject({ ok: true, value: { queueMode: true } });
    expect(parseUpdateQuery(['b=UQ'])).toEqual({ ok: true, value: { binding: 'UQ', queueMode: true } });
  });

  it('refuses repeated letters, no transport, a stray Q and unknown letters with a clear reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['Q', /no transport/],
      ['', /no transport/],
      ['QU', /Q must follow the transport/],
      ['UU', /"U" given twice/],
      ['UQQ', /"Q" given twice/],
      ['u', /unknown binding letter "u"/],
      ['UX', /unknown binding letter "X"/],
    ];
    for (const [b, reason] of cases) {
      const parsed = parseRegisterQuery(['ep=n', `b=${b}`]);
      expect(parsed.ok, b).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(reason);
      expect(parseUpdateQuery([`b=${b}`]).ok, b).toBe(false);
    }
    expect(parseRegisterQuery(['ep=n', 'b=Q', 'Q=1']).ok).toBe(false);
  });
});

describe('link format', () => {
  it('parses the Zephyr registration payload and picks the announced format', () => {
    const links = parseLinkFormat('</>;ct=110,</1/0>,</3/0>,</3303/0>;ver=1.1');
    expect(links).toEqual({
      ok: true,
      value: [
        { path: undefined, attrs: { ct: '110' } },
        { path: { obj: 1, inst: 0 }, attrs: {} },
        { path: { obj: 3, inst: 0 }, attrs: {} },
        { path: { obj: 3303, inst: 0 }, attrs: { ver: '1.1' } },
      ],
    });
    expect(links.ok && preferredFormat(links.value)).toBe(110);
    const legacy = parseLinkFormat('</>;rt="oma.lwm2m";ct=11543,</3/0>');
    expect(legacy.ok && preferredFormat(legacy.value)).toBe(11543);
    const tlvOnly = parseLinkFormat('</1/0>,</3/0>');
    expect(tlvOnly.ok && preferredFormat(tlvOnly.value)).toBe(11542);
  });
});

describe('registration parsers under fuzzing', () => {
  it('return a typed result for random queries and payloads', () => {
    const rnd = prng(7);
    const alphabet = '</>;=,"0123456789abcepltwmQUb.\u00ff ';
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rnd() * 40);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const links = parseLinkFormat(s);
      const query = parseRegisterQuery(s.split(','));
      const update = parseUpdateQuery(s.split(';'));
      for (const r of [links, query, update]) {
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
      }
    }
  });
});
