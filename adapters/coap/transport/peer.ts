// Peer addresses on one dual-stack udp6 socket: IPv4 peers arrive as ::ffff:a.b.c.d and are shown and matched as
// plain a.b.c.d; sending to a plain IPv4 address needs the mapped form again.
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { CoapPeer } from '../endpoint.js';

const MAPPED_PREFIX = '::ffff:';

export function normalizeAddress(address: string): string {
  if (address.startsWith(MAPPED_PREFIX) && isIPv4(address.slice(MAPPED_PREFIX.length))) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
}

/** The form the kernel reports a source address in (RFC 5952 for IPv6: lower case, longest zero run compressed), so a
 * configured "0:0:0:0:0:0:0:1" matches the answers that come from "::1". The zone id is kept as written. */
export function canonicalAddress(address: string): string {
  const [ip = '', zone] = address.split('%');
  if (!isIPv6(ip)) return address;
  // The URL parser would print an embedded IPv4 in hex; the mapped ones are shown as plain IPv4 here anyway.
  const canonical = ip.includes('.')
    ? normalizeAddress(ip.toLowerCase())
    : new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return zone === undefined ? canonical : `${canonical}%${zone}`;
}

/** An IPv4 address, or an IPv6 one with an optional zone id (`fe80::1%lowpan0`). */
export function isIpLiteral(address: string): boolean {
  const [ip = '', zone, extra] = address.split('%');
  if (extra !== undefined || zone === '') return false;
  return zone === undefined ? isIP(ip) !== 0 : isIPv6(ip);
}

/**
 * A zone written as an interface index (`fe80::1%2`). Node (libuv) resolves a zone by interface name only, so an index
 * becomes no zone at all, and a source address as Node reports it (`fe80::1%lowpan0`) never matches it either.
 */
export function numericZone(address: string): boolean {
  const zone = address.split('%')[1];
  return zone !== undefined && /^\d+$/.test(zone);
}

/** fe80::/10: an address only meaningful on one link, so a request to it needs the zone naming that link. */
export function isLinkLocalWithoutZone(address: string): boolean {
  if (address.includes('%') || !isIPv6(address)) return false;
  return /^fe[89ab]/i.test(canonicalAddress(address));
}

export function socketAddress(address: string, socketIsIpv6: boolean): string {
  return socketIsIpv6 && isIPv4(address) ? MAPPED_PREFIX + address : address;
}

export function peerKey(peer: CoapPeer): string {
  return `${peer.address}|${peer.port}`;
}

/** `[fe80::1%eth0]:5683` or `10.0.0.1:5683`. */
export function formatPeer(peer: CoapPeer): string {
  return peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram's `lookup` for a socket whose peers are IP addresses: dns.lookup answers an IP literal too, but a tick
 * later, so every datagram sent (each CoAP ACK) cost a process.nextTick and an async-context switch before its
 * send. Literals (with a zone id as well) are answered at once; anything else still goes to dns.lookup.
 */
export function ipLiteralLookup(hostname: string, family: number | LookupOptions, callback: LookupCallback): void {
  const literal = isIP(hostname);
  if (literal !== 0) {
    callback(null, hostname, literal);
    return;
  }
  dnsLookup(hostname, typeof family === 'number' ? { family } : family, (err, address, resolved) =>
    callback(err, address as string, resolved as number),
  );
}
