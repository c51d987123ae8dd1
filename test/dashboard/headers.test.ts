// The dashboard page cannot be framed by another site, and API answers are never sniffed as another type.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('dashboard response headers', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('forbids framing the page and sniffing JSON answers', async () => {
    gw = await startTestGateway();
    const page = await fetch(`${gw.httpUrl}/`);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    for (const path of ['/api/state', '/api/session', '/api/nope', '/healthz']) {
      const res = await fetch(`${gw.httpUrl}${path}`);
      expect([path, res.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
    }
  });
});
