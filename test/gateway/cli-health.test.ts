// `zephyr2mqtt health` against loopback servers that answer, refuse, speak something else or say nothing.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { healthCommand, healthUrl } from '../../gateway/cli/health.js';

const servers: (Server | HttpServer)[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const s of servers.splice(0)) {
    (s as HttpServer).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

async function listening<S extends Server | HttpServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** An HTTP server answering every path with `status` and `body`, recording the paths asked. */
async function httpAnswering(status: number, body: string): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const port = await listening(
    createHttpServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end(body);
    }),
  );
  return { port, paths };
}

async function runHealth(url: string, timeoutMs?: number) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
  const code = await healthCommand(url, timeoutMs);
  vi.restoreAllMocks();
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('zephyr2mqtt health', () => {
  it('asks /readyz below the base URL, and a URL already ending in /readyz or /healthz as it is', async () => {
    expect(healthUrl('http://127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/readyz');
    expect(healthUrl('http://gw.lan/z2m/').href).toBe('http://gw.lan/z2m/readyz');
    expect(healthUrl('http://127.0.0.1:8080/readyz/').href).toBe('http://127.0.0.1:8080/readyz');
    expect(healthUrl('http://127.0.0.1:8080/healthz').href).toBe('http://127.0.0.1:8080/healthz');
    expect(() => healthUrl('mqtt://127.0.0.1:1883')).toThrow(/--url takes an http:\/\/ address/);
    expect(() => healthUrl('nope')).toThrow(
      '--url takes the gateway\'s HTTP address, like http://127.0.0.1:8080, got "nope"',
    );
    const { port, paths } = await httpAnswering(200, '{"status":"ready"}');
    const res = await runHealth(`http://127.0.0.1:${port}/readyz`);
    expect(res).toEqual({ code: 0, stdout: '{"status":"ready"}', stderr: '' });
    expect(paths).toEqual(['/readyz']);
  });

  it('names the HTTP status of a non-OK answer, also when its body is empty', async () => {
    const { port } = await httpAnswering(503, '');
    expect(await runHealth(`http://127.0.0.1:${port}`)).toEqual({
      code: 1,
      stdout: '',
      stderr: `unhealthy: HTTP 503 Service Unavailable (http://127.0.0.1:${port}/readyz)`,
    });
    const notFound = await httpAnswering(404, '{"error":"not found"}');
    const res = await runHealth(`http://127.0.0.1:${notFound.port}/other`);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `unhealthy: HTTP 404 Not Found: no zephyr2mqtt endpoint there; --url takes the gateway's base URL, e.g. http://127.0.0.1:8080 (http://127.0.0.1:${notFound.port}/other/readyz)`,
    );
  });

  it('says why a request failed: refused, TLS to a plain listener, not HTTP, no answer', async () => {
    const closed = createTcpServer();
    const freePort = await listening(closed);
    servers.pop();
    await new Promise((r) => closed.close(r));
    const refused = await runHealth(`http://127.0.0.1:${freePort}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `unhealthy: connection refused (ECONNREFUSED): nothing listens there; is the gateway running, and is this its http.host and http.port? (http://127.0.0.1:${freePort}/readyz)`,
    );

    const plain = await httpAnswering(200, 'ok');
    const tls = await runHealth(`https://127.0.0.1:${plain.port}`);
    expect(tls.stderr).toMatch(/^unhealthy: TLS failed \(\w+\): the gateway's HTTP listener speaks plain http:\/\//);

    const mqttLike = await listening(createTcpServer((socket) => socket.destroy()));
    const notHttp = await runHealth(`http://127.0.0.1:${mqttLike}`);
    expect(notHttp.stderr).toMatch(
      /^unhealthy: not an HTTP answer \(UND_ERR_SOCKET\): is this the gateway's http\.port rather than an MQTT listener's\?/,
    );

    const silent = await listening(createTcpServer((socket) => void sockets.push(socket)));
    const timedOut = await runHealth(`http://127.0.0.1:${silent}`, 300);
    expect(timedOut).toMatchObject({
      code: 1,
      stderr: `unhealthy: no answer within 300 ms (http://127.0.0.1:${silent}/readyz)`,
    });
  });
});
