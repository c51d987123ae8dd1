// What one HTTP client can do to the gateway: a malformed URL is a 400, not a logged handler failure; connections
// are capped, so a client that opens many (and sends its headers slowly) cannot use up the process's descriptors.
import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_HTTP_CONNECTIONS } from '../../gateway/http.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/** Sends `request` on a new connection and resolves with what came back before it closed (or 3 s). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 3000);
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

describe('HTTP limits', () => {
  let gw: TestGateway | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await gw?.stop();
    gw = undefined;
  });

  it('answers a malformed URL with 400 and serves the next request', async () => {
    gw = await startTestGateway();
    const port = Number(new URL(gw.httpUrl).port);
    const answer = await raw(port, 'GET //[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('malformed request URL');
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });

  it(`takes at most ${MAX_HTTP_CONNECTIONS} connections at once; the next are closed at once`, async () => {
    gw = await startTestGateway();
    const port = Number(new URL(gw.httpUrl).port);
    // Connections that send half a request and wait (slowloris).
    for (let i = 0; i < MAX_HTTP_CONNECTIONS; i++) {
      const socket = createConnection({ host: '127.0.0.1', port });
      sockets.push(socket);
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    }
    // The one beyond the cap is closed by the server without an answer.
    expect(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')).toBe('');
    // Once the slow clients are gone the gateway answers again.
    for (const s of sockets.splice(0)) s.destroy();
    await expect.poll(async () => (await fetch(`${gw!.httpUrl}/healthz`)).status, { timeout: 5000 }).toBe(200);
  });
});
