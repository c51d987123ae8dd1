// Things a test opens (peers, endpoints, gateways) kept in one list and closed by one afterEach hook, which the test
// file registers where it wants it among its other hooks.
import { afterEach as vitestAfterEach } from 'vitest';

export interface ClosedAfterEach<T> {
  /**
   * Registers the afterEach hook that closes everything added during the test. Call once at the top of a test file
   * (or of a describe); afterEach hooks run in reverse order of registration, so where the call stands decides what
   * is closed before what.
   */
  afterEach(): void;
  /** Keeps `t` to be closed after the running test; returns it. */
  add<U extends T>(t: U): U;
}

/**
 * The hook takes everything added so far off the list and calls `close` on each, in the order they were added. By
 * default one after the other: a promise `close` returns is awaited before the next (a plain return is not, so
 * synchronous closes all happen at once, within the hook's call), and a throw or rejection ends the hook there,
 * failing the test, with the things after it dropped unclosed. With `together`, `close` is called on all of them
 * at once and the hook awaits them all (Promise.all: the first rejection fails it).
 */
export function closedAfterEach<T>(close: (t: T) => unknown, options: { together?: boolean } = {}): ClosedAfterEach<T> {
  const open: T[] = [];
  return {
    afterEach() {
      vitestAfterEach(async () => {
        const closing = open.splice(0);
        if (options.together) {
          await Promise.all(closing.map((t) => close(t)));
          return;
        }
        for (const t of closing) {
          const done = close(t);
          if (isPromiseLike(done)) await done;
        }
      });
    },
    add(t) {
      open.push(t);
      return t;
    },
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
