// Whether a device an adapter saw (DeviceSeen) is on the blocklist. Only devices not in the config are ever
// checked: a configured device is served whatever the blocklist says.
import { isIP } from 'node:net';
import { MAC_PATTERN, normalizeMac } from '../../adapters/ble/config.js';
import { canonicalAddress } from '../../adapters/coap/transport/peer.js';
import type { DeviceSeen } from '../adapter.js';
import type { BlockEntry } from '../config/blocklist-schema.js';

export function blockingEntry(list: readonly BlockEntry[], seen: DeviceSeen): BlockEntry | undefined {
  return list.find(
    (entry) =>
      entry.transport === seen.transport &&
      (entry.address === undefined ||
        sameAddress(entry.address, seen.address) ||
        (seen.aliases ?? []).some((alias) => sameAddress(entry.address as string, alias))) &&
      (entry.name === undefined || entry.name === seen.name) &&
      (entry.serial_number === undefined || entry.serial_number === seen.serial_number),
  );
}

/** One address in two spellings: a MAC in any case or separator, an IP in any textual form (an IPv4-mapped IPv6
 * one as IPv4, as the CoAP transport reports its peers; a `[ip]:port` peer is its IP; a zone the entry gives must
 * match), anything else as written. */
function sameAddress(entry: string, seen: string): boolean {
  if (entry === seen) return true;
  if (MAC_PATTERN.test(entry) && MAC_PATTERN.test(seen)) return normalizeMac(entry) === normalizeMac(seen);
  const [ip = '', zone] = canonicalAddress(entry).split('%');
  const [seenIp = '', seenZone] = canonicalAddress(hostOf(seen)).split('%');
  return isIP(ip) !== 0 && ip === seenIp && (zone === undefined || zone === seenZone);
}

/** `[fe80::1%lowpan0]:5683` -> `fe80::1%lowpan0`, `192.0.2.1:5683` -> `192.0.2.1`; other text as it is. */
function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed?.[1]) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  return v4?.[1] ?? address;
}
