// The timers of one device client, all cancelled when it stops; nothing scheduled runs after stop().
/** setTimeout fires at once beyond this (about 24.8 days); a device's Max-Age can ask for longer. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private halted = false;

  get stopped(): boolean {
    return this.halted;
  }

  /** Run fn after ms, unless stopped first (undefined: stopped already). */
  later(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.halted) return undefined;
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        if (!this.halted) fn();
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
    this.halted = true;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
