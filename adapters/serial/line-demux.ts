// One demultiplexer per port: classifies each line as SMP frame, application data (NDJSON / key=value)
// or console text. Pure apart from the SMP reassembly state; the caller acts on the returned events.
import { type FrameResult, SmpSerialAssembler } from '../common/smp/serial-frame.js';
import type { SerialDeviceConfig } from './config.js';
import { decodeKvLine } from './kv.js';
import { type AppMessage, decodeNdjsonLine } from './ndjson.js';

export type DemuxEvent =
  | { kind: 'smp'; packet: Uint8Array }
  | AppMessage
  | { kind: 'log'; text: string }
  | { kind: 'error'; code: DemuxErrorCode; reason: string; bytes: Uint8Array };

/** Stable error classes (metric labels and rate-limit keys); `reason` carries the detail. */
export type DemuxErrorCode = 'binary_line' | 'ndjson' | 'smp_frame';

export interface DemuxOptions {
  framing: SerialDeviceConfig['framing'];
  smp: boolean;
  /** Bound on console text held for the rest of a line an SMP frame cut (the line splitter's limit); 4096. */
  maxLineBytes?: number;
}

// ECMA-48 escape sequences: CSI (colours, cursor moves), OSC (terminal title), then every other ESC form
// (nF charsets, Fp such as the shell's ESC 7 / ESC 8 save and restore cursor, Fe, Fs): ESC [ -/]* [0-~].
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes is the point
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: strip what is left of control characters
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
// Matched after consoleText() trimmed the line, so a bare prompt has no trailing blank.
const SHELL_PROMPT = /^[\w-]+:~\$(?:\s|$)/;
const EMPTY = new Uint8Array(0);

export class LineDemux {
  readonly #smp = new SmpSerialAssembler();
  /**
   * Console text that preceded an SMP frame on its line: the start of a line the frame cut (a prompt, a log line or
   * an NDJSON line), whose rest follows the frame. Zephyr's shell transport writes frames with uart_poll_out from the
   * mcumgr thread, between the bytes other threads print. Joined with the next line that is not a frame.
   */
  #cut: Uint8Array | undefined;

  constructor(private readonly opts: DemuxOptions) {}

  /** `line` is one line without its ending (line-splitter.ts), received at `now` (monotonic ms, performance.now(): clock steps must not expire a packet). */
  push(received: Uint8Array, now?: number): DemuxEvent[] {
    const events: DemuxEvent[] = [];
    // The rest of a line a frame cut may start inside a UTF-8 character: its bytes are not a reset's line noise.
    const line = this.#cut ? received : withoutResetGlitch(received);
    const marker = this.opts.smp ? findSmpMarker(line) : -1;
    if (marker >= 0) {
      if (marker > 0) this.#holdCut(line.subarray(0, marker), events);
      for (const r of this.#smp.push(line.subarray(marker), now)) events.push(smpEvent(r, line));
      return events;
    }
    const cut = this.#cut;
    this.#cut = undefined;
    this.#text(cut ? Buffer.concat([cut, line]) : line, events);
    return events;
  }

  /**
   * Keeps the text before a frame for the next line; line noise before a frame is reported at once. The frame may
   * have cut a UTF-8 character: an unfinished one at the end is the start of the rest.
   */
  #holdCut(text: Uint8Array, events: DemuxEvent[]): void {
    if (!isText(text.subarray(0, text.length - unfinishedUtf8(text)))) {
      this.#text(text, events);
      return;
    }
    const held = this.#cut?.length ?? 0;
    if (held > 0 && held + text.length > (this.opts.maxLineBytes ?? 4096)) {
      // Bounded like a line: what was held stands alone.
      this.#text(this.#cut!, events);
      this.#cut = undefined;
    }
    // A copy: the line may be a view of the reader's buffer, which the next read overwrites.
    this.#cut = this.#cut ? Buffer.concat([this.#cut, text]) : Buffer.from(text);
  }

  /** When a partial SMP packet times out (ms since the epoch): call `expire` then. Undefined when none. */
  get smpDeadline(): number | undefined {
    return this.#smp.deadline;
  }

  /** A partial SMP packet's next frame gets a full idle time from `now` (the caller could not read until then). */
  restartSmpIdle(now: number): void {
    this.#smp.restartIdle(now);
  }

  /** Reports a partial SMP packet whose next frame is overdue at `now`. */
  expire(now: number): DemuxEvent[] {
    return this.#smp.expire(now).map((r) => smpEvent(r, EMPTY));
  }

  /**
   * The port closed or reopened: a partial SMP packet is reported as truncated and dropped, and the start of a line
   * cut by a frame is forgotten (as the line splitter forgets a partial line).
   */
  flush(): DemuxEvent[] {
    this.#cut = undefined;
    return this.#smp.flush().map((r) => smpEvent(r, EMPTY));
  }

  #text(bytes: Uint8Array, events: DemuxEvent[]): void {
    if (!isText(bytes)) {
      events.push({ kind: 'error', code: 'binary_line', reason: 'binary data on the console (not UTF-8 text)', bytes });
      return;
    }
    const text = consoleText(bytes).replace(SHELL_PROMPT, ''); // indentation after the prompt is kept in the log
    const content = text.trimStart();
    if (content.length === 0) return;
    if (this.opts.framing !== 'raw') {
      if (content.startsWith('{')) {
        const app = decodeNdjsonLine(content);
        if (app.ok) {
          events.push(app.value);
          return;
        }
        // Counted as an NDJSON error, and still shown as console text (protocols.md §4.4: what does not parse is log).
        events.push({ kind: 'error', code: 'ndjson', reason: app.reason, bytes });
        events.push({ kind: 'log', text });
        return;
      }
      if (this.opts.framing === 'kv') {
        const values = decodeKvLine(content);
        if (values) {
          events.push({ kind: 'telemetry', values });
          return;
        }
      }
    }
    events.push({ kind: 'log', text });
  }
}

/** Bytes at the end of `bytes` that start a UTF-8 character without finishing it (0 when none). */
function unfinishedUtf8(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back] as number;
    if (b < 0x80) return 0; // ASCII: nothing unfinished
    if (b >= 0xc0) {
      const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return needed > back ? back : 0;
    }
  }
  return 0;
}

/** Longest run of glitch bytes taken for a reset's line noise; a longer run is binary data. */
const MAX_GLITCH_BYTES = 4;

/**
 * A line without the glitch a UART shows when the board resets or powers up (its TX line dips low while the pins
 * are set up): a NUL or a byte no UTF-8 text starts with (80-C1, F5-FF), in front of the first line the firmware
 * prints (the boot banner, or the first NDJSON line without one). Only a short run at the start of a line counts;
 * it is line noise, not the device's data, so it is neither decoded nor counted.
 */
function withoutResetGlitch(line: Uint8Array): Uint8Array {
  let n = 0;
  while (n <= MAX_GLITCH_BYTES && n < line.length && isGlitchByte(line[n]!)) n++;
  return n > 0 && n <= MAX_GLITCH_BYTES ? line.subarray(n) : line;
}

function isGlitchByte(b: number): boolean {
  return b === 0 || (b >= 0x80 && b <= 0xc1) || b >= 0xf5;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Console text is UTF-8 without NUL, and control bytes other than tab, CR and ESC are rare in it: a bell, a
 * backspace or a terminal title (`ESC ] 0 ; title BEL`) is text whose controls are stripped; a line that is a
 * quarter or more control bytes is binary.
 */
function isText(bytes: Uint8Array): boolean {
  let ascii = true;
  let controls = 0;
  for (const b of bytes) {
    if (b === 0) return false;
    if (b < 0x20 ? b !== 0x09 && b !== 0x0d && b !== 0x1b : b === 0x7f) controls++;
    if (b >= 0x80) ascii = false;
  }
  if (controls * 4 >= bytes.length && controls > 0) return false;
  if (ascii) return true;
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A console line as text: UTF-8, without terminal escapes, control characters and trailing blanks. */
export function consoleText(bytes: Uint8Array): string {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return raw.replace(ANSI, '').replace(CONTROL, '').trimEnd();
}

function smpEvent(r: FrameResult, line: Uint8Array): DemuxEvent {
  if (r.ok) return { kind: 'smp', packet: r.value };
  return { kind: 'error', code: 'smp_frame', reason: r.reason, bytes: r.frame ?? line };
}

/** Offset of an SMP frame marker (06 09 or 04 14) in the line, or -1. */
function findSmpMarker(line: Uint8Array): number {
  for (let i = 0; i + 1 < line.length; i++) {
    const b = line[i]!;
    if ((b === 0x06 && line[i + 1] === 0x09) || (b === 0x04 && line[i + 1] === 0x14)) return i;
  }
  return -1;
}
