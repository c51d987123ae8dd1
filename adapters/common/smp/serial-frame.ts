// SMP over a serial line (Zephyr mcumgr serial transport): packet = len u16 BE | SMP packet | CRC-16/XMODEM BE,
// base64 per frame, frames `06 09 <b64>\n` (first) and `04 14 <b64>\n` (continuation), at most 127 bytes each.
import { decodeBase64Strict, encodeBase64 } from './base64.js';
import { crc16Xmodem } from './crc16.js';
import { type DecodeResult, fail, ok } from './result.js';

export const FIRST_FRAME_MARKER = [0x06, 0x09] as const;
export const CONTINUATION_MARKER = [0x04, 0x14] as const;
export const MAX_SERIAL_FRAME = 127;
/** Raw bytes per frame: (127 − marker − newline) / 4 × 3 = 93. */
export const MAX_RAW_PER_FRAME = Math.floor((MAX_SERIAL_FRAME - 3) / 4) * 3;
/**
 * What the framing adds inside the device's receive buffer: Zephyr's serial_util.c decodes the 2-byte length, the
 * packet and the 2-byte CRC into one net_buf of buf_size bytes, and drops a packet that does not fit.
 */
export const SERIAL_FRAMING_OVERHEAD = 4;
/** Smallest valid length field: an 8-byte header plus the CRC. */
const MIN_LENGTH_FIELD = 10;

export function isFirstFrame(line: Uint8Array): boolean {
  return line[0] === FIRST_FRAME_MARKER[0] && line[1] === FIRST_FRAME_MARKER[1];
}

export function isContinuationFrame(line: Uint8Array): boolean {
  return line[0] === CONTINUATION_MARKER[0] && line[1] === CONTINUATION_MARKER[1];
}

/** Frames one SMP packet; each returned frame ends with `\n`. The CRC is never split across frames. */
export function encodeSerialFrames(packet: Uint8Array): Uint8Array[] {
  const length = packet.length + 2;
  if (length > 0xffff) throw new RangeError(`SMP packet of ${packet.length} bytes is too long for serial framing`);
  const raw = new Uint8Array(packet.length + 4);
  raw[0] = length >> 8;
  raw[1] = length & 0xff;
  raw.set(packet, 2);
  const crc = crc16Xmodem(packet);
  raw[raw.length - 2] = crc >> 8;
  raw[raw.length - 1] = crc & 0xff;

  const frames: Uint8Array[] = [];
  let off = 0;
  for (const take of frameChunks(raw.length)) {
    const text = encodeBase64(raw.subarray(off, off + take));
    const frame = new Uint8Array(text.length + 3);
    frame.set(off === 0 ? FIRST_FRAME_MARKER : CONTINUATION_MARKER, 0);
    for (let i = 0; i < text.length; i++) frame[i + 2] = text.charCodeAt(i);
    frame[frame.length - 1] = 0x0a;
    frames.push(frame);
    off += take;
  }
  return frames;
}

/** Frames and bytes (markers and newlines included) `encodeSerialFrames` makes of a packet of `packetLength` bytes. */
export function serialFramedSize(packetLength: number): { frames: number; bytes: number } {
  const chunks = frameChunks(packetLength + 4);
  // Each frame: a 2-byte marker, the chunk in base64 and a newline.
  return { frames: chunks.length, bytes: chunks.reduce((sum, take) => sum + 3 + 4 * Math.ceil(take / 3), 0) };
}

/** The raw bytes (length, packet, CRC) each frame carries: as many as fit, but both CRC bytes in the last frame. */
function frameChunks(rawLength: number): number[] {
  const chunks: number[] = [];
  for (let off = 0; off < rawLength; ) {
    let take = Math.min(MAX_RAW_PER_FRAME, rawLength - off);
    if (rawLength - (off + take) === 1) take -= 1;
    chunks.push(take);
    off += take;
  }
  return chunks;
}

/**
 * Zephyr sends a packet's frames back to back, but log lines may come between them, so a pending packet ends
 * (truncated) only when its next frame is this late, never at a non-SMP line.
 */
export const SMP_FRAME_IDLE_MS = 1000;
/** Bytes of a packet's first frame kept for the failure that reports the packet truncated. */
const HEAD_BYTES = 64;

/** A failure carries `frame` when it is about an earlier frame than the one just pushed (a truncated packet's). */
export type FrameResult = { ok: true; value: Uint8Array } | { ok: false; reason: string; frame?: Uint8Array };

/**
 * Reassembles frames (one line each, marker included, newline stripped) into SMP packets.
 * `push` returns what the frame completed: nothing while more frames are needed, a packet, or failures.
 * A pending packet is reported truncated when a new first frame starts, when its next frame is overdue
 * (`expire`, or the next push) and when the caller ends it (`flush`: port closed). After a failure the
 * assembler waits for the next first frame. Memory is bounded by the 16-bit length field.
 */
export class SmpSerialAssembler {
  #chunks: Uint8Array[] = [];
  #received = 0;
  #expected = -1;
  #carry = '';
  #active = false;
  #head: Uint8Array = new Uint8Array(0);
  #lastAt = 0;

  constructor(private readonly idleMs = SMP_FRAME_IDLE_MS) {}

  get pending(): boolean {
    return this.#active;
  }

  /** When the pending packet's next frame is overdue (ms since the epoch); undefined when none is pending. */
  get deadline(): number | undefined {
    return this.#active ? this.#lastAt + this.idleMs : undefined;
  }

  /** Drops a pending packet without reporting it. */
  reset(): void {
    this.#chunks = [];
    this.#received = 0;
    this.#expected = -1;
    this.#carry = '';
    this.#active = false;
    this.#head = new Uint8Array(0);
  }

  /** Ends a pending packet (the port closed or reopened): it is reported as truncated. */
  flush(): FrameResult[] {
    if (!this.#active) return [];
    const truncated = this.#truncated();
    this.reset();
    return [truncated];
  }

  /**
   * Gives the pending packet's next frame a full idle time from `now`: the caller could not read for a while (its
   * event loop was blocked), so a frame that arrived in time may still be unread.
   */
  restartIdle(now: number): void {
    if (this.#active) this.#lastAt = now;
  }

  /** Reports the pending packet as truncated if its next frame is overdue at `now`. */
  expire(now: number): FrameResult[] {
    return this.#active && now >= this.#lastAt + this.idleMs ? this.flush() : [];
  }

  push(frame: Uint8Array, now = performance.now()): FrameResult[] {
    const out = this.expire(now);
    if (isFirstFrame(frame)) {
      out.push(...this.flush());
      this.#active = true;
      this.#head = new Uint8Array(frame.subarray(0, HEAD_BYTES)); // a copy: the line may be a reused buffer
    } else if (!isContinuationFrame(frame)) {
      out.push(fail('not an SMP frame'));
      return out;
    } else if (!this.#active) {
      out.push(fail('SMP continuation frame without a first frame'));
      return out;
    }
    this.#lastAt = now;
    const result = this.#append(frame);
    if (result) out.push(result);
    return out;
  }

  #truncated(): FrameResult {
    const at =
      this.#expected < 0
        ? `at ${this.#received} bytes, before its length field`
        : `at ${this.#received} of ${this.#expected + 2} bytes`;
    const quad = this.#carry.length > 0 ? ' (incomplete base64 quad)' : '';
    return { ok: false, reason: `SMP packet truncated ${at}${quad}`, frame: this.#head };
  }

  #append(frame: Uint8Array): DecodeResult<Uint8Array> | undefined {
    let end = frame.length;
    while (end > 2 && (frame[end - 1] === 0x0d || frame[end - 1] === 0x20)) end--;
    // Zephyr's encoder makes each frame decodable alone; other senders split one base64 text anywhere,
    // so an incomplete quad is carried into the next frame.
    const text = this.#carry + Buffer.from(frame.subarray(2, end)).toString('latin1');
    const whole = text.length - (text.length % 4);
    this.#carry = text.slice(whole);
    const decoded = decodeBase64Strict(Buffer.from(text.slice(0, whole), 'latin1'));
    if (!decoded.ok) return this.#fail(`bad base64: ${decoded.reason}`);
    this.#chunks.push(decoded.value);
    this.#received += decoded.value.length;

    if (this.#expected < 0 && this.#received >= 2) {
      const head = this.#chunks.length === 1 ? decoded.value : Buffer.concat(this.#chunks);
      this.#expected = (head[0]! << 8) | head[1]!;
      if (this.#expected < MIN_LENGTH_FIELD) return this.#fail(`SMP length field ${this.#expected} is too short`);
    }
    if (this.#expected < 0) return undefined;
    const have = this.#received - 2;
    if (have < this.#expected) return undefined;
    if (have > this.#expected) return this.#fail(`SMP frame data exceeds the length field ${this.#expected}`);
    if (this.#carry.length > 0) return this.#fail('bad base64: incomplete quad at end of packet');
    const body = Buffer.concat(this.#chunks).subarray(2);
    this.reset();
    if (crc16Xmodem(body) !== 0) return fail('SMP CRC mismatch');
    return ok(new Uint8Array(body.subarray(0, body.length - 2)));
  }

  #fail(reason: string): DecodeResult<Uint8Array> {
    this.reset();
    return fail(reason);
  }
}
