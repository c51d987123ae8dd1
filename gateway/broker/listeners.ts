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

function bindError(err: NodeJS.ErrnoException, host: string, port: number): BrokerStartError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new BrokerStartError(`port ${port} on ${host} is in use`);
    case 'EACCES':
      return new BrokerStartError(
        `no permission to bind port ${port} on ${host} (ports below 1024 need root or CAP_NET_BIND_SERVICE)`,
      );
    case 'EADDRNOTAVAIL':
      return new BrokerStartError(`address ${host} is not available on this machine (port ${port})`);
    default:
      return new BrokerStartError(`cannot listen on ${host} port ${port}: ${err.message}`);
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(bindError(err, host, port));
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

export async function openListener(
  config: ListenerConfig,
  handle: ConnectionHandler,
  options: ListenerOptions,
): Promise<OpenListener> {
  switch (config.type) {
    case 'mqtt': {
      const server = createTcpServer((socket) => handle(socket));
      const port = await listen(server, config.host, config.port);
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
        (socket) => handle(socket),
      );
      // A failed handshake is the client's problem; it must not surface as an unhandled server error.
      server.on('tlsClientError', () => {});
      const port = await listen(server, config.host, config.port);
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
      const port = await listen(http, config.host, config.port);
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
