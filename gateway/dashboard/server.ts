// The web dashboard: static assets, a JSON API over the gateway's MQTT API, and server-sent events.
// Reads need a login when the broker requires credentials; writes are checked against the user's ACL.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { BrokerMessage, EmbeddedBroker } from '../broker/types.js';
import type { HttpRoute } from '../http.js';
import type { Logger } from '../logger.js';
import { logTail } from './log-tail.js';
import { type DashboardChange, DashboardModel } from './model.js';
import { Sessions } from './sessions.js';

export interface DashboardAuth {
  /** True when the broker requires credentials (then so does the dashboard). */
  required: boolean;
  verify(username: string, password: string): Promise<boolean>;
  canPublish(username: string | undefined, topic: string): boolean;
}

export interface DashboardDeps {
  broker: EmbeddedBroker;
  baseTopic: string;
  logger: Logger;
  auth: DashboardAuth;
}

const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));
const ASSETS: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const MAX_BODY = 64 * 1024;
const MAX_SSE_CLIENTS = 50;

const loginBody = z.object({ username: z.string().min(1).max(200), password: z.string().max(1000) });
const jsonObject = z.record(z.string(), z.unknown());

export class Dashboard {
  readonly model: DashboardModel;
  readonly #sessions = new Sessions();
  readonly #sse = new Set<ServerResponse>();
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: DashboardDeps) {
    this.model = new DashboardModel(deps.baseTopic);
    this.model.on('change', (c) => this.#broadcast(c));
  }

  start(): void {
    this.#unsubscribe = this.deps.broker.subscribe(`${this.deps.baseTopic}/#`, (msg: BrokerMessage) =>
      this.model.ingest(msg),
    );
  }

  stop(): void {
    this.#unsubscribe?.();
    for (const res of this.#sse) res.end();
    this.#sse.clear();
  }

  readonly route: HttpRoute = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const asset = ASSETS[path];
    if (asset && req.method === 'GET') {
      await this.#serveAsset(res, asset);
      return true;
    }
    if (!path.startsWith('/api/')) return false;
    const user = this.#sessions.userOf(req);
    if (path === '/api/session' && req.method === 'GET') {
      send(res, 200, { auth_required: this.deps.auth.required, user: user ?? null });
      return true;
    }
    if (path === '/api/login' && req.method === 'POST') {
      await this.#login(req, res);
      return true;
    }
    if (path === '/api/logout' && req.method === 'POST') {
      res.setHeader('set-cookie', this.#sessions.destroy(req));
      send(res, 200, { ok: true });
      return true;
    }
    if (this.deps.auth.required && !user) {
      send(res, 401, { error: 'login required' });
      return true;
    }
    if (req.method === 'GET') return this.#get(path, res, req);
    if (req.method === 'POST') return this.#post(path, req, res, user);
    send(res, 405, { error: 'method not allowed' });
    return true;
  };

  async #serveAsset(res: ServerResponse, file: string): Promise<void> {
    const body = await readFile(join(WEB_DIR, file));
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(file.endsWith('.html')
        ? { 'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:" }
        : {}),
    });
    res.end(body);
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = loginBody.safeParse(await readJson(req));
    if (!body.success) return send(res, 400, { error: 'expected {"username", "password"}' });
    if (!(await this.deps.auth.verify(body.data.username, body.data.password))) {
      this.deps.logger.warn({ user: body.data.username }, 'dashboard login failed');
      return send(res, 401, { error: 'bad username or password' });
    }
    const session = this.#sessions.create(body.data.username);
    res.setHeader('set-cookie', session.cookie);
    send(res, 200, { user: body.data.username });
  }

  #get(path: string, res: ServerResponse, req: IncomingMessage): boolean {
    if (path === '/api/state') send(res, 200, this.model.snapshot());
    else if (path === '/api/logs') send(res, 200, { lines: logTail.lines() });
    else if (path === '/api/events') this.#openSse(req, res);
    else if (path.startsWith('/api/devices/')) send(res, 200, this.model.device(decodeURIComponent(path.slice(13))));
    else send(res, 404, { error: 'not found' });
    return true;
  }

  async #post(path: string, req: IncomingMessage, res: ServerResponse, user: string | undefined): Promise<boolean> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      send(res, 415, { error: 'send application/json' });
      return true;
    }
    const body = jsonObject.safeParse(await readJson(req));
    if (!body.success) {
      send(res, 400, { error: 'body must be a JSON object' });
      return true;
    }
    const base = this.deps.baseTopic;
    let topic: string;
    if (path.startsWith('/api/request/')) topic = `${base}/bridge/request/${path.slice('/api/request/'.length)}`;
    else if (/^\/api\/devices\/[^/]+\/set$/.test(path))
      topic = `${base}/${decodeURIComponent(path.split('/')[3] ?? '')}/set`;
    else {
      send(res, 404, { error: 'not found' });
      return true;
    }
    if (this.deps.auth.required && !this.deps.auth.canPublish(user, topic)) {
      send(res, 403, { error: `user ${user} may not publish to ${topic}` });
      return true;
    }
    if (topic.endsWith('/set')) {
      await this.deps.broker.publish(topic, JSON.stringify(body.data), { qos: 1 });
      send(res, 202, { ok: true });
    } else {
      send(res, 200, await this.#request(topic, body.data));
    }
    return true;
  }

  /** A bridge request through the broker; resolves with the matching response (or a timeout error). */
  #request(topic: string, data: Record<string, unknown>): Promise<unknown> {
    const transaction = randomUUID();
    const responseTopic = topic.replace('/bridge/request/', '/bridge/response/');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve({ status: 'error', data: {}, error: 'no response within 10 s', transaction });
      }, 10_000);
      const unsubscribe = this.deps.broker.subscribe(responseTopic, (msg) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(msg.payload.toString('utf8'));
        } catch {
          return;
        }
        if ((parsed as { transaction?: unknown })?.transaction !== transaction) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(parsed);
      });
      void this.deps.broker.publish(topic, JSON.stringify({ ...data, transaction }));
    });
  }

  #openSse(req: IncomingMessage, res: ServerResponse): void {
    if (this.#sse.size >= MAX_SSE_CLIENTS) {
      send(res, 503, { error: 'too many dashboard connections' });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`event: snapshot\ndata: ${JSON.stringify(this.model.snapshot())}\n\n`);
    this.#sse.add(res);
    req.on('close', () => this.#sse.delete(res));
  }

  #broadcast(change: DashboardChange): void {
    if (this.#sse.size === 0) return;
    const frame = `event: change\ndata: ${JSON.stringify(change)}\n\n`;
    for (const res of this.#sse) res.write(frame);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
