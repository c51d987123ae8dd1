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
