import { describe, expect, it } from 'vitest';
import {
  canonicalAddress,
  ipLiteralLookup,
  isIpLiteral,
  normalizeAddress,
  socketAddress,
} from '../../../adapters/coap/transport/peer.js';

const lookup = (host: string, family: number) =>
  new Promise<{ address: string; family: number; sync: boolean }>((resolve, reject) => {
    let returned = false;
    ipLiteralLookup(host, family, (err, address, fam) =>
      err ? reject(err) : resolve({ address, family: fam, sync: !returned }),
    );
    returned = true;
  });

describe('CoAP peer addresses', () => {
  it('answers IP literals at once, zone ids included, without a DNS round', async () => {
    expect(await lookup('192.0.2.7', 4)).toEqual({ address: '192.0.2.7', family: 4, sync: true });
    expect(await lookup('::ffff:192.0.2.7', 6)).toEqual({ address: '::ffff:192.0.2.7', family: 6, sync: true });
    expect(await lookup('fe80::1%lowpan0', 6)).toEqual({ address: 'fe80::1%lowpan0', family: 6, sync: true });
  });

  it('still resolves names through dns.lookup', async () => {
    const r = await lookup('localhost', 4);
    expect(r).toMatchObject({ address: '127.0.0.1', family: 4, sync: false });
  });

  it('shows IPv4-mapped peers as plain IPv4 and maps them back for a dual-stack socket', () => {
    expect(normalizeAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1%eth0');
    expect(socketAddress('10.0.0.1', true)).toBe('::ffff:10.0.0.1');
    expect(socketAddress('10.0.0.1', false)).toBe('10.0.0.1');
  });

  it('writes a configured address the way the kernel reports sources, keeping the zone', () => {
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('FE80:0:0:0:0212:4B00:0615:A4AD%lowpan0')).toBe('fe80::212:4b00:615:a4ad%lowpan0');
    expect(canonicalAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(canonicalAddress('192.0.2.7')).toBe('192.0.2.7');
  });

  it('accepts IP literals only as device addresses', () => {
    for (const ok of ['::1', 'fe80::1%lowpan0', '192.0.2.7', '0:0:0:0:0:0:0:1']) expect(isIpLiteral(ok)).toBe(true);
    for (const bad of ['[::1]:5683', '[::1]', 'localhost', '192.0.2.7%eth0', 'fe80::1%', 'fe80::1%a%b', ''])
      expect(isIpLiteral(bad)).toBe(false);
  });
});
