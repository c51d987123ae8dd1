// Which limit a dashboard login is held to. A browser with a device cookie for the user is held only to that
// cookie's own attempts; every other login to the per-address and per-user waits of LoginThrottle. A stranger who
// fails on purpose as a user so runs up a wait for untrusted logins only: the user's own browser still gets in.
import { DeviceCookies } from './device-cookies.js';
import { type CountedFailure, LoginThrottle } from './login-throttle.js';

export interface LoginAttempt {
  remote: string | undefined;
  user: string;
  /** The request's Cookie header. */
  cookies: string | undefined;
  /** The device token the login is trusted by; undefined for an untrusted login. */
  device: string | undefined;
  /** Milliseconds to wait before trying; 0: check the password now. */
  wait: number;
  /** The failure counted up front for an untrusted login, taken back if it succeeds. */
  counted?: CountedFailure;
}

export class LoginGuard {
  readonly #throttle: LoginThrottle;
  readonly #devices: DeviceCookies;

  constructor(now: () => number = () => performance.now()) {
    this.#throttle = new LoginThrottle(now);
    this.#devices = new DeviceCookies(now);
  }

  /**
   * Every login that may go on is counted as failed at once, before its password is checked (scrypt takes a while),
   * so that logins sent all at once are held to the same limits as logins sent one by one; a success takes it back.
   */
  begin(remote: string | undefined, user: string, cookies: string | undefined): LoginAttempt {
    const device = this.#devices.claim(cookies, user);
    const wait = device ? 0 : this.#throttle.wait(remote, user);
    const counted = !device && wait === 0 ? this.#throttle.failed(remote, user) : undefined;
    return { remote, user, cookies, device, wait, ...(counted ? { counted } : {}) };
  }

  failed(attempt: LoginAttempt): void {
    if (attempt.device) this.#devices.failed(attempt.device);
  }

  /** Returns the Set-Cookie header of the browser's new device cookie. */
  succeeded(attempt: LoginAttempt, secure: boolean): string {
    if (!attempt.device) this.#throttle.succeeded(attempt.remote, attempt.user, attempt.counted);
    return this.#devices.issue(attempt.user, attempt.cookies, secure);
  }
}
