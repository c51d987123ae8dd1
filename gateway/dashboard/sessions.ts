// Dashboard logins: the broker's users and passwords; a random session token in an HttpOnly,
// SameSite=Strict cookie. Sessions expire and the table is bounded.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const COOKIE = 'z2m_session';
const TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 200;

export class Sessions {
  readonly #sessions = new Map<string, { user: string; expires: number }>();

  create(user: string): { token: string; cookie: string } {
    const token = randomBytes(32).toString('base64url');
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    this.#sessions.set(token, { user, expires: Date.now() + TTL_MS });
    return { token, cookie: `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${TTL_MS / 1000}` };
  }

  userOf(req: IncomingMessage): string | undefined {
    const token = readCookie(req.headers.cookie ?? '', COOKIE);
    if (!token) return undefined;
    const s = this.#sessions.get(token);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.#sessions.delete(token);
      return undefined;
    }
    return s.user;
  }

  destroy(req: IncomingMessage): string {
    const token = readCookie(req.headers.cookie ?? '', COOKIE);
    if (token) this.#sessions.delete(token);
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

function readCookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
