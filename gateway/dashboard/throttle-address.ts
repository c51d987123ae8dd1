// The source a failed login is counted against. An IPv6 host is handed a whole /64 (SLAAC, privacy addresses; a site
// gets a /56 or /48) and can send every guess from a fresh address in it, so an IPv6 address counts by its /64, with
// its zone id (a link-local /64 names one link only). IPv4-mapped IPv6, in any notation, counts as the IPv4 address.
import { isIPv6 } from 'node:net';

export function throttleAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const [ip = '', zone] = address.split('%');
  const groups = ipv6Groups(ip);
  if (!groups) return address;
  if (groups.slice(0, 6).join(':') === '0:0:0:0:0:65535') {
    return groups
      .slice(6)
      .flatMap((g) => [g >> 8, g & 0xff])
      .join('.');
  }
  const first64 = groups.slice(0, 4).map((g) => g.toString(16));
  // The URL parser writes it the way the kernel reports addresses (RFC 5952), so equal prefixes are equal strings.
  const prefix = new URL(`http://[${first64.join(':')}::]/`).hostname.slice(1, -1);
  return `${prefix}/64${zone === undefined ? '' : `%${zone}`}`;
}

/** The eight 16-bit groups of an IPv6 address, `::` expanded and a dotted IPv4 tail as two groups. */
function ipv6Groups(ip: string): number[] | undefined {
  if (!isIPv6(ip)) return undefined;
  const [head = '', tail] = ip.split('::');
  const parsed = (part: string | undefined) =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((g) => (g.includes('.') ? dottedGroups(g) : [Number.parseInt(g, 16)]));
  const before = parsed(head);
  const after = parsed(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function dottedGroups(ipv4: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = ipv4.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}
