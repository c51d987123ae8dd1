// The timers of one device client, all cancelled when it stops; nothing scheduled runs after stop(), and `signal`
// cancels the requests it still had in flight.
/** setTimeout fires at once beyond this (about 24.8 days); a device's Max-Age can ask for longer. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly lifetime = new AbortController();

  get stopped(): boolean {
    return this.lifetime.signal.aborted;
  }

  /** Aborted by stop(): requests and pings given it are no longer sent, nor retransmitted. */
  get signal(): AbortSignal {
    return this.lifetime.signal;
  }

  /** Run fn after ms, unless stopped first (undefined: stopped already). */
  later(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        if (!this.stopped) fn();
      },
      Math.min(ms, LONGEST_TIMER_MS),
    );
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  stop(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
    this.lifetime.abort();
  }
}
