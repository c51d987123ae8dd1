import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../adapters/serial/backoff.js';
import { serialAdapterConfigSchema, serialDeviceSchema } from '../../../adapters/serial/config.js';

describe('serial config', () => {
  it('fills defaults for the adapter and a device', () => {
    expect(serialAdapterConfigSchema.parse({})).toEqual({
      enabled: true,
      scan_interval_ms: 2000,
      reopen_backoff: { initial_ms: 500, max_ms: 30_000 },
      max_line_bytes: 4096,
    });
    expect(serialDeviceSchema.parse({ transport: 'serial', path: '/dev/ttyACM0' })).toEqual({
      transport: 'serial',
      path: '/dev/ttyACM0',
      baud_rate: 115_200,
      data_bits: 8,
      parity: 'none',
      stop_bits: 1,
      rtscts: false,
      framing: 'ndjson',
      log: true,
      shell_echo: true,
      smp: { enabled: true, version: 1, timeout_ms: 3000, retries: 2, frame_gap_ms: 20, line_buffers: 2 },
    });
  });
  it('takes smp: true as the SMP defaults and smp: false as off, as a BLE entry does', () => {
    const base = { transport: 'serial', path: '/dev/ttyACM0' };
    const defaults = { enabled: true, version: 1, timeout_ms: 3000, retries: 2, frame_gap_ms: 20, line_buffers: 2 };
    expect(serialDeviceSchema.parse({ ...base, smp: true }).smp).toEqual(defaults);
    expect(serialDeviceSchema.parse({ ...base, smp: false }).smp).toEqual({ ...defaults, enabled: false });
    expect(serialDeviceSchema.parse({ ...base, smp: { timeout_ms: 500 } }).smp).toEqual({
      ...defaults,
      timeout_ms: 500,
    });
    expect(serialDeviceSchema.parse({ ...base, smp: { line_buffers: 16 } }).smp.line_buffers).toBe(16);
    for (const line_buffers of [0, 17, 1.5])
      expect(serialDeviceSchema.safeParse({ ...base, smp: { line_buffers } }).success).toBe(false);
    expect(serialDeviceSchema.safeParse({ ...base, smp: 'yes' }).success).toBe(false);
    expect(serialDeviceSchema.safeParse({ ...base, smp: { timeout: 500 } }).success).toBe(false);
  });

  it('offers only the line settings the Linux binding can open (no mark/space parity, no 1.5 stop bits)', () => {
    const base = { transport: 'serial', path: '/dev/ttyACM0' };
    for (const bad of [{ parity: 'mark' }, { parity: 'space' }, { stop_bits: 1.5 }])
      expect(serialDeviceSchema.safeParse({ ...base, ...bad }).success).toBe(false);
    expect(serialDeviceSchema.parse({ ...base, parity: 'even', stop_bits: 2 })).toMatchObject({ parity: 'even' });
  });

  it('refuses a baud rate below 50, the lowest POSIX rate', () => {
    const base = { transport: 'serial', path: '/dev/ttyACM0' };
    for (const baud_rate of [1, 49, 0, -9600])
      expect(serialDeviceSchema.safeParse({ ...base, baud_rate }).success, String(baud_rate)).toBe(false);
    expect(serialDeviceSchema.parse({ ...base, baud_rate: 50 }).baud_rate).toBe(50);
    expect(serialDeviceSchema.parse({ ...base, baud_rate: 12_345 }).baud_rate).toBe(12_345);
  });

  it('normalises USB ids and rejects bad values with a message', () => {
    const d = serialDeviceSchema.parse({ transport: 'serial', match: { usb: { vid: '0x2FE3', pid: 256 } } });
    expect(d.match?.usb).toEqual({ vid: '2fe3', pid: '0100' });
    expect(
      serialDeviceSchema.safeParse({ transport: 'serial', match: { usb: { vid: 'zephyr' } } }).error?.issues[0]
        ?.message,
    ).toMatch(/USB id/);
    expect(serialDeviceSchema.safeParse({ transport: 'serial', path: '/dev/x', parity: 'weird' }).success).toBe(false);
    expect(serialAdapterConfigSchema.safeParse({ max_line_bytes: 10 }).success).toBe(false);
  });
});

describe('Backoff', () => {
  it('doubles up to the cap and starts over after reset', () => {
    const b = new Backoff(100, 500);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 500, 500]);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
