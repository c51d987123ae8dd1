// The login throttle remembers at most 10,000 addresses and user names. Sending from many addresses, or trying many
// names, must not make it forget a locked-out one: a key that finds no room waits instead.
import { describe, expect, it } from 'vitest';
import { LoginGuard } from '../../gateway/dashboard/login-guard.js';
import { LoginThrottle } from '../../gateway/dashboard/login-throttle.js';

const MAX_KEYS = 10_000;
const WINDOW_MS = 15 * 60_000;

/** The i-th of as many distinct IPv4 addresses as a test needs. */
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** Locks out `pairs` addresses and as many user names, ten failures each: two locked-out keys per pair. */
function lockOutPairs(throttle: LoginThrottle, pairs: number, from = 0): void {
  for (let i = from; i < from + pairs; i++) {
    for (let n = 0; n < 10; n++) throttle.failed(address(i), `user${i}`);
  }
}

describe('login throttle table', () => {
  it('makes room by forgetting counts under ten failures, never a locked-out address or user name', () => {
    const t = 0;
    const throttle = new LoginThrottle(() => t);
    for (let n = 0; n < 10; n++) throttle.failed('203.0.113.66', 'admin');
    expect(throttle.wait('203.0.113.66', 'someone')).toBe(1000);
    expect(throttle.wait('203.0.113.1', 'admin')).toBe(1000);
    // One failure each from as many fresh addresses as names, twice the table's size.
    for (let i = 0; i < MAX_KEYS; i++) throttle.failed(address(i), `nobody${i}`);
    expect(throttle.wait('203.0.113.66', 'someone')).toBe(1000);
    expect(throttle.wait('203.0.113.1', 'admin')).toBe(1000);
    // The newest counts are there; the oldest were forgotten for them.
    for (let n = 0; n < 9; n++) throttle.failed(address(MAX_KEYS - 1), 'fresh');
    expect(throttle.wait(address(MAX_KEYS - 1), 'fresh')).toBe(1000);
    for (let n = 0; n < 9; n++) throttle.failed(address(0), 'fresh2');
    expect(throttle.wait(address(0), 'fresh2')).toBe(0);
  });

  it('when every key is locked out, a new address or name waits until the first lockout expires, uncounted', () => {
    let t = 0;
    const throttle = new LoginThrottle(() => t);
    lockOutPairs(throttle, MAX_KEYS / 4);
    t = 60_000;
    lockOutPairs(throttle, MAX_KEYS / 4, MAX_KEYS / 4);
    // Known keys wait as before; a new address, or a new name, finds no room.
    expect(throttle.wait(address(0), 'user0')).toBe(0);
    expect(throttle.wait(address(MAX_KEYS / 4), `user${MAX_KEYS / 4}`)).toBe(1000);
    expect(throttle.wait('203.0.113.1', 'user0')).toBe(WINDOW_MS - t);
    expect(throttle.wait(address(0), 'admin')).toBe(WINDOW_MS - t);
    for (let n = 0; n < 20; n++) throttle.failed('203.0.113.1', 'admin');
    // The first half's lockouts expire: their room goes to new keys, which start counting from nothing.
    t = WINDOW_MS;
    expect(throttle.wait('203.0.113.1', 'admin')).toBe(0);
    for (let n = 0; n < 9; n++) throttle.failed('203.0.113.1', 'admin');
    expect(throttle.wait('203.0.113.1', 'admin')).toBe(0);
  });

  it('a full table of lockouts holds untrusted logins (without counting them), not a browser with a device cookie', () => {
    let t = 0;
    const guard = new LoginGuard(() => t);
    const first = guard.begin('192.0.2.1', 'admin', undefined);
    const deviceCookie = guard.succeeded(first, false).split(';')[0];
    for (let i = 0; i < MAX_KEYS / 2; i++) {
      for (let n = 0; n < 10; n++) guard.failed(guard.begin(address(i), `user${i}`, undefined));
    }
    t = 1000;
    const stranger = guard.begin('203.0.113.1', 'admin', undefined);
    expect(stranger.wait).toBe(WINDOW_MS - t);
    expect(stranger.counted).toBeUndefined();
    const mine = guard.begin('203.0.113.2', 'admin', deviceCookie);
    expect(mine.wait).toBe(0);
    expect(guard.succeeded(mine, false)).toMatch(/^z2m_device=/);
  });
});
