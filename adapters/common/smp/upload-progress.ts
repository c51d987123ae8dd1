// Turns upload offsets into Zigbee2MQTT-style progress ({progress: percent, remaining: seconds}), at most once
// per interval and always at 100 %, so a fast link does not flood the device's state topic.

export interface UploadProgress {
  /** Percent, two decimals. */
  progress: number;
  /** Estimated seconds left, from the average rate so far. */
  remaining: number;
}

export class UploadProgressThrottle {
  readonly #startedAt: number;
  #lastAt: number | undefined;
  #done = false;

  constructor(
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#startedAt = now();
  }

  /** The progress to publish for this offset, or undefined when it is too soon after the last one. */
  update(done: number, total: number): UploadProgress | undefined {
    const at = this.now();
    const finished = done >= total;
    if (this.#done) return undefined;
    if (!finished && this.#lastAt !== undefined && at - this.#lastAt < this.intervalMs) return undefined;
    this.#lastAt = at;
    this.#done = finished;
    const elapsedS = (at - this.#startedAt) / 1000;
    const remaining = finished || done === 0 ? 0 : Math.round((elapsedS / done) * (total - done));
    return { progress: total === 0 ? 100 : Math.floor((done / total) * 10_000) / 100, remaining };
  }
}
