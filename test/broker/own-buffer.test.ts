import { describe, expect, it } from 'vitest';
import { ownBuffer } from '../../gateway/broker/broker.js';

describe('ownBuffer (publish payloads from strings)', () => {
  it('holds exactly the UTF-8 bytes of the string in a backing store of its own', () => {
    for (const text of ['', '{"seq":1,"temperature":21.5}', 'grüße ✓ 𝄞', 'x'.repeat(5000)]) {
      const buf = ownBuffer(text);
      expect(buf.equals(Buffer.from(text))).toBe(true);
      expect(buf.byteOffset).toBe(0);
      // Not a slice of Node's shared pool: a surviving payload must not keep an 8 KiB slab alive.
      expect(buf.buffer.byteLength).toBe(Buffer.byteLength(text));
    }
  });

  it('gives every payload a separate store', () => {
    const a = ownBuffer('{"a":1}');
    const b = ownBuffer('{"a":1}');
    expect(a.buffer).not.toBe(b.buffer);
  });
});
