// `http.trusted_proxies`: the reverse proxies whose forwarding headers the dashboard believes, as IP addresses or
// CIDR ranges. IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack listener reports for an IPv4 peer) is IPv4.
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { canonicalAddress } from '../../adapters/coap/transport/peer.js';

interface Range {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** What is wrong with an entry, as the fix; undefined when it is an IP address or a CIDR range. */
export function proxyEntryProblem(entry: string): string | undefined {
  if (rangeOf(entry)) return undefined;
  const ip = entry.split('/')[0] ?? '';
  return isIP(ip) !== 0 && !ip.includes('%')
    ? 'a range is an address, "/" and a prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6, e.g. "10.0.0.0/8"'
    : 'write the proxy\'s IP address, e.g. "127.0.0.1" or "::1", or a range, e.g. "10.0.0.0/8" (no host names, no zone)';
}

/** Is `address` (canonical: canonicalAddress) one of the entries? */
export function trustedProxies(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const range = rangeOf(entry);
    if (!range) throw new Error(`http.trusted_proxies: "${entry}" is not an IP address or CIDR range`);
    list.addSubnet(range.address, range.prefix, range.family);
  }
  return (address) => {
    const ip = address.split('%')[0] ?? '';
    const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    return family !== undefined && list.check(ip, family);
  };
}

function rangeOf(entry: string): Range | undefined {
  const [written = '', prefixText, extra] = entry.split('/');
  const address = canonicalAddress(written);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) && !address.includes('%') ? 'ipv6' : undefined;
  if (!family || extra !== undefined) return undefined;
  const bits = family === 'ipv4' ? 32 : 128;
  // `::ffff:10.0.0.0/104` is 10.0.0.0/8.
  const mappedBits = isIPv6(written) && family === 'ipv4' ? 96 : 0;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) - mappedBits : -1;
  return prefix >= 0 && prefix <= bits ? { address, prefix, family } : undefined;
}
