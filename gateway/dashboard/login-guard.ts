// Which limit a dashboard login is held to. A browser with a device cookie for the user is held only to that
// cookie's own attempts; every other login to the per-address and per-user waits of LoginThrottle. A stranger who
// fails on purpose as a user so runs up a wait for untrusted logins only: the user's own browser still gets in.
import { DeviceCookies } from './device-cookies.js';
import { LoginThrottle } from './login-throttle.js';

export interface LoginAttempt {
  remote: string | undefined;
  user: string;
  /** The request's Cookie header. */
  cookies: string | undefined;
  /** The device token the login is trusted by; undefined for an untrusted login. */
  device: string | undefined;
  /** Milliseconds to wait before trying; 0: check the password now. */
  wait: number;
}

export class LoginGuard {
  readonly #throttle: LoginThrottle;
  readonly #devices: DeviceCookies;

  constructor(now: () => number = () => performance.now()) {
    this.#throttle = new LoginThrottle(now);
    this.#devices = new DeviceCookies(now);
  }

  begin(remote: string | undefined, user: string, cookies: string | undefined): LoginAttempt {
    const device = this.#devices.claim(cookies, user);
    return { remote, user, cookies, device, wait: device ? 0 : this.#throttle.wait(remote, user) };
  }

  failed(attempt: LoginAttempt): void {
    if (attempt.device) this.#devices.failed(attempt.device);
    else this.#throttle.failed(attempt.remote, attempt.user);
  }

  /** Returns the Set-Cookie header of the browser's new device cookie. */
  succeeded(attempt: LoginAttempt, secure: boolean): string {
    this.#throttle.succeeded(attempt.remote);
    return this.#devices.issue(attempt.user, attempt.cookies, secure);
  }
}
