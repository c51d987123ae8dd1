import { describe, expect, it } from 'vitest';
import { isAbsent, openErrorMessage } from '../../../adapters/serial/open-error.js';

describe('port open errors', () => {
  it("names the path when another program holds the port's lock (bindings-cpp wording)", () => {
    const err = new Error('Error Resource temporarily unavailable Cannot lock port');
    expect(openErrorMessage(err, '/dev/ttyACM0')).toBe(
      'another program holds /dev/ttyACM0 (port locked: Error Resource temporarily unavailable Cannot lock port)',
    );
  });

  it('says how to get access when the port may not be opened (bindings-cpp wording)', () => {
    const err = new Error('Error: Permission denied, cannot open /dev/ttyS0');
    expect(openErrorMessage(err, '/dev/ttyS0', 10001)).toBe(
      "no permission to open /dev/ttyS0 as uid 10001 (EACCES): add the gateway user to the port's group " +
        '(dialout; container: GroupAdd, see docs/deploy.md)',
    );
    const coded = Object.assign(new Error('open failed'), { code: 'EACCES' });
    expect(openErrorMessage(coded, '/dev/ttyACM0')).toMatch(
      /^no permission to open \/dev\/ttyACM0 as uid \d+ \(EACCES\)/,
    );
  });

  it('says a path that is no tty is not a serial port (bindings-cpp wording for /dev/null or a file)', () => {
    const err = new Error('Error: Inappropriate ioctl for device setting custom baud rate of 115200');
    expect(openErrorMessage(err, '/dev/null')).toBe(
      '/dev/null is not a serial port (Error: Inappropriate ioctl for device setting custom baud rate of 115200)',
    );
  });

  it('passes other errors through and tells an absent port from a broken one', () => {
    expect(openErrorMessage(new Error('Error: Input/output error, cannot open /dev/ttyS0'), '/dev/ttyS0')).toBe(
      'Error: Input/output error, cannot open /dev/ttyS0',
    );
    expect(isAbsent(Object.assign(new Error('open'), { code: 'ENOENT' }))).toBe(true);
    expect(isAbsent(new Error('Error: No such file or directory, cannot open /dev/ttyACM9'))).toBe(true);
    expect(isAbsent(new Error('Error Resource temporarily unavailable Cannot lock port'))).toBe(false);
  });
});
