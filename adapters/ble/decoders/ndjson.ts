// Newline-delimited JSON over a byte stream (NUS has no framing of its own). Bounded: an over-long line is
// dropped whole and reported, so a device that never sends "\n" cannot grow memory.
import { StringDecoder } from 'node:string_decoder';
import { type DecodeResult, fail, ok } from './result.js';

export class NdjsonSplitter {
  #partial = '';
  #discarding = false;
  /** Notifications cut lines anywhere, inside a UTF-8 character too (20-byte chunks): it carries such a tail over. */
  #utf8 = new StringDecoder('utf8');

  constructor(private readonly maxLineBytes = 4096) {}

  /** Feed a chunk; returns one result per complete line (empty lines are skipped). */
  push(chunk: Uint8Array): DecodeResult<Record<string, unknown>>[] {
    const out: DecodeResult<Record<string, unknown>>[] = [];
    const text = this.#utf8.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const parts = text.split('\n');
    const last = parts.pop() ?? '';
    for (const part of parts) {
      const line = this.#discarding ? '' : this.#partial + part;
      if (this.#discarding) out.push(fail(`ndjson: line longer than ${this.maxLineBytes} bytes dropped`));
      this.#partial = '';
      this.#discarding = false;
      const trimmed = line.replace(/\r$/, '').trim();
      if (trimmed) out.push(parseLine(trimmed));
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

export function parseLine(line: string): DecodeResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail(`ndjson: not JSON: ${line.slice(0, 80)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('ndjson: line is not a JSON object');
  return ok(value as Record<string, unknown>);
}

/** One NDJSON line for the device. */
export function encodeLine(value: Record<string, unknown>): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
}
