// How Zephyr's serial SMP transports take frames in: uart_mcumgr.c (and smp_shell.c) collect each frame in the UART
// interrupt into one of a few line buffers (CONFIG_UART_MCUMGR_RX_BUF_COUNT, CONFIG_MCUMGR_TRANSPORT_SHELL_RX_BUF_COUNT;
// 2 by default) and hand it to the mcumgr work queue, which frees the buffer once it has decoded the frame. A frame
// that finds no free buffer is dropped ("Insufficient buffers; drop this fragment"). The interrupt runs through every
// byte that has arrived before the work queue gets to run: here, one read of the pty is one run of the interrupt and
// the work queue runs after it (setImmediate).

/** Zephyr's default number of line buffers for SMP frames. */
export const ZEPHYR_LINE_BUFFERS = 2;

export class LineBuffers {
  /** Frames dropped for want of a free line buffer. */
  dropped = 0;
  #queue: Uint8Array[] = [];
  #scheduled = false;

  /** `count` undefined: unlimited (every frame is taken). `work` decodes one frame, as the mcumgr work queue does. */
  constructor(
    private readonly count: number | undefined,
    private readonly work: (frame: Uint8Array) => void,
  ) {}

  /** A frame the interrupt completed (a copy is kept: the line may be a view of a reused buffer). */
  frame(line: Uint8Array): void {
    if (this.count !== undefined && this.#queue.length >= this.count) {
      this.dropped++;
      return;
    }
    this.#queue.push(Uint8Array.from(line));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const frame of this.#queue.splice(0)) this.work(frame);
    });
  }
}
