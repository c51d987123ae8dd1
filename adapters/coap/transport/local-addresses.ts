// The host's own unicast addresses, for a wildcard bind ("::", "0.0.0.0") served with one socket per address.
//
// Why: RFC 7252 §5.3.2 wants a response to leave from the address its request was sent to, and a device checks it
// (libcoap drops an answer from another address). A socket bound to "::" answers from whatever source the kernel
// picks for the peer, which on a link with several addresses (link-local + ULA + global, Thread mesh-local and
// RLOC, privacy addresses) is often not the one the device asked. Node's dgram has no IPV6_PKTINFO to learn the
// destination of a datagram and set the source of the answer, so the endpoint binds each local address on the
// same port too: the kernel hands a datagram to the socket bound to its destination, which answers from it. The
// wildcard socket stays, for addresses that appear later (until the next refresh) and for multicast.
import { networkInterfaces } from 'node:os';

/** Most addresses served with a socket each: a host with more (containers, many VLANs) falls back to the wildcard. */
export const MAX_LOCAL_ADDRESSES = 64;

export interface AddressFamilies {
  v4: boolean;
  v6: boolean;
}

/** The host's addresses of these families, IPv6 link-local ones with their interface as zone (`fe80::1%eth0`). */
export function hostAddresses(families: AddressFamilies): string[] {
  const out: string[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.family === 'IPv4' ? !families.v4 : !families.v6) continue;
      out.push(entry.family === 'IPv6' && entry.scopeid ? `${entry.address}%${name}` : entry.address);
    }
  }
  return out.slice(0, MAX_LOCAL_ADDRESSES);
}

export function isWildcard(address: string): boolean {
  return address === '::' || address === '0.0.0.0';
}
