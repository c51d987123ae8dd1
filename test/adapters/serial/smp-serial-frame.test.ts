import { describe, expect, it, vi } from 'vitest';
import { crc16Xmodem } from '../../../adapters/common/smp/crc16.js';
import { encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler, serialFramedSize } from '../../../adapters/common/smp/serial-frame.js';
import { hex, toHex } from './random.js';

const echoHello = hex('02 00 00 09 00 00 00 00 A1 61 64 65 68 65 6C 6C 6F');
const echoHelloFrame = hex(
  '06 09 41 42 4D 43 41 41 41 4A 41 41 41 41 41 4B 46 68 5A 47 56 6F 5A 57 78 73 62 79 56 76 0A',
);
const stripNewline = (f: Uint8Array) => f.subarray(0, f.length - 1);

function reassemble(frames: Uint8Array[]) {
  const asm = new SmpSerialAssembler();
  return frames.flatMap((f) => asm.push(stripNewline(f)));
}

describe('SMP serial framing', () => {
  it('frames the echo request exactly as protocols.md §6.2', () => {
    const frames = encodeSerialFrames(echoHello);
    expect(frames.map(toHex)).toEqual([toHex(echoHelloFrame)]);
    expect(Buffer.from(echoHelloFrame).toString('latin1')).toBe('\x06\x09ABMCAAAJAAAAAKFhZGVoZWxsbyVv\n');
  });

  it('reassembles the vector frame into the packet', () => {
    expect(reassemble([echoHelloFrame])).toEqual([{ ok: true, value: echoHello }]);
  });

  it('fragments a 150-byte echo into a 127-byte first frame and a 103-byte continuation', () => {
    const packet = encodeSmpMessage({ op: 2, version: 1, group: 0, id: 0, seq: 1, body: { d: 'A'.repeat(150) } });
    expect(packet.length).toBe(163);
    expect(crc16Xmodem(packet)).toBe(0x3bf2);
    const frames = encodeSerialFrames(packet);
    expect(frames.map((f) => f.length)).toEqual([127, 103]);
    expect(toHex(frames[0]!.subarray(0, 2))).toBe('0609');
    expect(toHex(frames[1]!.subarray(0, 2))).toBe('0414');
    expect(Buffer.from(Buffer.from(frames[0]!.subarray(2, 6)).toString(), 'base64')[1]).toBe(0xa5);
    expect(reassemble(frames)).toEqual([{ ok: true, value: packet }]);
  });

  it('never splits the CRC across frames and round-trips every packet size up to 600 bytes', () => {
    for (let bodyLen = 0; bodyLen < 600; bodyLen++) {
      const packet = encodeSmpMessage({
        op: 2,
        version: 1,
        group: 64,
        id: 1,
        seq: 7,
        body: { d: 'x'.repeat(bodyLen) },
      });
      const frames = encodeSerialFrames(packet);
      for (const f of frames) expect(f.length).toBeLessThanOrEqual(127);
      const last = frames.at(-1)!;
      expect(Buffer.from(Buffer.from(last.subarray(2, -1)).toString(), 'base64').length).toBeGreaterThanOrEqual(2);
      expect(reassemble(frames)).toEqual([{ ok: true, value: packet }]);
      expect(serialFramedSize(packet.length)).toEqual({
        frames: frames.length,
        bytes: frames.reduce((n, f) => n + f.length, 0),
      });
    }
  });

  it('accepts a sender that splits one base64 text at arbitrary points', () => {
    const packet = encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 3, body: { r: 'B'.repeat(200) } });
    const crc = crc16Xmodem(packet);
    const raw = Buffer.concat([
      Buffer.from([(packet.length + 2) >> 8, (packet.length + 2) & 0xff]),
      packet,
      Buffer.from([crc >> 8, crc & 0xff]),
    ]);
    const text = raw.toString('base64');
    const frames = [text.slice(0, 50), text.slice(50, 121), text.slice(121)].map((t, i) =>
      Uint8Array.from([...(i === 0 ? [6, 9] : [4, 20]), ...Buffer.from(t), 10]),
    );
    expect(reassemble(frames)).toEqual([{ ok: true, value: packet }]);
  });

  it('reports a bad CRC, bad base64, orphan continuations, truncation, short and overlong lengths', () => {
    const bad = Uint8Array.from(echoHelloFrame);
    bad[bad.length - 2] = 0x77; // last base64 char of the CRC
    expect(reassemble([bad])).toEqual([{ ok: false, reason: 'SMP CRC mismatch' }]);

    const b64 = Uint8Array.from(echoHelloFrame);
    b64[5] = 0x21; // '!'
    expect(reassemble([b64])[0]).toMatchObject({ ok: false, reason: /bad base64/ });

    expect(reassemble([hex('04 14 41 41 41 41 0A')])[0]).toMatchObject({ ok: false, reason: /without a first frame/ });

    const long = encodeSerialFrames(
      encodeSmpMessage({ op: 2, version: 1, group: 0, id: 0, seq: 1, body: { d: 'A'.repeat(150) } }),
    );
    const results = reassemble([long[0]!, echoHelloFrame]);
    expect(results[0]).toMatchObject({ ok: false, reason: /truncated at 93 of 167/ });
    expect(results[1]).toEqual({ ok: true, value: echoHello });

    expect(
      reassemble([Uint8Array.from([6, 9, ...Buffer.from(Buffer.from([0, 3, 1, 2, 3]).toString('base64')), 10])])[0],
    ).toMatchObject({
      ok: false,
      reason: /too short/,
    });
    const over = Buffer.from([0, 11, ...new Array(20).fill(0)]).toString('base64');
    expect(reassemble([Uint8Array.from([6, 9, ...Buffer.from(over), 10])])[0]).toMatchObject({
      ok: false,
      reason: /exceeds/,
    });
  });

  describe('a packet that stops arriving', () => {
    const long = encodeSerialFrames(
      encodeSmpMessage({ op: 2, version: 1, group: 0, id: 0, seq: 1, body: { d: 'A'.repeat(150) } }),
    ).map(stripNewline);
    const head = Uint8Array.from(long[0]!.subarray(0, 64));

    it('reports a truncated packet with its own first frame, not the frame that ended it', () => {
      const asm = new SmpSerialAssembler();
      asm.push(long[0]!, 0);
      const results = asm.push(stripNewline(echoHelloFrame), 10);
      expect(results[0]).toEqual({ ok: false, reason: 'SMP packet truncated at 93 of 167 bytes', frame: head });
      expect(results[1]).toEqual({ ok: true, value: echoHello });
    });

    it('times a packet by the monotonic clock the reader expires it by, whatever the wall clock does', () => {
      vi.useFakeTimers({ toFake: ['Date', 'performance'] });
      try {
        const asm = new SmpSerialAssembler();
        asm.push(long[0]!); // stamped by default, as the serial link pushes lines
        vi.setSystemTime(Date.now() - 2 * 3600_000); // NTP steps the wall clock back
        vi.advanceTimersByTime(1000);
        expect(asm.expire(performance.now())).toEqual([
          { ok: false, reason: 'SMP packet truncated at 93 of 167 bytes', frame: head },
        ]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('completes when the continuation comes within the idle time, and times out after it', () => {
      const asm = new SmpSerialAssembler();
      expect(asm.push(long[0]!, 0)).toEqual([]);
      expect(asm.deadline).toBe(1000);
      expect(asm.expire(999)).toEqual([]);
      expect(asm.push(long[1]!, 999)).toMatchObject([{ ok: true }]);

      asm.push(long[0]!, 5000);
      expect(asm.expire(6000)).toEqual([{ ok: false, reason: 'SMP packet truncated at 93 of 167 bytes', frame: head }]);
      expect(asm.pending).toBe(false);
      // A continuation after the timeout has lost its packet.
      expect(asm.push(long[1]!, 6001)).toMatchObject([{ ok: false, reason: /without a first frame/ }]);
    });

    it('counts an overdue packet at the next frame even when no timer ran', () => {
      const asm = new SmpSerialAssembler();
      asm.push(long[0]!, 0);
      expect(asm.push(long[1]!, 1500)).toMatchObject([
        { ok: false, reason: /truncated at 93 of 167/, frame: head },
        { ok: false, reason: /without a first frame/ },
      ]);
    });

    it('gives the next frame a full idle time again when the caller could not read (restartIdle)', () => {
      const asm = new SmpSerialAssembler();
      asm.restartIdle(5000); // nothing pending: nothing to restart
      expect(asm.deadline).toBeUndefined();
      asm.push(long[0]!, 0);
      asm.restartIdle(1600);
      expect(asm.deadline).toBe(2600);
      expect(asm.expire(2599)).toEqual([]);
      expect(asm.push(long[1]!, 1601)).toMatchObject([{ ok: true }]);
    });

    it('says "incomplete base64 quad" for a short base64 text, before and after the length field', () => {
      const asm = new SmpSerialAssembler();
      asm.push(hex('06 09 41 42'), 0); // "AB": not even the length field
      expect(asm.flush()).toEqual([
        {
          ok: false,
          reason: 'SMP packet truncated at 0 bytes, before its length field (incomplete base64 quad)',
          frame: hex('06 09 41 42'),
        },
      ]);
      const short = Buffer.from('\x06\x09ABMCAAAJAAAAAKFhZGVoZWxsbyV', 'latin1'); // the vector less one character
      asm.push(short, 0);
      expect(asm.expire(1000)).toMatchObject([
        { ok: false, reason: 'SMP packet truncated at 18 of 21 bytes (incomplete base64 quad)' },
      ]);
    });

    it('reports a length field larger than the data once the packet is overdue or flushed', () => {
      const over = Buffer.from([0, 60, ...hex('03 00 00 09 00 00 00 00 A1 61 72 65 68 65 6C 6C 6F'), 0, 0]);
      const frame = Uint8Array.from([6, 9, ...Buffer.from(over.toString('base64'))]);
      const asm = new SmpSerialAssembler();
      expect(asm.push(frame, 0)).toEqual([]);
      expect(asm.flush()).toEqual([
        { ok: false, reason: 'SMP packet truncated at 21 of 62 bytes', frame: Uint8Array.from(frame) },
      ]);
      expect(asm.flush()).toEqual([]);
    });

    it('keeps its own copy of the first frame (the line may be a buffer the reader reuses)', () => {
      const asm = new SmpSerialAssembler();
      const line = Uint8Array.from(long[0]!);
      asm.push(line, 0);
      line.fill(0);
      expect(asm.flush()[0]).toMatchObject({ frame: head });
    });
  });
});
