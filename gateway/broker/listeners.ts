// One network listener per config entry: plain TCP, TLS (optionally mutual) or WebSocket. Each hands every
// accepted connection, as a duplex stream, to the broker.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';
import { BrokerStartError } from './errors.js';
import type { ListenerAddress } from './types.js';

export type ConnectionHandler = (stream: Duplex, req?: IncomingMessage) => void;

export interface OpenListener {
  address: ListenerAddress;
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** WebSocket frames larger than this close the connection before they are buffered. */
  maxFrameBytes: number;
  /** A browser's WebSocket handshake was refused because its page's origin is not allowed. */
  onOriginRefused?: (origin: string, remote: string | undefined) => void;
  /** The entry's config key, e.g. `broker.listeners[0]`, named by bind errors. */
  key?: string;
}

function readPem(file: string, what: string, listener: ListenerConfig): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BrokerStartError(
      `${listener.type} listener on port ${listener.port}: cannot read ${what} ${file} (${code})`,
    );
  }
}

/** Where a listener's settings live in the config, so a bind error names the key to change. */
export interface BindSetting {
  /** The key of the port, as the message starts: `http.port`, `broker.listeners[0] (mqtt) port`. */
  portKey: string;
  /** The key of the host, named when the address is not on this machine. */
  hostKey: string;
}

/** Why a listener could not bind, naming the setting: "http.port 80 on 127.0.0.1: no permission to bind (...)". */
export function bindErrorMessage(err: NodeJS.ErrnoException, setting: BindSetting, host: string, port: number): string {
  const where = `${setting.portKey} ${port} on ${host}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where}: in use by another program (stop it or choose another port)`;
    case 'EACCES':
      return `${where}: no permission to bind (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
    case 'EADDRNOTAVAIL':
      return `${where}: the address is not on this machine (set ${setting.hostKey} to one of its addresses, or 0.0.0.0)`;
    default:
      return `${where}: cannot listen (${err.message})`;
  }
}

function listenerSetting(config: ListenerConfig, key: string | undefined): BindSetting {
  if (key === undefined) return { portKey: `broker.listeners (${config.type}) port`, hostKey: 'its host' };
  return { portKey: `${key} (${config.type}) port`, hostKey: `${key}.host` };
}

function listen(server: Server, setting: BindSetting, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new BrokerStartError(bindErrorMessage(err, setting, host, port)));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Sockets the broker did not own yet (mid-TLS handshake, WebSocket upgrade) must not hold close() open.
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/** `allowed_origins` as a predicate: exact origins (scheme://host[:port], case-insensitive), or `*` for any. */
function originAllowlist(origins: readonly string[]): (origin: string) => boolean {
  if (origins.includes('*')) return () => true;
  const set = new Set(origins.map(normalizeOrigin));
  return (origin) => set.has(normalizeOrigin(origin));
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin.toLowerCase(); // e.g. "null", sent by sandboxed frames and file: pages
  }
}

/**
 * The broker writes each client's packets of an event-loop turn in one go (turn-writes.ts): Nagle's algorithm would
 * hold the tail of such a write until the client's delayed ACK, tens of milliseconds. (ws sets this itself.)
 */
function withoutNagle<T extends { setNoDelay(noDelay?: boolean): unknown }>(socket: T): T {
  socket.setNoDelay(true);
  return socket;
}

export async function openListener(
  config: ListenerConfig,
  handle: ConnectionHandler,
  options: ListenerOptions,
): Promise<OpenListener> {
  const setting = listenerSetting(config, options.key);
  switch (config.type) {
    case 'mqtt': {
      const server = createTcpServer((socket) => handle(withoutNagle(socket)));
      const port = await listen(server, setting, config.host, config.port);
      return { address: { type: 'mqtt', host: config.host, port }, close: () => closeServer(server) };
    }
    case 'mqtts': {
      const ca = config.ca === undefined ? undefined : readPem(config.ca, 'client CA', config);
      const server = createTlsServer(
        {
          cert: readPem(config.cert, 'certificate', config),
          key: readPem(config.key, 'private key', config),
          ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
        },
        (socket) => handle(withoutNagle(socket)),
      );
      // A failed handshake is the client's problem; it must not surface as an unhandled server error.
      server.on('tlsClientError', () => {});
      const port = await listen(server, setting, config.host, config.port);
      return { address: { type: 'mqtts', host: config.host, port }, close: () => closeServer(server) };
    }
    case 'ws': {
      // Loaded only when a WebSocket listener is configured (about 3 MB of RSS otherwise idle).
      const { createWebSocketStream, WebSocketServer } = await import('ws');
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      const allowed = originAllowlist(config.allowed_origins);
      const wss = new WebSocketServer({
        server: http,
        path: config.path,
        maxPayload: options.maxFrameBytes,
        // Browsers send Origin and let any page open a WebSocket to 127.0.0.1; other clients send none.
        verifyClient: ({ origin, req }, accept) => {
          if (origin === undefined || allowed(origin)) return accept(true);
          options.onOriginRefused?.(origin, req.socket.remoteAddress);
          accept(false, 403, 'Origin not allowed (see allowed_origins)');
        },
      });
      wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        handle(stream, req);
      });
      const port = await listen(http, setting, config.host, config.port);
      return {
        address: { type: 'ws', host: config.host, port },
        async close() {
          for (const client of wss.clients) client.terminate();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
          await closeServer(http);
        },
      };
    }
  }
}
