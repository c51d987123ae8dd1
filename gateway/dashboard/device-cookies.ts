// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser that logged in as a
// user gets a random token bound to that user, and its later logins as that user are held only to that token's
// own attempts, not to the user-wide lockout that anyone who reaches the login form can run up.
// One browser holds the tokens of its last few users in its one cookie (`<newest>.<older>…`), so that operators
// who share a browser are each spared. Held in memory like the sessions: after a restart a browser's next login is
// an untrusted one again.
import { randomBytes } from 'node:crypto';
import { cookieHeader, readCookie } from './cookies.js';

const COOKIE = 'z2m_device';
/** Only logins need it: it travels with no other request. */
const PATH = '/api/login';
const TTL_MS = 365 * 24 * 60 * 60 * 1000;
/** Logins a token may try before it is void: a stolen token buys this many password guesses, no more. */
export const DEVICE_ATTEMPTS = 10;
const MAX_TOKENS = 1000;
/** Tokens one user keeps (their oldest goes first): no user can push everyone else's out of the table. */
const MAX_TOKENS_PER_USER = 20;
/** Users one browser keeps a token for, its latest first; the cookie stays short (5 × 43 characters). */
const TOKENS_PER_BROWSER = 5;
const TOKEN = /^[\w-]{43}$/;

interface Device {
  user: string;
  issued: number;
  attempts: number;
}

export class DeviceCookies {
  readonly #devices = new Map<string, Device>();

  constructor(private readonly now: () => number) {}

  /**
   * The browser's token (in `cookies`) bound to `user`, when it is live, with this login counted against it before the
   * password is checked, so that logins sent all at once cannot try more than DEVICE_ATTEMPTS either. Undefined:
   * no such token (none, forged, another user's, replaced, expired or used up).
   */
  claim(cookies: string | undefined, user: string): string | undefined {
    for (const token of sentTokens(cookies)) {
      const device = this.#devices.get(token);
      if (device?.user !== user) continue;
      if (!this.#usable(device)) {
        this.#devices.delete(token);
        continue;
      }
      device.attempts++;
      return token;
    }
    return undefined;
  }

  /** A login with a claimed token failed: a token with no attempts left is void at once. */
  failed(token: string): void {
    const device = this.#devices.get(token);
    if (device && device.attempts >= DEVICE_ATTEMPTS) this.#devices.delete(token);
  }

  /**
   * A new token for `user` after a successful login, put first in the browser's cookie; the user's token the browser
   * sent (`cookies`) is void, and so is the oldest of the others when the browser would hold more than
   * TOKENS_PER_BROWSER. Tokens no longer usable are left out. Returns the Set-Cookie header.
   */
  issue(user: string, cookies: string | undefined, secure: boolean): string {
    const others: string[] = [];
    for (const token of sentTokens(cookies)) {
      const device = this.#devices.get(token);
      if (device && device.user !== user && this.#usable(device)) others.push(token);
      else this.#devices.delete(token);
    }
    for (const dropped of others.splice(TOKENS_PER_BROWSER - 1)) this.#devices.delete(dropped);
    const own = [...this.#devices].filter(([, d]) => d.user === user).map(([t]) => t);
    if (own.length >= MAX_TOKENS_PER_USER) this.#devices.delete(own[0] as string);
    else if (this.#devices.size >= MAX_TOKENS) this.#devices.delete(this.#devices.keys().next().value as string);
    const token = randomBytes(32).toString('base64url');
    this.#devices.set(token, { user, issued: this.now(), attempts: 0 });
    return cookieHeader(COOKIE, [token, ...others].join('.'), PATH, TTL_MS / 1000, secure);
  }

  #usable(device: Device): boolean {
    return device.attempts < DEVICE_ATTEMPTS && this.now() - device.issued < TTL_MS;
  }
}

/** The well-formed tokens of the browser's cookie, at most TOKENS_PER_BROWSER of them. */
function sentTokens(cookies: string | undefined): string[] {
  return (readCookie(cookies, COOKIE) ?? '').split('.', TOKENS_PER_BROWSER).filter((token) => TOKEN.test(token));
}
