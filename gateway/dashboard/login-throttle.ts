// Failed dashboard logins slow down password guessing: after FREE_FAILURES failures from one address (or for one
// user name) within WINDOW_MS, that address or name must wait, doubling per further failure up to MAX_WAIT_MS.
// A success clears the address's count. An IPv6 address counts by its /64 (throttle-address.ts). Bounded: at most
// MAX_KEYS addresses and names are remembered, and a locked-out one is not forgotten to make room for others
// (failure-table.ts): a login from an address, or as a name, that finds no room waits too.
// Logins with a device cookie are not held to these waits (login-guard.ts).
import { type Failures, FailureTable } from './failure-table.js';
import { throttleAddress } from './throttle-address.js';

const FREE_FAILURES = 10;
const WINDOW_MS = 15 * 60_000;
const FIRST_WAIT_MS = 1000;
const MAX_WAIT_MS = 5 * 60_000;
const MAX_KEYS = 10_000;

/** The user's wait before and after a failure was counted: what a success that turns out to be takes back. */
export interface CountedFailure {
  untilBefore: number | undefined;
  untilAfter: number;
}

export class LoginThrottle {
  readonly #failures = new FailureTable(MAX_KEYS, {
    holds: (f) => f.count >= FREE_FAILURES,
    expiresAt: (f) => Math.max(f.until, f.first + WINDOW_MS),
  });

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Milliseconds this address or user must still wait before a login is tried, or, when either is new, until the
   * table has room for it; 0 when it may try now.
   */
  wait(remote: string | undefined, user: string): number {
    const t = this.now();
    const keys = keysOf(remote, user);
    const waits = keys.map((key) => (this.#failures.live(key, t)?.until ?? t) - t);
    return Math.max(0, ...waits, this.#failures.roomWait(keys, t));
  }

  /** Counts a failure for the address and the user; either is left uncounted when it is new and finds no room. */
  failed(remote: string | undefined, user: string): CountedFailure {
    const t = this.now();
    const keys = keysOf(remote, user);
    this.#failures.makeRoom(keys, t);
    let counted: CountedFailure = { untilBefore: undefined, untilAfter: t };
    for (const key of keys) {
      const known = this.#failures.live(key, t);
      const f: Failures = known ?? { count: 0, first: t, until: t };
      const untilBefore = known?.until;
      f.count++;
      if (f.count >= FREE_FAILURES) f.until = t + Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (f.count - FREE_FAILURES));
      this.#failures.set(key, f);
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
    const [address, name] = keysOf(remote, user);
    this.#failures.delete(address);
    const f = this.#failures.live(name, this.now());
    if (!f) return;
    f.count--;
    if (counted && f.until === counted.untilAfter) f.until = counted.untilBefore ?? f.first;
    if (f.count <= 0) this.#failures.delete(name);
    else this.#failures.set(name, f);
  }
}

function keysOf(remote: string | undefined, user: string): [string, string] {
  return [`ip:${throttleAddress(remote)}`, `user:${user}`];
}
