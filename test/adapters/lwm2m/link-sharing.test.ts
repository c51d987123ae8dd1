import { describe, expect, it } from 'vitest';
import type { CoapIncomingRequest } from '../../../adapters/coap/endpoint.js';
import { parseLinkFormat, SharedLinkParser } from '../../../adapters/coap/lwm2m/link-format.js';
import { createRdHandler } from '../../../adapters/coap/lwm2m/rd-handler.js';
import { type Registration, RegistrationStore } from '../../../adapters/coap/lwm2m/registration-store.js';

const PAYLOAD = '</>;ct=110,</1/0>,</3/0>,</3303/0>;ver=1.1,</3311/0>';

describe('shared registration links', () => {
  it('parses each distinct payload once and hands out the same frozen list', () => {
    const parser = new SharedLinkParser();
    const a = parser.parse(PAYLOAD);
    const b = parser.parse(PAYLOAD);
    const other = parser.parse('</1/0>,</3/0>');
    if (!a.ok || !b.ok || !other.ok) throw new Error('expected valid link format');
    expect(b.value).toBe(a.value);
    expect(other.value).not.toBe(a.value);
    expect(a).toEqual(parseLinkFormat(PAYLOAD));
    expect(Object.isFrozen(a.value)).toBe(true);
    expect(Object.isFrozen(a.value[3])).toBe(true);
    expect(Object.isFrozen(a.value[3]?.path)).toBe(true);
    expect(Object.isFrozen(a.value[3]?.attrs)).toBe(true);
    expect(parser.parse('<bad')).toMatchObject({ ok: false });
    expect(parser.size).toBe(2);
  });

  it('keeps at most maxEntries payloads and no payload longer than maxTextLength', () => {
    const parser = new SharedLinkParser(3, 40);
    for (let i = 0; i < 10; i++) expect(parser.parse(`</3/0>,</${3300 + i}/0>`).ok).toBe(true);
    expect(parser.size).toBe(3);
    const long = Array.from({ length: 20 }, (_, i) => `</${3300 + i}/0>`).join(',');
    const first = parser.parse(long);
    const second = parser.parse(long);
    expect(first.ok && second.ok && first.value !== second.value).toBe(true);
    expect(second).toEqual(first);
    expect(parser.size).toBe(3);
  });

  it('registrations with the same payload share one parsed list', () => {
    const store = new RegistrationStore();
    const registered: Registration[] = [];
    const handler = createRdHandler({
      store,
      admit: () => ({ accept: true }),
      registered: (reg) => registered.push(reg),
      updated: () => {},
      deregistered: () => {},
      malformed: () => {},
      now: () => 0,
      monotonicNow: () => 0,
      maxRegistrations: 10,
    });
    const register = (ep: string, port: number) => {
      const req: CoapIncomingRequest = {
        method: 'POST',
        confirmable: true,
        path: ['rd'],
        query: [`ep=${ep}`, 'lt=300', 'lwm2m=1.1'],
        contentFormat: 40,
        payload: Buffer.from(PAYLOAD),
        token: Buffer.alloc(0),
        source: { address: '127.0.0.1', port },
      };
      return handler(req);
    };
    expect(register('a', 1)).toMatchObject({ code: '2.01' });
    expect(register('b', 2)).toMatchObject({ code: '2.01' });
    expect(registered).toHaveLength(2);
    expect(registered[1]?.links).toBe(registered[0]?.links);
    expect(registered[0]?.links.map((l) => l.path?.obj)).toEqual([undefined, 1, 3, 3303, 3311]);
  });
});
