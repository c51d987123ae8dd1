/** Doubling delay between reopen attempts, capped; reset once a port has stayed open. */
export class Backoff {
  #current: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.#current = initialMs;
  }

  next(): number {
    const delay = this.#current;
    this.#current = Math.min(this.maxMs, this.#current * 2);
    return delay;
  }

  reset(): void {
    this.#current = this.initialMs;
  }
}
