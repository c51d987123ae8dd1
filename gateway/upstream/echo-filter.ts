// Echo suppression for MQTT 3.1.1, which has no No Local: a broker sends the bridge's own publishes back to an
// overlapping `in` subscription. What was just sent is remembered (topic + payload checksum) so the copies that come
// back are not published locally again.
import { crc32 } from 'node:zlib';
import { OldestKey } from '../oldest-key.js';

const ECHO_WINDOW_MS = 30_000;
const ECHO_MAX = 4096;

export class EchoFilter {
  /** Per topic + payload checksum: when it was last sent and how many sent copies may still come back. */
  readonly #recentOut = new Map<string, { at: number; copies: number }>();
  /** Each send re-inserts its key and evicts the oldest: O(1) while the map churns (see oldest-key.ts). */
  readonly #oldestOut = new OldestKey(this.#recentOut);

  /** A message sent upstream, whose copy may come back. */
  rememberOut(topic: string, payload: Buffer): void {
    const key = `${topic}\0${crc32(payload)}`;
    const now = performance.now();
    const seen = this.#recentOut.get(key);
    this.#recentOut.delete(key);
    if (seen) {
      seen.copies = now - seen.at < ECHO_WINDOW_MS ? seen.copies + 1 : 1;
      seen.at = now;
    }
    this.#recentOut.set(key, seen ?? { at: now, copies: 1 });
    if (this.#recentOut.size > ECHO_MAX) {
      const oldest = this.#oldestOut.take();
      if (oldest !== undefined) this.#recentOut.delete(oldest);
    } else if (this.#recentOut.size < ECHO_MAX) this.#oldestOut.release(); // echoes came back: below capacity again
  }

  /** A message from upstream that is a copy of one the bridge just sent (each call uses up one copy). */
  isEcho(topic: string, payload: Buffer): boolean {
    const key = `${topic}\0${crc32(payload)}`;
    const seen = this.#recentOut.get(key);
    if (seen === undefined) return false;
    if (--seen.copies === 0) this.#recentOut.delete(key);
    return performance.now() - seen.at < ECHO_WINDOW_MS;
  }
}
