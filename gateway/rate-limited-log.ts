// Logs at most `perInterval` messages per key and interval, then one summary of what was suppressed, at the end
// of the interval (also when the flood stopped and nothing else comes for that key).
import type { Logger } from './logger.js';

interface Window {
  start: number;
  count: number;
  /** Armed at the first suppressed message: logs the summary when the window ends. */
  timer?: NodeJS.Timeout;
}

export class RateLimitedLog {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly logger: Logger,
    private readonly perInterval = 5,
    private readonly intervalMs = 60_000,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string, now = performance.now()): void {
    this.#log('warn', key, obj, msg, now);
  }

  error(key: string, obj: Record<string, unknown>, msg: string, now = performance.now()): void {
    this.#log('error', key, obj, msg, now);
  }

  #log(level: 'warn' | 'error', key: string, obj: Record<string, unknown>, msg: string, now: number): void {
    let w = this.#windows.get(key);
    if (!w || now - w.start >= this.intervalMs) {
      if (w) this.#end(key, w);
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
      if (this.#windows.size > 1000) {
        const oldest = this.#windows.keys().next().value as string;
        this.#end(oldest, this.#windows.get(oldest)!);
      }
    }
    w.count++;
    if (w.count <= this.perInterval) this.logger[level](obj, msg);
    else if (!w.timer) this.#armSummary(key, w, now);
  }

  #armSummary(key: string, w: Window, now: number): void {
    w.timer = setTimeout(() => this.#end(key, w), Math.max(0, w.start + this.intervalMs - now));
    w.timer.unref();
  }

  /** Closes a window: its summary (once), and the key forgotten unless a newer window took its place. */
  #end(key: string, w: Window): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    if (w.count > this.perInterval) {
      this.logger.warn({ key, suppressed: w.count - this.perInterval }, 'suppressed repeated warnings');
      w.count = this.perInterval;
    }
    if (this.#windows.get(key) === w) this.#windows.delete(key);
  }
}
