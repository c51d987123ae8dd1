// A listener that cannot bind says which setting to change, for the HTTP listener and the broker's alike.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindErrorMessage, openListener } from '../../gateway/broker/listeners.js';
import type { Gateway } from '../../gateway/controller.js';
import { startHttpServer } from '../../gateway/http.js';
import { silentLogger } from '../../gateway/logger.js';

const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function busyPort(): Promise<number> {
  const blocker = createServer();
  blockers.push(blocker);
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  return (blocker.address() as { port: number }).port;
}

function gatewayStub(port: number): Gateway {
  return {
    config: { http: { host: '127.0.0.1', port, dashboard: false }, broker: { allow_anonymous: false } },
    logger: silentLogger(),
  } as unknown as Gateway;
}

describe('listener bind errors', () => {
  it('names http.port when the HTTP port is in use', async () => {
    const port = await busyPort();
    await expect(startHttpServer(gatewayStub(port), { host: '127.0.0.1', port })).rejects.toThrow(
      `http.port ${port} on 127.0.0.1: in use by another program (stop it or choose another port)`,
    );
  });

  it("names the broker listener's entry and type when its port is in use", async () => {
    const port = await busyPort();
    const listener = openListener({ type: 'mqtt', host: '127.0.0.1', port }, () => {}, {
      maxFrameBytes: 1024,
      key: 'broker.listeners[1]',
    });
    await expect(listener).rejects.toThrow(`broker.listeners[1] (mqtt) port ${port} on 127.0.0.1: in use`);
  });

  it('explains a privileged port and an address this machine does not have, naming the key to change', () => {
    const http = { portKey: 'http.port', hostKey: 'http.host' };
    const code = (c: string) => Object.assign(new Error(`listen ${c}`), { code: c });
    expect(bindErrorMessage(code('EACCES'), http, '127.0.0.1', 80)).toBe(
      'http.port 80 on 127.0.0.1: no permission to bind (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    );
    expect(bindErrorMessage(code('EADDRNOTAVAIL'), http, '192.0.2.1', 8080)).toBe(
      'http.port 8080 on 192.0.2.1: the address is not on this machine (set http.host to one of its addresses, or 0.0.0.0)',
    );
    expect(bindErrorMessage(code('EINVAL'), http, '127.0.0.1', 8080)).toBe(
      'http.port 8080 on 127.0.0.1: cannot listen (listen EINVAL)',
    );
  });
});
