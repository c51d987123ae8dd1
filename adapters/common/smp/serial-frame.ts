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
  for (let off = 0; off < raw.length; ) {
    let take = Math.min(MAX_RAW_PER_FRAME, raw.length - off);
    if (raw.length - (off + take) === 1) take -= 1; // keep both CRC bytes together in the last frame
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

/**
 * Reassembles frames (one line each, marker included, newline stripped) into SMP packets.
 * `push` returns what the frame completed: nothing while more frames are needed, a packet, or failures
 * (a packet abandoned by a new first frame is reported as truncated). After a failure the assembler waits
 * for the next first frame. Memory is bounded by the 16-bit length field.
 */
export class SmpSerialAssembler {
  #chunks: Uint8Array[] = [];
  #received = 0;
  #expected = -1;
  #carry = '';
  #active = false;

  get pending(): boolean {
    return this.#active;
  }

  reset(): void {
    this.#chunks = [];
    this.#received = 0;
    this.#expected = -1;
    this.#carry = '';
    this.#active = false;
  }

  push(frame: Uint8Array): DecodeResult<Uint8Array>[] {
    const out: DecodeResult<Uint8Array>[] = [];
    const first = isFirstFrame(frame);
    if (first) {
      if (this.#active) out.push(fail(`SMP packet truncated at ${this.#received} of ${this.#expected + 2} bytes`));
      this.reset();
      this.#active = true;
    } else if (!isContinuationFrame(frame)) {
      return [fail('not an SMP frame')];
    } else if (!this.#active) {
      return [fail('SMP continuation frame without a first frame')];
    }
    const result = this.#append(frame);
    if (result) out.push(result);
    return out;
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
