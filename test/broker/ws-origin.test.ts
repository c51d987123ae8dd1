// Browsers let any web page open a WebSocket to 127.0.0.1; the MQTT WebSocket listener serves only the pages
// (origins) it is told to. Clients other than browsers send no Origin and are served as before.

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';

/** The HTTP status a WebSocket handshake from `origin` gets (101 when it opens). */
function handshakeStatus(url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt', { origin });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('MQTT over WebSocket from web pages', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('refuses a browser origin that is not in allowed_origins, and logs it', async () => {
    tb = await startTestBroker({
      listeners: [{ type: 'ws', host: '127.0.0.1', port: 0, allowed_origins: ['https://app.example:8443'] }],
    });
    expect(await handshakeStatus(tb.url('ws'), 'http://evil.test:8080')).toBe(403);
    expect(await handshakeStatus(tb.url('ws'), 'https://APP.example:8443')).toBe(101);
    const refused = tb.log.lines.filter((l) => l.msg.startsWith('WebSocket connection from a web page refused'));
    expect(refused).toEqual([expect.objectContaining({ origin: 'http://evil.test:8080', remote: '127.0.0.1' })]);

    const page = await tb.connect({ wsOptions: { origin: 'https://app.example:8443' } }, 'ws');
    await page.subscribeAsync('ws/#', { qos: 1 });
    const seen = collect(page);
    await tb.broker.publish('ws/x', 'hello', { qos: 1 });
    expect((await seen.waitFor(1))[0]?.payload).toBe('hello');
  });

  it('serves clients without an Origin header and refuses every browser origin by default', async () => {
    tb = await startTestBroker({ listeners: [{ type: 'ws', host: '127.0.0.1', port: 0 }] });
    expect(await handshakeStatus(tb.url('ws'), `http://127.0.0.1:${tb.broker.addresses()[0]?.port}`)).toBe(403);
    const client = await tb.connect({}, 'ws');
    expect(client.connected).toBe(true);
  });
});
