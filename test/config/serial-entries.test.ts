// Serial entries in the config: USB ids are hex as lsusb prints them (an unquoted `vid: 1366` or `pid: 0100` is read
// as written, not as the decimal numbers YAML makes of them: 0x0556, 0x0064, a device never found, silently), and
// one path is one device.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../gateway/config/load.js';
import { configIssues as issuesOf } from './config-issues.js';

const matchOf = (usb: string) => {
  const text = `devices:\n  - id: board\n    transport: serial\n    match:\n      usb: ${usb}\n`;
  const device = parseConfigText(text, 'g.yaml', {}).devices[0] as { match?: { usb?: unknown } };
  return device.match?.usb;
};

describe('USB ids in the config', () => {
  it('unquoted digits are hex as written; 0x..., quoted and hex-letter ids as before', () => {
    expect(matchOf('{ vid: 1366, pid: 0100 }')).toEqual({ vid: '1366', pid: '0100' });
    expect(matchOf('{ vid: 1915, pid: 0010 }')).toEqual({ vid: '1915', pid: '0010' });
    expect(matchOf('{ vid: 0x2FE3, pid: "0001" }')).toEqual({ vid: '2fe3', pid: '0001' });
    expect(matchOf('{ vid: 2fe3 }')).toEqual({ vid: '2fe3' });
  });

  it('other numbers keep their YAML meaning', () => {
    const text = 'http:\n  port: 0100\ndevices:\n  - { id: n, transport: coap, address: "::1", port: 5683 }\n';
    const config = parseConfigText(text, 'g.yaml', {});
    expect(config.http.port).toBe(100);
  });
});

describe('serial ports in the config', () => {
  it('one path is one device: a second entry naming it is an error, unless one of them is disabled', () => {
    const two = (extra = '') =>
      `devices:\n  - { id: board, transport: serial, path: /dev/ttyACM0 }\n  - { id: dup, transport: serial, path: /dev/ttyACM0${extra} }\n`;
    expect(issuesOf(two())).toEqual([
      {
        path: 'devices[1].path',
        line: 3,
        column: 35,
        message: '/dev/ttyACM0 is already the port of "board" (entry 1 of the list)',
        hint: 'give each serial device its own port, or set `disabled: true` on the one not plugged in',
      },
    ]);
    expect(issuesOf(two(', disabled: true'))).toEqual([]);
  });
});
