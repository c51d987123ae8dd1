// One configured serial device: finds its port, opens it, reopens it with back-off after an unplug, feeds the
// byte stream through the line splitter and demultiplexer, and writes lines and SMP frames to the device.
import { setTimeout as delay } from 'node:timers/promises';
import { SerialPortStream } from '@serialport/stream';
import type { AdapterContext } from '../../gateway/adapter.js';
import { SmpClient } from '../common/smp/client.js';
import { encodeSerialFrames, SERIAL_FRAMING_OVERHEAD } from '../common/smp/serial-frame.js';
import { Backoff } from './backoff.js';
import type { SerialAdapterConfig, SerialDevice } from './config.js';
import { endReadsOnHangup } from './hangup-read.js';
import { consoleText, type DemuxEvent, LineDemux } from './line-demux.js';
import { LineSplitter, type SplitEvent } from './line-splitter.js';
import { isAbsent, openErrorMessage } from './open-error.js';
import type { SerialPortInfo } from './port-list.js';
import { matchPort } from './port-match.js';
import { ShellEchoes } from './shell-echoes.js';
import { bitsPerByte, type SmpWireTiming, smpWireTimeMs } from './smp-wire-time.js';
import { openTtyReader, type TtyReader } from './tty-reader.js';

/** A serialport binding: bindings-cpp for real ports, binding-mock in fast tests. */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface LinkDeps {
  ctx: AdapterContext;
  config: SerialAdapterConfig;
  binding: SerialBinding;
  /**
   * Read the port on the event loop (tty-reader.ts) instead of through the binding's thread-pool reader. Only
   * for the real bindings-cpp binding: a test binding (binding-mock) has no descriptor to read.
   */
  ttyReader?: boolean;
  listPorts(): Promise<SerialPortInfo[]>;
}

/** A port that stayed open this long is considered healthy: the next unplug starts the back-off afresh. */
const STABLE_MS = 10_000;
/** Unwritten bytes tolerated before commands are refused (a device that stopped reading, RTS held). */
const MAX_PENDING_WRITE = 64 * 1024;
/**
 * How late past a partial SMP packet's deadline a free event loop still runs the idle timer that expires it. Later
 * than that, the loop was blocked and could not read the port: the next frame may have arrived in time.
 */
const LOOP_STALL_MS = 100;
/** Why an SMP request fails while the port is closed (not plugged in, or between an unplug and the reopen). */
const NOT_OPEN = 'device is offline (its serial port is not open)';

export class SerialDeviceLink {
  readonly #deps: LinkDeps;
  readonly #splitter: LineSplitter;
  readonly #demux: LineDemux;
  readonly #backoff: Backoff;
  readonly #smp: SmpClient | undefined;
  #port: SerialPortStream | undefined;
  #reader: TtyReader | undefined;
  #readerEnd: string | undefined;
  #path: string | undefined;
  #portInfo: SerialPortInfo | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #openedAt = 0;
  #opens = 0;
  #online: boolean | undefined;
  #lastError: string | undefined;
  #absentWarned = false;
  readonly #echoes = new ShellEchoes();
  #onOpen: Array<() => void> = [];
  #smpIdleTimer: NodeJS.Timeout | undefined;
  /** The SMP packet being written: the next one (a retry too) starts after its last frame. */
  #smpWrites: Promise<void> = Promise.resolve();
  #device: SerialDevice;

  constructor(device: SerialDevice, deps: LinkDeps) {
    this.#device = device;
    this.#deps = deps;
    this.#splitter = new LineSplitter(deps.config.max_line_bytes);
    this.#demux = new LineDemux({
      framing: device.framing,
      smp: device.smp.enabled,
      maxLineBytes: deps.config.max_line_bytes,
    });
    this.#backoff = new Backoff(deps.config.reopen_backoff.initial_ms, deps.config.reopen_backoff.max_ms);
    if (device.smp.enabled) {
      this.#smp = new SmpClient({
        send: (packet) => this.#writeFrames(encodeSerialFrames(packet)),
        timeoutMs: device.smp.timeout_ms,
        wireTimeMs: (packet) => smpWireTimeMs(packet.length, this.#wireTiming()),
        retries: device.smp.retries,
        version: device.smp.version,
        framingOverhead: SERIAL_FRAMING_OVERHEAD,
      });
      this.#smp.close(NOT_OPEN);
    }
  }

  get id(): string {
    return this.#device.id;
  }

  /** The device's config entry as the link applies it. */
  get device(): SerialDevice {
    return this.#device;
  }

  /**
   * Takes a new entry for the same device whose port, framing and SMP settings are unchanged (see `reopenKeys` in
   * serial-adapter.ts): the keys read as lines arrive (`log`, `shell_echo`) and the core's keys apply at once,
   * without closing the port or interrupting a firmware upload.
   */
  update(device: SerialDevice): void {
    this.#device = device;
  }

  /** How the open port is read: 'tty' (event loop) or 'binding' (serialport's reader); undefined when closed. */
  get reader(): 'tty' | 'binding' | undefined {
    return this.#port ? (this.#reader ? 'tty' : 'binding') : undefined;
  }

  /** The path of the open port, if any. */
  get path(): string | undefined {
    return this.#port ? this.#path : undefined;
  }

  get smp(): SmpClient {
    if (!this.#smp) throw new Error(`device "${this.id}": SMP is disabled (smp.enabled: false)`);
    return this.#smp;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /**
   * Closes the port for good. `reason` says why (e.g. "device removed or disabled"): a request in flight, such as a firmware
   * upload, fails with it.
   */
  async stop(reason: string): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopSmpIdleTimer();
    this.#smp?.close(reason);
    const port = this.#port;
    this.#port = undefined;
    this.#reader?.close();
    this.#reader = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Resolves when the port is open (now or within `timeoutMs`), for callers that must wait for a (re-)plug. */
  opened(timeoutMs = 10_000): Promise<void> {
    if (this.#port) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onOpen = this.#onOpen.filter((f) => f !== done);
        reject(
          new Error(
            `device "${this.id}": port not open within ${timeoutMs} ms (${this.#lastError ?? 'no attempt yet'})`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#onOpen.push(done);
    });
  }

  get isOpen(): boolean {
    return this.#port !== undefined;
  }

  status(): Record<string, unknown> {
    return {
      id: this.id,
      open: this.isOpen,
      path: this.#path,
      opens: this.#opens,
      ...(this.#lastError ? { last_error: this.#lastError } : {}),
    };
  }

  /** Writes one text line (a newline is appended). Rejects when the port is closed or stops taking data. */
  async writeLine(text: string): Promise<void> {
    if (text.includes('\n')) throw new Error('a line must not contain a newline');
    if (this.device.shell_echo) this.#echoes.expect(text, performance.now());
    await this.#write(Buffer.from(`${text}\n`, 'utf8'));
  }

  #wireTiming(): SmpWireTiming {
    const d = this.device;
    return {
      baudRate: d.baud_rate,
      bitsPerByte: bitsPerByte(d),
      framesPerBurst: d.smp.line_buffers,
      frameGapMs: d.smp.frame_gap_ms,
    };
  }

  /**
   * Writes one SMP packet's frames after the previous packet's, `smp.line_buffers` at a time with `smp.frame_gap_ms`
   * between. Zephyr's serial SMP transports (uart_mcumgr.c, smp_shell.c) collect frames in the UART interrupt into
   * CONFIG_UART_MCUMGR_RX_BUF_COUNT / CONFIG_MCUMGR_TRANSPORT_SHELL_RX_BUF_COUNT line buffers (2 by default) and drop
   * a frame that finds none free; the mcumgr work queue frees them. Over USB CDC ACM a whole request arrives in one
   * go, so after that many frames the device needs the pause (mcumgr's CLI pauses 20 ms per frame).
   */
  #writeFrames(frames: Uint8Array[]): Promise<void> {
    const run = this.#smpWrites.then(async () => {
      const port = this.#port;
      const { frame_gap_ms: gap, line_buffers: lineBuffers } = this.device.smp;
      const burst = gap > 0 ? lineBuffers : frames.length;
      for (let i = 0; i < frames.length; i += burst) {
        if (i > 0) await delay(gap);
        // The rest of a packet never goes to a port reopened meanwhile (the device lost its start).
        if (this.#port !== port) throw new Error(`device "${this.id}": serial port closed while writing an SMP packet`);
        // Counted once per packet, as a line is.
        await this.#write(Buffer.concat(frames.slice(i, i + burst)), i + burst >= frames.length);
      }
    });
    this.#smpWrites = run.catch(() => undefined);
    return run;
  }

  #write(bytes: Buffer, count = true): Promise<void> {
    const port = this.#port;
    if (!port) return Promise.reject(new Error(`device "${this.id}" is offline (its serial port is not open)`));
    // Bounded including this write; a port with nothing queued still takes one write larger than the bound.
    if (port.writableLength > 0 && port.writableLength + bytes.length > MAX_PENDING_WRITE) {
      return Promise.reject(
        new Error(`device "${this.id}": the port is not draining (${port.writableLength} bytes queued)`),
      );
    }
    return new Promise((resolve, reject) => {
      port.write(bytes, (err) => {
        if (!err) {
          if (count) this.#deps.ctx.countMessage('out');
          resolve();
          return;
        }
        this.#deps.ctx.decodeError('serial_write_failed', { deviceId: this.id, error: err.message });
        reject(new Error(`device "${this.id}": write failed: ${err.message}`));
      });
    });
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#attempt(), delayMs);
  }

  async #attempt(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped || this.#port) return;
    const path = await this.#resolvePath();
    if (this.#stopped || this.#port) return;
    if (!path) {
      this.#absent();
      return;
    }
    try {
      await this.#open(path);
    } catch (err) {
      // Stopped while it opened (its device removed, its adapter stopping): what that open met is no longer news.
      if (this.#stopped) return;
      const message = openErrorMessage(err, path);
      if (isAbsent(err)) {
        this.#absent();
        return;
      }
      if (message !== this.#lastError) {
        this.#deps.ctx.logger.warn({ device: this.id, path, err: message }, 'cannot open serial port');
        this.#deps.ctx.statusChanged?.();
      }
      this.#lastError = message;
      this.#setOnline(false);
      this.#schedule(this.#backoff.next());
    }
  }

  /** The port is not there (yet): look again after the scan interval, without growing the back-off. */
  #absent(): void {
    if (this.#lastError !== 'port not present') this.#deps.ctx.statusChanged?.();
    this.#warnAbsentPath();
    this.#lastError = 'port not present';
    this.#setOnline(false);
    this.#schedule(this.#deps.config.scan_interval_ms);
  }

  /** Once per link: a fixed path that is not there may be mistyped, and nothing else would say so. */
  #warnAbsentPath(): void {
    const { path } = this.device;
    if (!path || this.#absentWarned) return;
    this.#absentWarned = true;
    const every = this.#deps.config.scan_interval_ms;
    this.#deps.ctx.logger.warn(
      { device: this.id, path, scan_interval_ms: every },
      `serial port ${path} not present; looking again every ${every} ms (check the device's path, or find the port with match)`,
    );
  }

  async #resolvePath(): Promise<string | undefined> {
    const { path, match } = this.device;
    if (path) return path;
    if (!match) return undefined;
    const ports = await this.#deps.listPorts().catch(() => [] as SerialPortInfo[]);
    this.#portInfo = matchPort(match, ports);
    return this.#portInfo?.path;
  }

  async #open(path: string): Promise<void> {
    const d = this.device;
    const port = new SerialPortStream({
      binding: this.#deps.binding,
      path,
      baudRate: d.baud_rate,
      dataBits: d.data_bits,
      parity: d.parity,
      stopBits: d.stop_bits,
      rtscts: d.rtscts,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    // The binding's own read never ends at a hang-up (see hangup-read.ts): an unplug would go unnoticed.
    endReadsOnHangup(port.port);
    const reader = this.#deps.ttyReader
      ? await openTtyReader(path, {
          data: (chunk) => this.#onData(chunk),
          end: (reason) => this.#onReaderEnd(port, reason),
        })
      : undefined;
    if (this.#stopped) {
      reader?.close();
      port.close();
      return;
    }
    this.#port = port;
    this.#reader = reader;
    this.#readerEnd = undefined;
    this.#path = path;
    this.#openedAt = performance.now();
    this.#opens++;
    this.#lastError = undefined;
    this.#splitter.reset();
    this.#endPartialSmp();
    this.#smp?.reopen();
    // Without the fast reader the stream reads through the binding; with it the stream is only written to
    // (no 'data' listener, so it never starts the binding's reader).
    if (!reader) port.on('data', (chunk: Buffer) => this.#onData(chunk));
    port.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    port.on('close', (err?: Error | null) => this.#onClose(port, err ?? undefined));
    this.#deps.ctx.logger.info({ device: this.id, path, reader: reader ? 'tty' : 'binding' }, 'serial port open');
    const info: Record<string, unknown> = { path, baud_rate: d.baud_rate };
    if (this.#portInfo) {
      const { vid, pid, serialNumber, manufacturer, product } = this.#portInfo;
      info.usb = { vid, pid, serial: serialNumber, manufacturer, product };
    }
    this.#deps.ctx.deviceInfo(this.id, info);
    this.#setOnline(true);
    for (const resolve of this.#onOpen.splice(0)) resolve();
  }

  /** The fast reader saw the tty hang up (unplug): close the port too, which reports it through #onClose. */
  #onReaderEnd(port: SerialPortStream, reason: string): void {
    if (this.#port !== port) return;
    this.#readerEnd = reason;
    this.#reader = undefined;
    if (port.isOpen) port.close((err) => err && this.#onClose(port, err));
    else this.#onClose(port, undefined);
  }

  #onClose(port: SerialPortStream, err: Error | undefined): void {
    if (this.#port !== port) return;
    this.#port = undefined;
    this.#reader?.close();
    this.#reader = undefined;
    this.#smp?.close(`device "${this.id}": serial port closed`);
    if (this.#stopped) return;
    this.#endPartialSmp();
    const reason = err?.message ?? this.#readerEnd ?? 'port closed';
    this.#lastError = reason;
    this.#deps.ctx.logger.warn({ device: this.id, path: this.#path, reason }, 'serial port closed; will reopen');
    this.#setOnline(false);
    if (performance.now() - this.#openedAt >= STABLE_MS) this.#backoff.reset();
    this.#schedule(this.#backoff.next());
  }

  #setOnline(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    this.#deps.ctx.availability(this.id, online);
    this.#deps.ctx.statusChanged?.(); // bridge/info shows each port open or not, and why
  }

  #onData(chunk: Buffer): void {
    try {
      this.#splitter.push(chunk, (ev) => this.#onSplit(ev));
    } catch (err) {
      // A bug in decoding must not take the process down through the stream's 'data' event.
      this.#deps.ctx.decodeError('internal', {
        deviceId: this.id,
        bytes: Buffer.from(chunk.subarray(0, 64)),
        error: String(err),
      });
    }
  }

  #onSplit(ev: SplitEvent): void {
    if (ev.kind === 'overlong') {
      this.#deps.ctx.decodeError('overlong_line', {
        deviceId: this.id,
        bytes: ev.head,
        error: `line longer than ${this.#deps.config.max_line_bytes} bytes dropped (${ev.dropped} bytes)`,
      });
      return;
    }
    if (this.#echoes.pending && this.#echoes.isEcho(consoleText(ev.line), performance.now())) return;
    this.#forgiveLoopStall();
    for (const event of this.#demux.push(ev.line)) this.#dispatch(event);
    this.#watchSmpIdle();
  }

  /** A partial SMP packet whose next frame is overdue is reported even if the device then says nothing more. */
  #watchSmpIdle(): void {
    const deadline = this.#demux.smpDeadline;
    if (deadline === undefined || this.#smpIdleTimer) return;
    // Armed once per partial packet; when it fires early (more frames came meanwhile) it re-arms itself.
    this.#smpIdleTimer = setTimeout(
      () => {
        this.#smpIdleTimer = undefined;
        this.#forgiveLoopStall();
        for (const event of this.#demux.expire(performance.now())) this.#dispatch(event);
        this.#watchSmpIdle();
      },
      Math.max(0, deadline - performance.now()),
    );
    this.#smpIdleTimer.unref();
  }

  /**
   * Lateness is judged by when a frame arrived, not when it was processed. After the event loop was blocked past a
   * partial packet's deadline, the idle timer runs before the loop reads the port (timers come before the poll
   * phase), and a frame read then may have arrived long before: the packet gets a full idle time from now instead.
   * A packet whose deadline passed while the loop was free was expired by the timer already.
   */
  #forgiveLoopStall(): void {
    const deadline = this.#demux.smpDeadline;
    if (deadline === undefined) return;
    const now = performance.now();
    if (now - deadline > LOOP_STALL_MS) this.#demux.restartSmpIdle(now);
  }

  #stopSmpIdleTimer(): void {
    clearTimeout(this.#smpIdleTimer);
    this.#smpIdleTimer = undefined;
  }

  /** The port closed or reopened: a partial SMP packet can no longer complete, so it counts as truncated. */
  #endPartialSmp(): void {
    this.#stopSmpIdleTimer();
    for (const event of this.#demux.flush()) this.#dispatch(event);
  }

  #dispatch(event: DemuxEvent): void {
    const { ctx } = this.#deps;
    switch (event.kind) {
      case 'smp': {
        const outcome = this.#smp?.handlePacket(event.packet);
        if (outcome && !outcome.ok) {
          ctx.decodeError('smp_packet', { deviceId: this.id, bytes: event.packet, error: outcome.reason });
        } else {
          ctx.countMessage('in'); // a packet the SMP client refused is a decode error only
          this.#alive();
          if (outcome?.value === 'unsolicited')
            ctx.logger.debug({ device: this.id }, 'unsolicited SMP response ignored');
        }
        return;
      }
      case 'telemetry':
        ctx.countMessage('in');
        ctx.telemetry(this.id, event.values);
        return;
      case 'publish':
        ctx.countMessage('in');
        this.#alive();
        ctx.publish(
          this.id,
          event.topic,
          typeof event.payload === 'string' || (typeof event.payload === 'object' && event.payload !== null)
            ? event.payload
            : JSON.stringify(event.payload),
        );
        return;
      case 'log':
        this.#alive();
        if (this.device.log) ctx.publish(this.id, 'log', event.text);
        return;
      case 'error':
        // A copy: the bytes may be a view into the tty reader's buffer, which the next read overwrites.
        ctx.decodeError(event.code, { deviceId: this.id, bytes: Buffer.from(event.bytes), error: event.reason });
        return;
    }
  }

  /** Anything the device says shows it is there (telemetry does so through the core itself). */
  #alive(): void {
    this.#deps.ctx.availability(this.id, true);
  }
}
