// Runs a save at most once per `delayMs` however often what it saves changes: a burst of changes (hundreds of devices
// registering again after a restart) costs one write. One write at a time; a change during a write is saved by the
// next one. A failed write is retried after `retryMs`, or by flush().
export class CoalescedWrites {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private failing = false;
  private closed = false;

  constructor(
    private readonly write: () => Promise<void>,
    private readonly delayMs: number,
    private readonly retryMs: number,
    /** A write failed (said once until one works again), or `undefined`: writes work again. */
    private readonly failed: (error: unknown) => void,
  ) {}

  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    if (!this.running) this.schedule(this.delayMs);
  }

  /** Writes now what changed (after the write under way, if any); resolves once it is on disk or failed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty) await this.run();
  }

  /** flush(), then nothing more: a late change of a stopped owner must not overwrite its successor's file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A write under way reschedules when it ends.
      if (!this.running) void this.run();
    }, ms);
    this.timer.unref();
  }

  private run(): Promise<void> {
    this.dirty = false;
    const running = this.write()
      .then(
        () => {
          if (this.failing) this.failed(undefined);
          this.failing = false;
        },
        (error: unknown) => {
          this.dirty = true;
          if (!this.failing) this.failed(error);
          this.failing = true;
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.dirty) this.schedule(this.failing ? this.retryMs : this.delayMs);
      });
    this.running = running;
    return running;
  }
}
