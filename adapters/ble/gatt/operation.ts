// Every GATT operation gets its own timeout: a device that refuses a request may never answer. The listener is
// removed on timeout and on link loss, so a late answer cannot resolve a later operation.
import type { EventEmitter } from 'node:events';

export class GattTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'GattTimeoutError';
  }
}

export class LinkLostError extends Error {
  constructor(what: string) {
    super(`${what}: link lost`);
    this.name = 'LinkLostError';
  }
}

/**
 * Calls `start`, then waits for `event` on `emitter` whose arguments pass `accept`.
 * Rejects on timeout or when `link` emits 'disconnect'.
 */
export function gattOperation<A extends unknown[]>(opts: {
  what: string;
  emitter: EventEmitter;
  event: string;
  start: () => void;
  timeoutMs: number;
  link: EventEmitter;
  accept?: (...args: A) => boolean;
}): Promise<A> {
  const { what, emitter, event, start, timeoutMs, link, accept } = opts;
  return new Promise<A>((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      if (accept && !accept(...(args as A))) return;
      cleanup();
      resolve(args as A);
    };
    const onDisconnect = () => {
      cleanup();
      reject(new LinkLostError(what));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new GattTimeoutError(what, timeoutMs));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      link.off('disconnect', onDisconnect);
    };
    emitter.on(event, onEvent);
    link.on('disconnect', onDisconnect);
    try {
      start();
    } catch (err) {
      cleanup();
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
