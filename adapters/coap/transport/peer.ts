// Peer address normalisation for one dual-stack udp6 socket: IPv4 peers arrive as ::ffff:a.b.c.d and are shown
// and matched as plain a.b.c.d; sending to a plain IPv4 address needs the mapped form again.
import { isIPv4 } from 'node:net';
import type { CoapPeer } from '../endpoint.js';

const MAPPED_PREFIX = '::ffff:';

export function normalizeAddress(address: string): string {
  if (address.startsWith(MAPPED_PREFIX) && isIPv4(address.slice(MAPPED_PREFIX.length))) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
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
