// NSTART = 1 (RFC 7252 §4.7): at most one outstanding interaction with each peer (address, zone and port); the
// others wait their turn in order. A burst at a device's start-up, or retransmissions to a device that is down,
// would otherwise crowd a 6LoWPAN link and a device's few receive buffers. Different peers never wait for each other.
import type { CoapPeer } from '../endpoint.js';
import { CoapCancelledError, CoapDeadlineError, CoapQueueFullError } from './errors.js';
import { peerKey } from './peer.js';

interface Waiter {
  start(): void;
  fail(error: Error): void;
}

/** One peer's turn: present while an interaction with it is outstanding. */
interface Turn {
  readonly waiting: Waiter[];
}

export class NstartQueue {
  private readonly turns = new Map<string, Turn>();

  constructor(private readonly maxWaitingPerPeer: number) {}

  /** Interactions waiting for their turn, over all peers. */
  get waiting(): number {
    let n = 0;
    for (const turn of this.turns.values()) n += turn.waiting.length;
    return n;
  }

  /**
   * Run `interaction` once no other one with `peer` is outstanding. While it waits, an aborted `signal` rejects it
   * with CoapCancelledError and a passed `deadline` (performance.now()) with CoapDeadlineError: it is never sent.
   */
  async run<T>(peer: CoapPeer, interaction: () => Promise<T>, signal?: AbortSignal, deadline?: number): Promise<T> {
    const key = peerKey(peer);
    let turn = this.turns.get(key);
    if (turn) await this.wait(peer, turn, signal, deadline);
    else {
      turn = { waiting: [] };
      this.turns.set(key, turn);
    }
    try {
      return await interaction();
    } finally {
      this.release(key, turn);
    }
  }

  /** Reject everything waiting (the endpoint stops); interactions under way end on their own. */
  clear(): void {
    const turns = [...this.turns.values()];
    this.turns.clear();
    for (const turn of turns) for (const waiter of turn.waiting.splice(0)) waiter.fail(new Error('endpoint stopped'));
  }

  private wait(peer: CoapPeer, turn: Turn, signal: AbortSignal | undefined, deadline: number | undefined) {
    if (signal?.aborted) return Promise.reject(new CoapCancelledError(peer));
    if (turn.waiting.length >= this.maxWaitingPerPeer) {
      return Promise.reject(new CoapQueueFullError(peer, this.maxWaitingPerPeer));
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', cancelled);
      };
      const leave = (error: Error): void => {
        const at = turn.waiting.indexOf(waiter);
        if (at >= 0) turn.waiting.splice(at, 1);
        done();
        reject(error);
      };
      const waiter: Waiter = {
        start: () => {
          done();
          resolve();
        },
        fail: leave,
      };
      const cancelled = (): void => leave(new CoapCancelledError(peer));
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(() => leave(new CoapDeadlineError(peer, false)), Math.max(0, deadline - performance.now()));
      signal?.addEventListener('abort', cancelled, { once: true });
      turn.waiting.push(waiter);
    });
  }

  /** Hand the peer's turn to the next waiter, or end it. */
  private release(key: string, turn: Turn): void {
    if (this.turns.get(key) !== turn) return; // cleared meanwhile
    const next = turn.waiting.shift();
    if (next) next.start();
    else this.turns.delete(key);
  }
}
