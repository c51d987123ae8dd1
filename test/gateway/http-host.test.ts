// The HTTP listener answers only to names it knows, so a page whose DNS name was rebound to this machine cannot
// use it (DNS rebinding); IP addresses, localhost, the machine's name and http.allowed_hosts are served.
import { request } from 'node:http';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/child-gateway.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** A request with a chosen Host header (fetch always sends the URL's). */
function withHost(url: string, host: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP Host check', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('refuses unknown host names on every path, the dashboard API and health endpoints alike', async () => {
    gw = await startTestGateway();
    const port = new URL(gw.httpUrl).port;
    const refused = await withHost(`${gw.httpUrl}/api/state`, `evil.test:${port}`);
    expect(refused.status).toBe(421);
    expect(refused.body).toContain('http.allowed_hosts');
    const add = await withHost(`${gw.httpUrl}/api/request/device/add`, 'evil.test', 'POST', '{"id":"planted"}');
    expect(add.status).toBe(421);
    expect((await withHost(`${gw.httpUrl}/healthz`, 'evil.test')).status).toBe(421);
    expect((await withHost(`${gw.httpUrl}/api/state`, `localhost.evil.test:${port}`)).status).toBe(421);
  });

  it('serves localhost, IP addresses, the machine name and http.allowed_hosts', async () => {
    gw = await startTestGateway({ http: { host: '127.0.0.1', port: 0, allowed_hosts: ['Gateway.LAN'] } });
    const port = new URL(gw.httpUrl).port;
    const hosts = [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      '::1',
      `192.168.1.20:${port}`,
      `${hostname()}:${port}`,
      `gateway.lan:${port}`,
      'GATEWAY.lan',
    ];
    for (const host of hosts)
      expect([host, (await withHost(`${gw.httpUrl}/api/state`, host)).status]).toEqual([host, 200]);
  });

  it('keeps `zephyr2mqtt health --url http://127.0.0.1:<port>` (the container HEALTHCHECK) working', async () => {
    gw = await startTestGateway();
    const health = await runCli(['health', '--url', gw.httpUrl]);
    expect(health.stdout).toContain('"status":"ready"');
    expect(health.code).toBe(0);
  });
});
