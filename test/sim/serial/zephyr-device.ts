// A simulated Zephyr device on the far end of a pty: prints shell/log text and NDJSON, answers SMP
// (OS echo, reset, taskstat, image state) with real serial frames, and records the lines it receives.
import { EventEmitter } from 'node:events';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler } from '../../../adapters/common/smp/serial-frame.js';
import { LineSplitter } from '../../../adapters/serial/line-splitter.js';
import { LineBuffers, ZEPHYR_LINE_BUFFERS } from './line-buffers.js';
import { UartPace } from './uart-pace.js';

export const SIM_IMAGE_HASH = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

export interface SimOptions {
  /** Drop this many SMP requests without answering (to exercise client retries). */
  dropSmp?: number;
  /** Put a log line between the frames of multi-frame SMP responses, as a busy UART would. */
  interleaveLogs?: boolean;
  /** Line buffers for received SMP frames (line-buffers.ts); Zephyr's default 2 unless given, null: unlimited. */
  lineBuffers?: number | null;
  /** A UART at this rate (10 bits a byte): bytes reach the device, and its answers the gateway, no faster. */
  baudRate?: number;
}

export class ZephyrDeviceSim extends EventEmitter<{ line: [string]; smp: [SmpMessage] }> {
  readonly received: string[] = [];
  readonly smpRequests: SmpMessage[] = [];
  resets = 0;
  readonly #splitter = new LineSplitter(8192);
  readonly #asm = new SmpSerialAssembler();
  readonly #lineBuffers: LineBuffers;
  readonly #rx: UartPace | undefined;
  readonly #tx: UartPace | undefined;

  private constructor(
    private readonly port: SerialPortStream,
    public options: SimOptions,
  ) {
    super();
    const count = options.lineBuffers === undefined ? ZEPHYR_LINE_BUFFERS : (options.lineBuffers ?? undefined);
    this.#lineBuffers = new LineBuffers(count, (frame) => this.#onFrame(frame));
    if (options.baudRate !== undefined) {
      this.#rx = new UartPace(options.baudRate);
      this.#tx = new UartPace(options.baudRate);
    }
    port.on('data', (chunk: Buffer) => {
      if (!this.#rx) this.#onData(chunk);
      else {
        const copy = Buffer.from(chunk);
        void this.#rx.carry(copy.length, () => this.#onData(copy));
      }
    });
    port.on('error', () => {});
  }

  static async open(path: string, options: SimOptions = {}): Promise<ZephyrDeviceSim> {
    const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new ZephyrDeviceSim(port, options);
  }

  write(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => this.port.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  line(text: string): Promise<void> {
    return this.write(`${text}\r\n`);
  }

  ndjson(obj: unknown): Promise<void> {
    return this.line(JSON.stringify(obj));
  }

  log(level: 'inf' | 'wrn' | 'err', module: string, text: string): Promise<void> {
    return this.line(`[00:00:01.234,567] \x1b[0m<${level}> ${module}: ${text}\x1b[0m`);
  }

  /** SMP frames dropped for want of a free line buffer. */
  get droppedFrames(): number {
    return this.#lineBuffers.dropped;
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  #onData(chunk: Buffer): void {
    this.#splitter.push(chunk, (ev) => {
      if (ev.kind !== 'line') return;
      const line = ev.line;
      if ((line[0] === 6 && line[1] === 9) || (line[0] === 4 && line[1] === 0x14)) {
        this.#lineBuffers.frame(line);
        return;
      }
      const text = line.toString('utf8').replace(/\r$/, '');
      this.received.push(text);
      this.emit('line', text);
    });
  }

  #onFrame(frame: Uint8Array): void {
    for (const r of this.#asm.push(frame)) {
      if (!r.ok) continue;
      const msg = decodeSmpMessage(r.value);
      if (msg.ok) void this.#answer(msg.value);
    }
  }

  async #answer(req: SmpMessage): Promise<void> {
    this.smpRequests.push(req);
    this.emit('smp', req);
    if (this.options.dropSmp && this.options.dropSmp > 0) {
      this.options.dropSmp--;
      return;
    }
    const { group, id } = req.header;
    let body: { [key: string]: CborValue };
    if (group === 0 && id === 0) body = { r: typeof req.body.d === 'string' ? req.body.d : '' };
    else if (group === 0 && id === 5) {
      body = {};
      this.resets++;
    } else if (group === 0 && id === 2) {
      body = {
        tasks: {
          main: { prio: 0, tid: 1, state: 0, stkuse: 512, stksiz: 1024, cswcnt: 12, runtime: 0 },
          idle: { prio: 15, tid: 2, state: 0, stkuse: 64, stksiz: 320, cswcnt: 40, runtime: 0 },
        },
      };
    } else if (group === 1 && id === 0) {
      body = {
        images: [{ slot: 0, version: '1.2.3', hash: SIM_IMAGE_HASH, bootable: true, confirmed: true, active: true }],
        splitStatus: 0,
      };
    } else body = req.header.version === 2 ? { err: { group, rc: 8 } } : { rc: 8 };
    const frames = encodeSerialFrames(encodeSmpMessage({ ...req.header, op: (req.header.op + 1) as 1 | 3, body }));
    for (const [i, frame] of frames.entries()) {
      if (i > 0 && this.options.interleaveLogs) await this.log('inf', 'app', `tick ${i}`);
      if (this.#tx) await this.#tx.carry(frame.length, () => this.write(frame));
      else await this.write(frame);
    }
    if (group === 0 && id === 5) await this.line('*** Booting Zephyr OS build v4.2.0 ***');
  }
}
