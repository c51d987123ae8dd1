// Dashboard logins: the broker's users and passwords; a random session token in an HttpOnly,
// SameSite=Strict cookie. Sessions expire and the table is bounded; whoever holds on to a session (the dashboard's
// event streams) is told when it ends, by logout, expiry or eviction.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { cookieHeader, readCookie } from './cookies.js';

const COOKIE = 'z2m_session';
const TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 200;
/** Sessions one user keeps: their oldest goes first, so no user can push everyone else's out of the table. */
const MAX_SESSIONS_PER_USER = 20;

export interface Session {
  token: string;
  user: string;
}

export class Sessions {
  readonly #sessions = new Map<string, { user: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly onEnd: (token: string) => void = () => {},
    private readonly ttlMs = TTL_MS,
  ) {}

  /** `secure`: the browser reached the dashboard over HTTPS (a TLS proxy), so the cookie never travels in the clear. */
  create(user: string, secure = false): { token: string; cookie: string } {
    const token = randomBytes(32).toString('base64url');
    const own = [...this.#sessions].filter(([, s]) => s.user === user).map(([t]) => t);
    if (own.length >= MAX_SESSIONS_PER_USER) this.#end(own[0] as string);
    else if (this.#sessions.size >= MAX_SESSIONS) this.#end(this.#sessions.keys().next().value as string);
    const timer = setTimeout(() => this.#end(token), this.ttlMs).unref();
    this.#sessions.set(token, { user, timer });
    return { token, cookie: cookieHeader(COOKIE, token, '/', Math.floor(this.ttlMs / 1000), secure) };
  }

  /** The live session the request's cookie names, if any. */
  of(req: IncomingMessage): Session | undefined {
    const token = readCookie(req.headers.cookie, COOKIE);
    const s = token === undefined ? undefined : this.#sessions.get(token);
    return s && token !== undefined ? { token, user: s.user } : undefined;
  }

  /** Ends the request's session; returns the cookie header that clears it in the browser. */
  destroy(req: IncomingMessage): string {
    const token = readCookie(req.headers.cookie, COOKIE);
    if (token !== undefined) this.#end(token);
    return cookieHeader(COOKIE, '', '/', 0);
  }

  /** Ends every session (the dashboard stops). */
  clear(): void {
    for (const token of [...this.#sessions.keys()]) this.#end(token);
  }

  #end(token: string): void {
    const s = this.#sessions.get(token);
    if (!s) return;
    clearTimeout(s.timer);
    this.#sessions.delete(token);
    this.onEnd(token);
  }
}
