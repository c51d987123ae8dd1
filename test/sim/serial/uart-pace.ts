// A UART's speed on a pty, which has none: bytes handed to a line at some baud rate cross it one after another, so
// the last byte of a write arrives its wire time after the line was free.
import { setTimeout as delay } from 'node:timers/promises';

export class UartPace {
  #busyUntil = 0;
  #queue: Promise<void> = Promise.resolve();

  /** 10 bits a byte: start bit, 8 data bits, stop bit. */
  constructor(
    private readonly baudRate: number,
    private readonly bitsPerByte = 10,
  ) {}

  /** Runs `then` once `bytes` handed to the line now have crossed it, in the order the calls were made. */
  carry(bytes: number, then: () => void | Promise<void>): Promise<void> {
    const now = performance.now();
    this.#busyUntil = Math.max(now, this.#busyUntil) + (bytes * this.bitsPerByte * 1000) / this.baudRate;
    const arrives = this.#busyUntil;
    const run = this.#queue.then(async () => {
      await delay(Math.max(0, arrives - performance.now()));
      await then();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
