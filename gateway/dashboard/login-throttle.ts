// Failed dashboard logins slow down password guessing: after FREE_FAILURES failures from one address (or for one
// user name) within WINDOW_MS, that address or name must wait, doubling per further failure up to MAX_WAIT_MS.
// A success clears the address's count. Bounded: at most MAX_KEYS addresses and names are remembered.
// Logins with a device cookie are not held to these waits (login-guard.ts).
const FREE_FAILURES = 10;
const WINDOW_MS = 15 * 60_000;
const FIRST_WAIT_MS = 1000;
const MAX_WAIT_MS = 5 * 60_000;
const MAX_KEYS = 10_000;

interface Failures {
  count: number;
  first: number;
  until: number;
}

export class LoginThrottle {
  readonly #failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Milliseconds this address or user must still wait before a login is tried; 0 when it may try now. */
  wait(remote: string | undefined, user: string): number {
    const t = this.now();
    return Math.max(0, ...[`ip:${remote}`, `user:${user}`].map((key) => (this.#live(key, t)?.until ?? t) - t));
  }

  failed(remote: string | undefined, user: string): void {
    const t = this.now();
    for (const key of [`ip:${remote}`, `user:${user}`]) {
      const f = this.#live(key, t) ?? { count: 0, first: t, until: t };
      f.count++;
      if (f.count >= FREE_FAILURES) f.until = t + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (f.count - FREE_FAILURES));
      this.#failures.delete(key);
      this.#failures.set(key, f);
      if (this.#failures.size > MAX_KEYS) this.#failures.delete(this.#failures.keys().next().value as string);
    }
  }

  /**
   * A login counted as failed before its password was checked (so that logins sent all at once cannot try more than
   * FREE_FAILURES either) turned out right: the address starts over, and the user's count loses that one failure.
   */
  succeeded(remote: string | undefined, user: string): void {
    this.#failures.delete(`ip:${remote}`);
    const f = this.#live(`user:${user}`, this.now());
    if (!f) return;
    f.count--;
    if (f.count <= 0) this.#failures.delete(`user:${user}`);
    else if (f.count < FREE_FAILURES) f.until = f.first;
  }

  #live(key: string, t: number): Failures | undefined {
    const f = this.#failures.get(key);
    if (f && t - f.first > WINDOW_MS && t >= f.until) {
      this.#failures.delete(key);
      return undefined;
    }
    return f;
  }
}
