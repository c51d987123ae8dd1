// GET /.well-known/core honours Accept (RFC 7252 §5.10.4): link-format (40) or nothing, 4.06 for anything else.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('/.well-known/core', () => {
  it('answers 2.05 in link-format without Accept or with Accept 40, 4.06 for another format', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    for (const accept of [undefined, 40]) {
      const res = await h.send('GET', '/.well-known/core', undefined, accept === undefined ? {} : { accept });
      expect([res.code, res.contentFormat]).toEqual(['2.05', 40]);
      expect(res.payload.toString()).toContain('</ps>');
    }
    for (const accept of [50, 60, 0]) {
      const res = await h.send('GET', '/.well-known/core', undefined, { accept });
      expect(res.code).toBe('4.06');
      expect(res.payload.toString()).not.toContain('</ps>');
    }
    expect((await h.send('POST', '/.well-known/core')).code).toBe('4.05');
    expect((await h.send('GET', '/.well-known/other')).code).toBe('4.04');
  });

  it('filters by the query as RFC 6690 §4.1 describes: href, attributes, value lists and a trailing *', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const links = async (query: string) => {
      const res = await h.send('GET', `/.well-known/core?${query}`);
      expect([res.code, res.contentFormat]).toEqual(['2.05', 40]);
      return res.payload.toString();
    };
    const ps = '</ps>;rt="core.ps";ct="0 42 50 60 110 112"';
    for (const query of [
      'rt=core.ps',
      'rt=core*',
      'href=/ps',
      'href=/p*',
      'ct=50',
      'ct=112',
      'rt=core.ps&ct=60',
      'rt',
    ]) {
      expect(await links(query), query).toBe(ps);
    }
    for (const query of [
      'rt=core.rd',
      'rt=core',
      'href=/rd*',
      'ct=41',
      'if=sensor',
      'obs',
      'rt=core.ps&ct=41',
      'toString=x',
      'hasOwnProperty=a*',
      'constructor',
    ]) {
      expect(await links(query), query).toBe('');
    }
  });
});
