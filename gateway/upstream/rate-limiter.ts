// Token bucket: `rate` messages per second with one second of burst. rate 0 = unlimited.
export class RateLimiter {
  #tokens: number;
  #last: number;

  constructor(
    private rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = rate;
    this.#last = now();
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.#tokens = Math.min(this.#tokens, rate);
  }

  /** False when unlimited (rate 0). */
  get limited(): boolean {
    return this.rate > 0;
  }

  /** Takes up to `n` whole tokens at once: returns how many (0: wait waitMs() first). */
  takeUpTo(n: number): number {
    if (this.rate <= 0) return n;
    this.#refill();
    const got = Math.min(n, Math.floor(this.#tokens));
    this.#tokens -= got;
    return got;
  }

  /** Gives back tokens taken but not used. */
  refund(n: number): void {
    this.#tokens = Math.min(this.rate, this.#tokens + n);
  }

  /** Milliseconds until one token is available. */
  waitMs(): number {
    if (this.rate <= 0) return 0;
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }

  #refill(): void {
    const t = this.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((t - this.#last) / 1000) * this.rate);
    this.#last = t;
  }

  /** Takes one token: returns 0 when allowed now, else the milliseconds to wait before trying again. */
  take(): number {
    return this.takeUpTo(1) === 1 ? 0 : this.waitMs();
  }
}
