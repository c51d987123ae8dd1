// HTTP endpoints: /healthz (process and broker alive), /readyz (listeners up, adapters settled; the bridge status
// is shown but does not affect readiness), /metrics. Requests naming an unknown Host are refused (DNS rebinding).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { type BindSetting, bindErrorMessage } from './broker/listeners.js';
import { checkDashboardPolicy } from './broker/policy.js';
import type { Gateway } from './controller.js';
import { RateLimitedLog } from './rate-limited-log.js';

export interface HttpServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

const HTTP_SETTING: BindSetting = { portKey: 'http.port', hostKey: 'http.host' };

/**
 * Open connections at most: the dashboard's users, their event streams and scrapers need a few dozen. Without a
 * cap one client opening connections (and sending their headers slowly) used up the process's file descriptors,
 * and with them MQTT clients and serial ports.
 */
export const MAX_HTTP_CONNECTIONS = 256;
/** A request's headers must arrive within this (Node's default, 60 s, lets slow clients hold connections long). */
const HEADERS_TIMEOUT_MS = 10_000;

/** A route gets the request's URL parsed once by the listener (a malformed one was answered 400 before). */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface HttpConfig {
  host: string;
  port: number;
  /** Host names served besides localhost, IP addresses, `host` and the machine's name. */
  allowed_hosts?: readonly string[];
}

export async function startHttpServer(
  gw: Gateway,
  config: HttpConfig,
  extraRoutes: HttpRoute[] = [],
): Promise<HttpServer> {
  for (const warning of checkDashboardPolicy(gw.config.http, gw.config.broker))
    gw.logger.warn({ security: true }, warning);
  const refusedHost = hostGuard(gw, config);
  const failures = new RateLimitedLog(gw.logger);
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 30_000 }, (req, res) => {
    if (refusedHost(req, res)) return;
    const url = parsedUrl(req.url);
    if (!url) {
      json(res, 400, { error: 'malformed request URL' });
      return;
    }
    void handle(gw, req, res, url, extraRoutes).catch((err: unknown) => {
      failures.error('handler', { err, url: req.url }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
    });
  });
  server.maxConnections = MAX_HTTP_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(bindErrorMessage(err, HTTP_SETTING, config.host, config.port))),
    );
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

async function handle(
  gw: Gateway,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  extra: HttpRoute[],
): Promise<void> {
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
  for (const route of extra) if (await route(req, res, url)) return;
  json(res, 404, { error: 'not found' });
}

/** Answers 421 to a request for a host name this listener does not serve; true when it did. */
function hostGuard(gw: Gateway, config: HttpConfig): (req: IncomingMessage, res: ServerResponse) => boolean {
  const knownHost = hostAllowlist(config);
  const refusals = new RateLimitedLog(gw.logger);
  return (req, res) => {
    const host = req.headers.host;
    if (knownHost(host)) return false;
    // One key for all: a client sending a new Host each time must not get a log line each time.
    refusals.warn('host', { host }, 'HTTP request for an unknown host name refused');
    json(res, 421, { error: `unknown host name in "Host: ${host}"; to serve it, add it to http.allowed_hosts` });
    return true;
  };
}

/**
 * Which `Host` headers to serve. A page of another site whose name was made to resolve to this machine (DNS
 * rebinding) sends its own name; IP addresses are fine, since a page sends one only when it was loaded from it.
 * No Host at all (HTTP/1.0) is no browser.
 */
function hostAllowlist(config: HttpConfig): (header: string | undefined) => boolean {
  const names = new Set(['localhost', ...machineNames(), ...(config.allowed_hosts ?? []).map((h) => h.toLowerCase())]);
  const bound = unbracket(config.host.toLowerCase());
  if (bound !== '' && isIP(bound) === 0) names.add(bound);
  return (header) => {
    if (header === undefined) return true;
    const host = hostOfHeader(header.toLowerCase());
    return isIP(host) !== 0 || names.has(host);
  };
}

/** The machine's host name, short and with `.local` (mDNS), as LAN users type them. */
function machineNames(): string[] {
  const full = hostname().toLowerCase();
  const short = full.split('.')[0] ?? full;
  return [full, short, `${short}.local`];
}

/** The host of a Host header, without the port: `name:8080`, `[::1]:8080`, `[::1]` and a bare `::1`. */
function hostOfHeader(header: string): string {
  if (header.startsWith('[')) return unbracket(header.slice(0, header.indexOf(']') + 1));
  const colon = header.indexOf(':');
  return colon >= 0 && colon === header.lastIndexOf(':') ? header.slice(0, colon) : header;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The request's URL, undefined when it does not parse (`//[`): a malformed one is the client's error, not a
 * handler failure. */
function parsedUrl(url: string | undefined): URL | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

function bridgeReadiness(status: Record<string, unknown> | undefined) {
  if (!status) return null;
  const queue = status.queue as { depth?: number } | null;
  return { state: status.state, last_error: status.last_error, queue_depth: queue?.depth ?? null };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' })
    .end(`${JSON.stringify(body)}\n`);
}
