// Who is publishing on /ps? The identity model (docs/adapters/coap.md):
// - a device with `token` must send `?token=<value>` (compared in constant time), else 4.01;
// - a device with `address` must send from that address (zone checked when configured), else 4.03;
// - a device with neither is identified by the path id alone, only if `allow_path_identity` is on, and never
//   from an address that is bound to a different device (4.03): an address-bound device cannot pose as another.
// `PUT /ps` without an id resolves the device from the source address (or the token) alone.
import { timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { CoapPeer } from './endpoint.js';

export interface IdentityDevice {
  id: string;
  /** The id the device sends in /ps/<id> when it is not `id` (a rename keeps the old one here). */
  ps_id?: string | undefined;
  address?: string | undefined;
  token?: string | undefined;
  /** An LwM2M client: it reports through its registration, and /ps is not a way in for anybody posing as it. */
  lwm2m?: unknown;
}

export type IdentityResult =
  | { ok: true; deviceId: string }
  | { ok: false; code: '4.01' | '4.03'; error: string }
  | { ok: false; code: '4.04'; error: string; unknownId?: string };

export class IdentityResolver {
  private readonly byAddress = new Map<string, { device: IdentityDevice; match: (a: string) => boolean }>();
  /** Path ids are looked up per request: a map, not a scan of the device list (first entry wins, like find()). */
  private readonly byId = new Map<string, IdentityDevice>();

  constructor(
    private readonly devices: readonly IdentityDevice[],
    private readonly allowPathIdentity: boolean,
  ) {
    for (const device of devices) {
      if (device.address) this.byAddress.set(device.id, { device, match: addressMatcher(device.address) });
      if (!this.byId.has(device.id)) this.byId.set(device.id, device);
    }
    // After the ids: a device's own id wins over another device's old one.
    for (const device of devices)
      if (device.ps_id !== undefined && !this.byId.has(device.ps_id)) this.byId.set(device.ps_id, device);
  }

  resolve(pathId: string | undefined, query: readonly string[], source: CoapPeer): IdentityResult {
    const token = query.length > 0 ? tokenFrom(query) : undefined;
    if (pathId === undefined) {
      const device = this.unnamed(token, source.address);
      if (!device) return { ok: false, code: '4.04', error: 'no device is bound to this address or token' };
      return this.check(device, token, source);
    }
    const device = this.byId.get(pathId);
    if (!device) return { ok: false, code: '4.04', error: `unknown device "${pathId}"`, unknownId: pathId };
    return this.check(device, token, source);
  }

  /**
   * The configured device a request names, whoever asks (unchecked): by its path id (its id, or its `ps_id`), or
   * without one (`/ps//set`) as resolve() finds it, by its `?token=`, else by the address it comes from.
   */
  deviceNamed(pathId: string | undefined, query: readonly string[], source: CoapPeer): string | undefined {
    if (pathId !== undefined) return this.byId.get(pathId)?.id;
    return this.unnamed(query.length > 0 ? tokenFrom(query) : undefined, source.address)?.id;
  }

  /** Whether `address` is bound to a configured device (it may then publish only as that device). */
  isBound(address: string): boolean {
    return this.boundTo(address).length > 0;
  }

  /** The device a request without an id is from: the one with its `?token=`, or without one the one bound to `address`. */
  private unnamed(token: string | undefined, address: string): IdentityDevice | undefined {
    const candidates = token
      ? this.devices.filter((d) => d.token && sameSecret(d.token, token))
      : this.boundTo(address);
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** The address-bound devices `address` belongs to. */
  private boundTo(address: string): IdentityDevice[] {
    const bound: IdentityDevice[] = [];
    for (const b of this.byAddress.values()) if (b.match(address)) bound.push(b.device);
    return bound;
  }

  private check(device: IdentityDevice, token: string | undefined, source: CoapPeer): IdentityResult {
    if (device.lwm2m) return { ok: false, code: '4.03', error: 'this device reports through LwM2M, not /ps' };
    if (device.token && !(token && sameSecret(device.token, token))) {
      return { ok: false, code: '4.01', error: 'missing or wrong ?token=' };
    }
    if (device.address && !this.byAddress.get(device.id)?.match(source.address)) {
      return { ok: false, code: '4.03', error: 'this device may only publish from its configured address' };
    }
    if (!device.token && !device.address) {
      // Only path-identified devices need the address scan (devices with a token or address never reach it).
      if (this.boundTo(source.address).some((d) => d.id !== device.id)) {
        return { ok: false, code: '4.03', error: 'this address belongs to another device' };
      }
      if (!this.allowPathIdentity) return { ok: false, code: '4.01', error: 'device has no address or token' };
    }
    return { ok: true, deviceId: device.id };
  }
}

function tokenFrom(query: readonly string[]): string | undefined {
  const item = query.find((q) => q.startsWith('token='));
  return item?.slice('token='.length);
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Matches textual variants of one IP (compressed/expanded IPv6, IPv4); a configured zone must match too. */
export function addressMatcher(configured: string): (address: string) => boolean {
  const [ip = '', zone] = configured.split('%');
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!family) return (address) => address === configured;
  const list = new BlockList();
  list.addAddress(ip, family);
  return (address) => {
    const [candidate = '', candidateZone] = address.split('%');
    if (zone !== undefined && candidateZone !== zone) return false;
    const candidateFamily = isIPv4(candidate) ? 'ipv4' : isIPv6(candidate) ? 'ipv6' : undefined;
    return candidateFamily === family && list.check(candidate, family);
  };
}
