// Newline-delimited JSON over a byte stream (NUS has no framing of its own). Bounded: an over-long line is
// dropped whole and reported, so a device that never sends "\n" cannot grow memory.
import { StringDecoder } from 'node:string_decoder';

/** One complete line: a JSON object (telemetry), any other text (the line as sent), or a dropped line. */
export type NusLine =
  | { kind: 'object'; value: Record<string, unknown> }
  | { kind: 'text'; line: string }
  | { kind: 'dropped'; error: string };

export class NdjsonSplitter {
  #partial = '';
  #discarding = false;
  /** Notifications cut lines anywhere, inside a UTF-8 character too (20-byte chunks): it carries such a tail over. */
  #utf8 = new StringDecoder('utf8');

  constructor(private readonly maxLineBytes = 4096) {}

  /** Feed a chunk; returns one result per complete line (blank lines are skipped). */
  push(chunk: Uint8Array): NusLine[] {
    const out: NusLine[] = [];
    const text = this.#utf8.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const parts = text.split('\n');
    const last = parts.pop() ?? '';
    for (const part of parts) {
      if (this.#discarding)
        out.push({ kind: 'dropped', error: `ndjson: line longer than ${this.maxLineBytes} bytes dropped` });
      const line = this.#discarding ? '' : (this.#partial + part).replace(/\r$/, '');
      this.#partial = '';
      this.#discarding = false;
      if (line.trim()) out.push(parseLine(line));
    }
    if (!this.#discarding) {
      this.#partial += last;
      if (this.#partial.length > this.maxLineBytes) {
        this.#partial = '';
        this.#discarding = true;
      }
    }
    return out;
  }

  reset(): void {
    this.#partial = '';
    this.#discarding = false;
    this.#utf8 = new StringDecoder('utf8');
  }
}

/** A JSON object is telemetry; anything else (text, an array, a bare number) is the line itself, unchanged. */
export function parseLine(line: string): NusLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'text', line };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'text', line };
  return { kind: 'object', value: value as Record<string, unknown> };
}

/** One NDJSON line for the device. */
export function encodeLine(value: Record<string, unknown>): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
}
