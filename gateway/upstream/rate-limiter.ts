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

  /** Takes one token: returns 0 when allowed now, else the milliseconds to wait before trying again. */
  take(): number {
    if (this.rate <= 0) return 0;
    const t = this.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((t - this.#last) / 1000) * this.rate);
    this.#last = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }
}
