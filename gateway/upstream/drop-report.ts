// Drops are reported at most once a second, summed per reason.
//
// The report itself is published on the gateway's <base>/bridge/event and (retained) <base>/bridge/info, which
// the default `#` mapping sends upstream too. When the upstream refuses those (ACL) or the queue cannot take them
// (full, disk full), their drop would cause the next report: a report and two drops every second, forever, with
// no device traffic. So drops of the gateway's own reports are counted like any other (metrics, status, the
// `total` of the next report), but a second in which nothing else was dropped sends no report.
import type { DropReason } from './queue/disk-queue.js';

export type DropCounts = Partial<Record<DropReason, number>>;

interface Window {
  timer: NodeJS.Timeout;
  counts: DropCounts;
  total: number;
  own: number;
}

export class DropReport {
  #window: Window | undefined;

  constructor(
    private readonly send: (counts: DropCounts) => void,
    private readonly intervalMs = 1000,
  ) {}

  /** `own`: the dropped messages were the gateway's own reports. */
  add(count: number, reason: DropReason, own = false): void {
    if (!this.#window) {
      const timer = setTimeout(() => this.flush(), this.intervalMs);
      timer.unref();
      this.#window = { timer, counts: {}, total: 0, own: 0 };
    }
    const w = this.#window;
    w.counts[reason] = (w.counts[reason] ?? 0) + count;
    w.total += count;
    if (own) w.own += count;
  }

  /** Some of the messages just added (same tick) turn out to be the gateway's own reports. */
  markOwn(count: number): void {
    if (this.#window) this.#window.own += count;
  }

  flush(): void {
    const w = this.#window;
    if (!w) return;
    clearTimeout(w.timer);
    this.#window = undefined;
    if (w.total > w.own) this.send(w.counts);
  }
}
