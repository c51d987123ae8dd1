// The time an SMP exchange spends on a UART, which the serial link adds to each attempt's wait.
import { describe, expect, it } from 'vitest';
import { serialFramedSize } from '../../../adapters/common/smp/serial-frame.js';
import { bitsPerByte, MAX_SMP_RESPONSE, smpWireTimeMs } from '../../../adapters/serial/smp-wire-time.js';

describe('smpWireTimeMs', () => {
  const answerBytes = serialFramedSize(MAX_SMP_RESPONSE).bytes;

  it('counts the framed request and a maximal answer at 10 bits a byte, and the pauses between bursts', () => {
    // A 2 KB upload chunk: 23 frames, written two at a time with 11 pauses of 20 ms between.
    const request = serialFramedSize(2048);
    expect(request.frames).toBe(23);
    const timing = { baudRate: 9600, bitsPerByte: 10, framesPerBurst: 2, frameGapMs: 20 };
    expect(smpWireTimeMs(2048, timing)).toBe(Math.ceil(((request.bytes + answerBytes) * 10 * 1000) / 9600 + 11 * 20));
    // Seconds at 9600 baud, more than the default timeout_ms of 3000.
    expect(smpWireTimeMs(2048, timing)).toBeGreaterThan(6000);
    expect(smpWireTimeMs(2048, { ...timing, frameGapMs: 0 })).toBe(
      Math.ceil(((request.bytes + answerBytes) * 10 * 1000) / 9600),
    );
    expect(smpWireTimeMs(2048, { ...timing, framesPerBurst: 4 })).toBe(
      Math.ceil(((request.bytes + answerBytes) * 10 * 1000) / 9600 + 5 * 20),
    );
  });

  it('is small at 115200 baud and takes parity and stop bits into account', () => {
    expect(smpWireTimeMs(20, { baudRate: 115_200, bitsPerByte: 10, framesPerBurst: 2, frameGapMs: 20 })).toBeLessThan(
      400,
    );
    expect(bitsPerByte({ data_bits: 8, parity: 'none', stop_bits: 1 })).toBe(10);
    expect(bitsPerByte({ data_bits: 7, parity: 'even', stop_bits: 2 })).toBe(11);
  });
});
