// Listing in a container without udev: a fake sysfs and /dev tree on disk, and a failing udevadm-backed list.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialMatchSchema } from '../../../adapters/serial/config.js';
import { listSerialPorts } from '../../../adapters/serial/port-list.js';
import { matchPort, suggestedConfig } from '../../../adapters/serial/port-match.js';

let root: string;
let sys: string;
let dev: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'serial-sysfs-'));
  sys = join(root, 'sys');
  dev = join(root, 'dev');
  // A Zephyr CDC-ACM board: /sys/devices/.../usb1/1-1 (idVendor...) / 1-1:1.0 / tty / ttyACM0
  const usb = join(sys, 'devices/pci0000:00/usb1/1-1');
  const iface = join(usb, '1-1:1.0');
  mkdirSync(join(iface, 'tty/ttyACM0'), { recursive: true });
  for (const [f, v] of Object.entries({
    idVendor: '2fe3\n',
    idProduct: '0100\n',
    serial: 'E6614C311B\n',
    manufacturer: 'ZEPHYR\n',
    product: 'Zephyr CDC ACM sample\n',
  })) {
    writeFileSync(join(usb, f), v);
  }
  // A legacy 8250 UART without hardware, an on-board UART, and a virtual console.
  const s8250 = join(sys, 'devices/platform/serial8250');
  mkdirSync(join(s8250, 'tty/ttyS0'), { recursive: true });
  mkdirSync(join(sys, 'class/tty/tty0'), { recursive: true });
  const amba = join(sys, 'devices/platform/fe201000.serial');
  mkdirSync(join(amba, 'tty/ttyAMA0'), { recursive: true });
  mkdirSync(join(sys, 'class/tty/ttyAMA0'), { recursive: true });
  symlinkSync(amba, join(sys, 'class/tty/ttyAMA0/device'));
  mkdirSync(join(sys, 'class/tty/ttyACM0'), { recursive: true });
  symlinkSync(iface, join(sys, 'class/tty/ttyACM0/device'));
  mkdirSync(join(sys, 'class/tty/ttyS0'), { recursive: true });
  symlinkSync(s8250, join(sys, 'class/tty/ttyS0/device'));
  mkdirSync(join(dev, 'serial/by-id'), { recursive: true });
  writeFileSync(join(dev, 'ttyACM0'), '');
  symlinkSync('../../ttyACM0', join(dev, 'serial/by-id/usb-ZEPHYR_Zephyr_CDC_ACM_sample_E6614C311B-if00'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('listSerialPorts', () => {
  it('takes the USB ids from sysfs when udevadm runs without a udev database (ports listed, ids missing)', async () => {
    const ports = await listSerialPorts({
      sysRoot: sys,
      devRoot: dev,
      bindingList: async () => [{ path: join(dev, 'ttyACM0') }, { path: join(dev, 'ttyAMA0') }],
    });
    expect(ports.map((p) => [p.path, p.vid, p.pid])).toEqual([
      [join(dev, 'ttyACM0'), '2fe3', '0100'],
      [join(dev, 'ttyAMA0'), undefined, undefined],
    ]);
  });

  it('falls back to sysfs and /dev/serial/by-id when the udev-based list fails', async () => {
    const ports = await listSerialPorts({
      sysRoot: sys,
      devRoot: dev,
      bindingList: () => Promise.reject(new Error('spawn udevadm ENOENT')),
    });
    expect(ports).toEqual([
      {
        path: join(dev, 'ttyACM0'),
        vid: '2fe3',
        pid: '0100',
        serialNumber: 'E6614C311B',
        manufacturer: 'ZEPHYR',
        product: 'Zephyr CDC ACM sample',
        byId: ['usb-ZEPHYR_Zephyr_CDC_ACM_sample_E6614C311B-if00'],
      },
      { path: join(dev, 'ttyAMA0'), byId: [] },
    ]);
  });
  it('uses the binding list when it works and normalises its ids', async () => {
    const ports = await listSerialPorts({
      devRoot: dev,
      bindingList: async () => [{ path: '/dev/ttyUSB9', vendorId: '10C4', productId: 'EA60', serialNumber: undefined }],
    });
    expect(ports).toEqual([{ path: '/dev/ttyUSB9', vid: '10c4', pid: 'ea60', byId: [] }]);
  });
  it('returns nothing rather than throwing when neither sysfs nor /dev exist', async () => {
    await expect(listSerialPorts({ sysRoot: join(root, 'none'), devRoot: join(root, 'none') })).resolves.toEqual([]);
  });
});

describe('matchPort', () => {
  const ports = [
    { path: '/dev/ttyACM0', vid: '2fe3', pid: '0100', serialNumber: 'A1', byId: ['usb-ZEPHYR_A1-if00'] },
    { path: '/dev/ttyACM1', vid: '2fe3', pid: '0100', serialNumber: 'B2', byId: ['usb-ZEPHYR_B2-if00'] },
    { path: '/dev/ttyUSB0', byId: [] },
  ];
  const m = (v: unknown) => serialMatchSchema.parse(v);
  it('matches by vid/pid/serial (ids normalised) and by by-id name or path', () => {
    expect(matchPort(m({ usb: { vid: '0x2FE3', pid: 256, serial: 'B2' } }), ports)?.path).toBe('/dev/ttyACM1');
    expect(matchPort(m({ usb: { vid: '2fe3' } }), ports)?.path).toBe('/dev/ttyACM0');
    expect(matchPort(m({ by_id: '/dev/serial/by-id/usb-ZEPHYR_B2-if00' }), ports)?.path).toBe('/dev/ttyACM1');
    expect(matchPort(m({ usb: { vid: '2fe3', serial: 'C3' } }), ports)).toBeUndefined();
    expect(matchPort(m({}), ports)).toBeUndefined();
  });
  it('suggests a config entry for an unknown port', () => {
    expect(suggestedConfig(ports[1]!)).toEqual({
      transport: 'serial',
      match: { usb: { vid: '2fe3', pid: '0100', serial: 'B2' } },
    });
    expect(suggestedConfig(ports[2]!)).toEqual({ transport: 'serial', path: '/dev/ttyUSB0' });
  });
});
