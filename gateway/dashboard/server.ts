// The web dashboard: static assets, a JSON API over the gateway's MQTT API, and server-sent events.
// Reads need a login when the broker requires credentials; what a user sees and may write follows their broker ACL
// (anonymous users: anonymous_acl).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { BrokerMessage, EmbeddedBroker } from '../broker/types.js';
import type { HttpRoute } from '../http.js';
import type { Logger } from '../logger.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { deviceIdOf, writeTopic } from './api-paths.js';
import { EventStreams } from './event-streams.js';
import { firmwareDirOf, isOtaUpload, listDeviceFirmware, listFirmware, OTA_RESPONSE_TIMEOUT_MS } from './firmware.js';
import { logTail } from './log-tail.js';
import { LoginGuard } from './login-guard.js';
import { DashboardModel } from './model.js';
import { ProxyTrust } from './proxy-trust.js';
import { ReadView } from './read-view.js';
import { type Session, Sessions } from './sessions.js';

export interface DashboardAuth {
  /** True when the broker requires credentials (then so does the dashboard). */
  required: boolean;
  verify(username: string, password: string): Promise<boolean>;
  canPublish(username: string | undefined, topic: string): boolean;
  /** May the user subscribe to `topic` (a topic name, or a filter every topic of which must be readable)? */
  canRead(username: string | undefined, topic: string): boolean;
}

export interface DashboardDeps {
  broker: EmbeddedBroker;
  baseTopic: string;
  logger: Logger;
  auth: DashboardAuth;
  /** Login lifetime; 12 h unless a test shortens it. */
  sessionTtlMs?: number;
  /** The clock of login waits and device cookies (milliseconds, monotonic); a test's own to advance. */
  now?: () => number;
  /** http.trusted_proxies: peers whose X-Forwarded-For is believed; none by default. */
  trustedProxies?: readonly string[];
  /** For the Firmware section; without it no device offers firmware updates. */
  firmware?: FirmwareSource;
  /** How long a request waits for its response: 10 s, and an upload's ota_update 30 min, unless a test shortens them. */
  responseTimeoutMs?: { request: number; ota: number };
}

export interface FirmwareSource {
  /** gateway.data_dir, resolved: adapters read their firmware from `<data_dir>/adapters/<kind>/firmware`. */
  dataDir: string;
  /** The device's transport when its adapter can update its firmware; undefined for others and unknown ids. */
  updatableTransport(id: string): string | undefined;
}

/** Beside this module in the sources; under dashboard/ beside the bundle in dist/gateway (scripts/bundle-app.mjs). */
const WEB_DIRS = [new URL('./web/', import.meta.url), new URL('./dashboard/web/', import.meta.url)].map((url) =>
  fileURLToPath(url),
);
const WEB_DIR = WEB_DIRS.find((dir) => existsSync(dir)) ?? (WEB_DIRS[0] as string);
const ASSETS: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};
const MAX_BODY = 64 * 1024;
const FIRMWARE_PATH = /^\/api\/devices\/([^/]+)\/firmware$/;

const loginBody = z.object({ username: z.string().min(1).max(200), password: z.string().max(1000) });
const jsonObject = z.record(z.string(), z.unknown());

export class Dashboard {
  readonly model: DashboardModel;
  readonly #warnings: RateLimitedLog;
  readonly #streams: EventStreams;
  readonly #sessions: Sessions;
  readonly #logins: LoginGuard;
  readonly #proxies: ProxyTrust;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: DashboardDeps) {
    this.model = new DashboardModel(deps.baseTopic);
    this.#warnings = new RateLimitedLog(deps.logger);
    this.#streams = new EventStreams((remote, buffered) =>
      this.#warnings.warn('slow-events', { remote, buffered }, 'dashboard event stream not read, closed'),
    );
    this.#sessions = new Sessions((token) => this.#streams.endSession(token), deps.sessionTtlMs);
    this.#logins = new LoginGuard(deps.now);
    this.#proxies = new ProxyTrust(deps.trustedProxies ?? [], (peer) =>
      deps.logger.warn({ peer }, 'X-Forwarded-For ignored: the peer is not in http.trusted_proxies (logged once)'),
    );
    this.model.on('change', (c) => this.#streams.broadcast(c));
  }

  start(): void {
    this.#unsubscribe = this.deps.broker.subscribe(`${this.deps.baseTopic}/#`, (msg: BrokerMessage) =>
      this.model.ingest(msg),
    );
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#streams.endAll();
    this.#sessions.clear();
  }

  readonly route: HttpRoute = async (req, res, url) => {
    const path = url.pathname;
    const asset = ASSETS[path];
    if (asset && req.method === 'GET') {
      await this.#serveAsset(res, asset);
      return true;
    }
    if (!path.startsWith('/api/')) return false;
    const session = this.#sessions.of(req);
    if (path === '/api/session' && req.method === 'GET') {
      send(res, 200, { auth_required: this.deps.auth.required, user: session?.user ?? null });
    } else if (path === '/api/login' && req.method === 'POST') {
      await this.#login(req, res);
    } else if (path === '/api/logout' && req.method === 'POST') {
      res.setHeader('set-cookie', this.#sessions.destroy(req));
      send(res, 200, { ok: true });
    } else if (this.deps.auth.required && !session) {
      send(res, 401, { error: 'login required' });
    } else if (req.method === 'GET') {
      await this.#get(path, req, res, session);
    } else if (req.method === 'POST') {
      await this.#post(path, req, res, session?.user);
    } else {
      send(res, 405, { error: 'method not allowed' });
    }
    return true;
  };

  async #serveAsset(res: ServerResponse, file: string): Promise<void> {
    const body = await readFile(join(WEB_DIR, file));
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(file.endsWith('.html') ? PAGE_HEADERS : {}),
    });
    res.end(body);
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A cross-site form can post text/plain but not application/json: no logging a browser in as someone else.
    if (!isJson(req)) return send(res, 415, { error: 'send application/json' });
    const body = loginBody.safeParse(await readJson(req));
    if (!body.success) return send(res, 400, { error: 'expected {"username", "password"}' });
    const { username, password } = body.data;
    const remote = this.#proxies.clientAddress(req);
    const attempt = this.#logins.begin(remote, username, req.headers.cookie);
    if (attempt.wait > 0) {
      res.setHeader('retry-after', String(Math.ceil(attempt.wait / 1000)));
      return send(res, 429, { error: `too many failed logins: try again in ${Math.ceil(attempt.wait / 1000)} s` });
    }
    if (!(await this.deps.auth.verify(username, password))) {
      this.#logins.failed(attempt);
      this.#warnings.warn(`login:${remote}`, { user: username, remote }, 'dashboard login failed');
      return send(res, 401, { error: 'bad username or password' });
    }
    const secure = this.#proxies.https(req);
    res.setHeader('set-cookie', [
      this.#sessions.create(username, secure).cookie,
      this.#logins.succeeded(attempt, secure),
    ]);
    send(res, 200, { user: username });
  }

  async #get(path: string, req: IncomingMessage, res: ServerResponse, session: Session | undefined): Promise<void> {
    const view = new ReadView(this.deps.auth, this.deps.baseTopic, session?.user);
    if (path === '/api/state') send(res, 200, view.snapshot(this.model));
    else if (path === '/api/logs') this.#getLogs(res, view, session?.user);
    else if (path === '/api/events') this.#openEvents(req, res, view, session);
    else if (FIRMWARE_PATH.test(path)) await this.#getFirmware(res, view, session?.user, path);
    else if (path.startsWith('/api/devices/')) this.#getDevice(res, view, session?.user, path.slice(13));
    else send(res, 404, { error: 'not found' });
  }

  #getLogs(res: ServerResponse, view: ReadView, user: string | undefined): void {
    if (view.gatewayWide) send(res, 200, { lines: logTail.lines() });
    else send(res, 403, { error: `${who(user)} may not read ${this.deps.baseTopic}/#` });
  }

  #getDevice(res: ServerResponse, view: ReadView, user: string | undefined, segment: string): void {
    const id = deviceIdOf(segment);
    const detail = id.ok ? view.device(this.model, id.value) : undefined;
    if (!id.ok) send(res, id.status, { error: id.error });
    else if (!detail) send(res, 403, { error: `${who(user)} may not read ${this.deps.baseTopic}/${id.value}` });
    else send(res, 200, { ...detail, firmware_update: this.deps.firmware?.updatableTransport(id.value) !== undefined });
  }

  /**
   * The files ota_update can read for a device. They are on no MQTT topic: shown to a user who may read the device
   * and start an update on it (publish `bridge/request/device/ota_update`), the only use of the list.
   */
  async #getFirmware(res: ServerResponse, view: ReadView, user: string | undefined, path: string): Promise<void> {
    const id = deviceIdOf(FIRMWARE_PATH.exec(path)?.[1] ?? '');
    if (!id.ok) return send(res, id.status, { error: id.error });
    const otaTopic = `${this.deps.baseTopic}/bridge/request/device/ota_update`;
    if (!view.canReadDevice(id.value)) {
      return send(res, 403, { error: `${who(user)} may not read ${this.deps.baseTopic}/${id.value}` });
    }
    if (!this.deps.auth.canPublish(user, otaTopic)) {
      return send(res, 403, { error: `${who(user)} may not publish to ${otaTopic}` });
    }
    const transport = this.deps.firmware?.updatableTransport(id.value);
    if (!transport || !this.deps.firmware) {
      return send(res, 404, { error: `device "${id.value}" is not configured or its adapter cannot update firmware` });
    }
    const dir = firmwareDirOf(this.deps.firmware.dataDir, transport);
    try {
      const deviceDir = await listDeviceFirmware(this.deps.firmware.dataDir, transport, id.value);
      send(res, 200, { device: id.value, ...(await listFirmware(dir)), device_dir: deviceDir });
    } catch (err) {
      send(res, 500, { error: `cannot list ${dir}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  #openEvents(req: IncomingMessage, res: ServerResponse, view: ReadView, session: Session | undefined): void {
    if (!this.#streams.open(req, res, this.#proxies.clientAddress(req), view, session, view.snapshot(this.model))) {
      send(res, 503, { error: 'too many dashboard connections' });
    }
  }

  async #post(path: string, req: IncomingMessage, res: ServerResponse, user: string | undefined): Promise<void> {
    const topic = writeTopic(this.deps.baseTopic, path);
    if (!topic.ok) return send(res, topic.status, { error: topic.error });
    if (!isJson(req)) return send(res, 415, { error: 'send application/json' });
    const body = jsonObject.safeParse(await readJson(req));
    if (!body.success) return send(res, 400, { error: 'body must be a JSON object' });
    if (!this.deps.auth.canPublish(user, topic.value)) {
      return send(res, 403, { error: `${who(user)} may not publish to ${topic.value}` });
    }
    if (topic.value.endsWith('/set')) {
      await this.deps.broker.publish(topic.value, JSON.stringify(body.data), { qos: 1 });
      send(res, 202, { ok: true });
      return;
    }
    // As over MQTT: a user who may publish a request but not read its response topic sends it blind.
    const responseTopic = topic.value.replace('/bridge/request/', '/bridge/response/');
    if (this.deps.auth.canRead(user, responseTopic)) {
      const timeouts = this.deps.responseTimeoutMs ?? { request: 10_000, ota: OTA_RESPONSE_TIMEOUT_MS };
      const timeoutMs = isOtaUpload(topic.value, body.data) ? timeouts.ota : timeouts.request;
      send(res, 200, await this.#request(topic.value, responseTopic, body.data, timeoutMs));
      return;
    }
    await this.deps.broker.publish(topic.value, JSON.stringify(body.data));
    send(res, 202, { ok: true, response: `not shown: ${who(user)} may not read ${responseTopic}` });
  }

  /** A bridge request through the broker; resolves with the matching response (or a timeout error). */
  #request(topic: string, responseTopic: string, data: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const transaction = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve({ status: 'error', data: {}, error: `no response within ${timeoutMs / 1000} s`, transaction });
      }, timeoutMs);
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
}

function who(user: string | undefined): string {
  return user === undefined ? 'anonymous' : `user ${user}`;
}

function isJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/json');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' })
    .end(JSON.stringify(body));
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
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    // Deeper than any request needs: JSON.stringify of it (the MQTT request) would overflow the stack.
    return depthOf(value, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH ? value : undefined;
  } catch {
    return undefined;
  }
}

const MAX_JSON_DEPTH = 32;

/** The nesting depth of a parsed JSON value, counted no further than `limit + 1`. */
function depthOf(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit < 0) return 1;
  let deepest = 0;
  for (const child of Object.values(value)) {
    deepest = Math.max(deepest, depthOf(child, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}
