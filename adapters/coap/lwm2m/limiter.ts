// At most N tasks in flight; the others start in arrival order as slots free up.

export class Limiter {
  #active = 0;
  #waiting: Array<() => void> = [];
  #head = 0;

  constructor(readonly max: number) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#waiting[this.#head];
    if (next === undefined) {
      this.#active--;
      return;
    }
    // The slot passes straight to the next task; the consumed prefix is dropped once it is half the array.
    this.#head++;
    if (this.#head * 2 >= this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    next();
  }
}
