// GET /.well-known/core honours Accept (RFC 7252 §5.10.4): link-format (40) or nothing, 4.06 for anything else.
import { afterEach, describe, expect, it } from 'vitest';
import { type CoapHarness, startCoapHarness } from './harness.js';

let h: CoapHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('/.well-known/core', () => {
  it('answers 2.05 in link-format without Accept or with Accept 40, 4.06 for another format', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
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
});
