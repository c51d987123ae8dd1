// Logs at most `perInterval` messages per key and interval, then one summary of what was suppressed.
import type { Logger } from './logger.js';

export class RateLimitedLog {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly perInterval = 5,
    private readonly intervalMs = 60_000,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string, now = Date.now()): void {
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.intervalMs) {
      if (w && w.count > this.perInterval) {
        this.logger.warn({ key, suppressed: w.count - this.perInterval }, 'suppressed repeated warnings');
      }
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
      if (this.#windows.size > 1000) this.#windows.delete(this.#windows.keys().next().value as string);
    }
    w.count++;
    if (w.count <= this.perInterval) this.logger.warn(obj, msg);
  }
}
