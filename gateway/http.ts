// HTTP endpoints: /healthz (process and broker alive), /readyz (listeners up, adapters settled; the bridge status
// is shown but does not affect readiness), /metrics.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Gateway } from './controller.js';

export interface HttpServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

export async function startHttpServer(
  gw: Gateway,
  config: { host: string; port: number },
  extraRoutes: HttpRoute[] = [],
): Promise<HttpServer> {
  const server = createServer((req, res) => {
    void handle(gw, req, res, extraRoutes).catch((err: unknown) => {
      gw.logger.error({ err, url: req.url }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : config.port;
  gw.logger.info({ host: config.host, port }, 'HTTP listener up');
  return {
    address: () => ({ host: config.host, port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(gw: Gateway, req: IncomingMessage, res: ServerResponse, extra: HttpRoute[]): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    const ok = gw.broker.addresses().length > 0;
    json(res, ok ? 200 : 503, {
      status: ok ? 'ok' : 'unhealthy',
      clients: gw.broker.clientCount(),
      listeners: gw.broker.addresses(),
    });
    return;
  }
  if (path === '/readyz') {
    const r = gw.ready();
    json(res, r.ready ? 200 : 503, {
      status: r.ready ? 'ready' : 'not ready',
      reasons: r.reasons,
      adapters: gw.adapterStatuses(),
      // Informational: an upstream outage does not make the gateway unready (the queue holds the data).
      bridge: bridgeReadiness(gw.upstreamStatus()),
    });
    return;
  }
  if (path === '/metrics') {
    gw.metrics.brokerClients.set(gw.broker.clientCount());
    const body = await gw.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': gw.metrics.registry.contentType }).end(body);
    return;
  }
  for (const route of extra) if (await route(req, res)) return;
  json(res, 404, { error: 'not found' });
}

function bridgeReadiness(status: Record<string, unknown> | undefined) {
  if (!status) return null;
  const queue = status.queue as { depth?: number } | null;
  return { state: status.state, last_error: status.last_error, queue_depth: queue?.depth ?? null };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
