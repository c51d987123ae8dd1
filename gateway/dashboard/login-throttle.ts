// Failed dashboard logins slow down password guessing: after FREE_FAILURES failures from one address (or for one
// user name) within WINDOW_MS, that address or name must wait, doubling per further failure up to MAX_WAIT_MS.
// A success clears the address's count. Bounded: at most MAX_KEYS addresses and names are remembered.
// An IPv6 address counts by its /64 (throttle-address.ts). Logins with a device cookie are not held to these waits
// (login-guard.ts).
import { throttleAddress } from './throttle-address.js';

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

/** The user's wait before and after a failure was counted: what a success that turns out to be takes back. */
export interface CountedFailure {
  untilBefore: number | undefined;
  untilAfter: number;
}

export class LoginThrottle {
  readonly #failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Milliseconds this address or user must still wait before a login is tried; 0 when it may try now. */
  wait(remote: string | undefined, user: string): number {
    const t = this.now();
    return Math.max(0, ...keysOf(remote, user).map((key) => (this.#live(key, t)?.until ?? t) - t));
  }

  failed(remote: string | undefined, user: string): CountedFailure {
    const t = this.now();
    let counted: CountedFailure = { untilBefore: undefined, untilAfter: t };
    for (const key of keysOf(remote, user)) {
      const known = this.#live(key, t);
      const f = known ?? { count: 0, first: t, until: t };
      const untilBefore = known?.until;
      f.count++;
      if (f.count >= FREE_FAILURES) f.until = t + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (f.count - FREE_FAILURES));
      this.#failures.delete(key);
      this.#failures.set(key, f);
      if (this.#failures.size > MAX_KEYS) this.#failures.delete(this.#failures.keys().next().value as string);
      counted = { untilBefore, untilAfter: f.until };
    }
    return counted;
  }

  /**
   * A login counted as failed before its password was checked (so that logins sent all at once cannot try more than
   * FREE_FAILURES either) turned out right: the address starts over, and the user's count loses that one failure,
   * with the wait it started (unless a later failure has set another since).
   */
  succeeded(remote: string | undefined, user: string, counted?: CountedFailure): void {
    this.#failures.delete(addressKey(remote));
    const f = this.#live(`user:${user}`, this.now());
    if (!f) return;
    f.count--;
    if (f.count <= 0) this.#failures.delete(`user:${user}`);
    else if (counted && f.until === counted.untilAfter) f.until = counted.untilBefore ?? f.first;
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

function addressKey(remote: string | undefined): string {
  return `ip:${remote === undefined ? remote : throttleAddress(remote)}`;
}

function keysOf(remote: string | undefined, user: string): [string, string] {
  return [addressKey(remote), `user:${user}`];
}
