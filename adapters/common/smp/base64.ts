// Strict base64 (standard alphabet, `=` padding). Node's Buffer decoder silently skips invalid characters,
// which would turn line noise into plausible bytes; SMP frames must be rejected instead.
import { type DecodeResult, fail, ok } from './result.js';

const VALUES = new Int8Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => {
  VALUES[c.charCodeAt(0)] = i;
});
const PAD = 0x3d;

/** Decodes base64 text given as bytes (a frame body). Padding may close any quad, so frames decode on their own. */
export function decodeBase64Strict(text: Uint8Array): DecodeResult<Uint8Array> {
  if (text.length % 4 !== 0) return fail(`base64 length ${text.length} is not a multiple of 4`);
  const out = new Uint8Array((text.length / 4) * 3);
  let n = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = VALUES[text[i]!]!;
    const b = VALUES[text[i + 1]!]!;
    const c3 = text[i + 2]!;
    const d4 = text[i + 3]!;
    if (a < 0 || b < 0) return fail(`invalid base64 character at ${a < 0 ? i : i + 1}`);
    out[n++] = (a << 2) | (b >> 4);
    if (c3 === PAD) {
      if (d4 !== PAD) return fail(`invalid base64 padding at ${i + 2}`);
      continue;
    }
    const c = VALUES[c3]!;
    if (c < 0) return fail(`invalid base64 character at ${i + 2}`);
    out[n++] = ((b & 0x0f) << 4) | (c >> 2);
    if (d4 === PAD) continue;
    const d = VALUES[d4]!;
    if (d < 0) return fail(`invalid base64 character at ${i + 3}`);
    out[n++] = ((c & 0x03) << 6) | d;
  }
  return ok(out.subarray(0, n));
}

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}
