// The login throttle counts an IPv6 client by its /64: a host can send each guess from a fresh address in it.
import { describe, expect, it } from 'vitest';
import { throttleAddress } from '../../gateway/dashboard/throttle-address.js';

describe('throttleAddress', () => {
  it('keeps an IPv4 address whole, and counts the clients whose address Node does not know as one', () => {
    expect(throttleAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(throttleAddress(undefined)).toBe('unknown');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9']) {
      expect([address, throttleAddress(address)]).toEqual([address, '2001:db8:1:2::/64']);
    }
    expect(throttleAddress('2001:db8::1')).toBe('2001:db8::/64');
    expect(throttleAddress('::1')).toBe('::/64');
    expect(throttleAddress('64:ff9b::198.51.100.1')).toBe('64:ff9b::/64');
  });

  it('counts IPv4-mapped IPv6 as the IPv4 address, in dotted or hex notation', () => {
    expect(throttleAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(throttleAddress('::ffff:cb00:7107')).toBe('203.0.113.7');
    expect(throttleAddress('0:0:0:0:0:FFFF:CB00:7107')).toBe('203.0.113.7');
  });

  it('keeps the zone id: link-local /64s on different links are different clients', () => {
    expect(throttleAddress('fe80::1%eth0')).toBe('fe80::/64%eth0');
    expect(throttleAddress('fe80::2:3%eth0')).toBe('fe80::/64%eth0');
    expect(throttleAddress('fe80::1%wlan0')).toBe('fe80::/64%wlan0');
  });
});
