// Queue mode: operations for a sleeping client wait for its next Register/Update, in order.

interface Pending {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class CommandQueue {
  readonly #pending = new Map<string, Pending[]>();

  constructor(private readonly maxPerEndpoint: number) {}

  get size(): number {
    let n = 0;
    for (const list of this.#pending.values()) n += list.length;
    return n;
  }

  enqueue<T>(endpoint: string, run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const list = this.#pending.get(endpoint) ?? [];
      this.#pending.set(endpoint, list);
      if (list.length >= this.maxPerEndpoint) list.shift()?.reject(new Error(`queue for ${endpoint} is full`));
      list.push({ run, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Runs everything queued for `endpoint`, one at a time (a queue-mode client handles one exchange at a time). */
  async flush(endpoint: string): Promise<void> {
    const list = this.#pending.get(endpoint);
    this.#pending.delete(endpoint);
    for (const p of list ?? []) {
      try {
        p.resolve(await p.run());
      } catch (e) {
        p.reject(e);
      }
    }
  }

  /** Fails everything queued for `endpoint` (de-registration, expiry, stop). */
  drop(endpoint: string, reason: string): void {
    const list = this.#pending.get(endpoint) ?? [];
    this.#pending.delete(endpoint);
    for (const p of list) p.reject(new Error(reason));
  }

  dropAll(reason: string): void {
    for (const endpoint of [...this.#pending.keys()]) this.drop(endpoint, reason);
  }
}
