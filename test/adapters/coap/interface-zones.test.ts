// A request to a link-local peer whose zone names no interface of this host is refused before it is sent: libuv reads
// an unknown zone name as no zone, and the kernel would send the datagram out of another link.
import type { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceAvailability } from '../../../adapters/coap/availability.js';
import type { CoapReachability } from '../../../adapters/coap/endpoint.js';
import { CoapZoneError } from '../../../adapters/coap/transport/errors.js';
import { InterfaceZones } from '../../../adapters/coap/transport/interface-zones.js';
import type { AdapterContext } from '../../../gateway/adapter.js';
import { type CoapHarness, startCoapHarness } from './harness.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';

type Interfaces = ReturnType<typeof networkInterfaces>;
const v6 = { address: 'fe80::1', family: 'IPv6' } as NonNullable<Interfaces[string]>[number];
const v4 = { address: '10.0.0.1', family: 'IPv4' } as NonNullable<Interfaces[string]>[number];

describe('InterfaceZones', () => {
  it('accepts a zone naming an interface with an IPv6 address, and an address without a zone', () => {
    const zones = new InterfaceZones(() => ({ lowpan0: [v6], eth0: [v4] }));
    expect(zones.problem('fe80::1%lowpan0')).toBeUndefined();
    expect(zones.problem('fd00::1')).toBeUndefined();
    expect(zones.problem('10.0.0.2')).toBeUndefined();
    expect(zones.problem('fe80::1%eth0')).toBe('interface "eth0" is not on this host, or has no IPv6 address yet');
    expect(zones.problem('fe80::1%wpan0')).toBe('interface "wpan0" is not on this host, or has no IPv6 address yet');
  });

  it('reads the interfaces again at most once a second, so one that comes up is used within a second', () => {
    let now = 0;
    let reads = 0;
    let interfaces: Interfaces = {};
    const zones = new InterfaceZones(
      () => {
        reads++;
        return interfaces;
      },
      () => now,
    );
    expect(zones.problem('fe80::1%lowpan0')).toBeDefined();
    interfaces = { lowpan0: [v6] };
    now = 999;
    expect(zones.problem('fe80::1%lowpan0')).toBeDefined();
    expect(reads).toBe(1);
    now = 1000;
    expect(zones.problem('fe80::1%lowpan0')).toBeUndefined();
    interfaces = {};
    now = 2000;
    expect(zones.problem('fe80::1%lowpan0')).toBeDefined();
    expect(reads).toBe(3);
  });
});

describe('a request to a zone no interface has', () => {
  stopEndpointsAfterEach();

  it('is refused at once, not sent out of another link to time out, a multicast one too', async () => {
    const client = await endpoint();
    const peer = { address: 'fe80::1%nosuchif0', port: 5683 };
    const request = client.request({ peer, method: 'GET', path: ['t'], timeoutMs: 2000 });
    await expect(request).rejects.toBeInstanceOf(CoapZoneError);
    await expect(request).rejects.toThrow(
      'CoAP request to [fe80::1%nosuchif0]:5683 not sent: interface "nosuchif0" is not on this host',
    );
    await expect(client.observe({ peer, method: 'GET', path: ['t'], timeoutMs: 2000 }, () => {})).rejects.toThrow(
      CoapZoneError,
    );
    expect(await client.ping(peer)).toBe(false);
    // A group on that interface (a typo in `interfaces`): not sent out of the default multicast interface.
    const group = { address: 'ff02::fd%nosuchif0', port: 5683 };
    await expect(
      client.multicast({ peer: group, method: 'GET', path: ['.well-known', 'core'] }, 500, () => {}),
    ).rejects.toThrow('CoAP request to [ff02::fd%nosuchif0]:5683 not sent: interface "nosuchif0"');
  });
});

describe('a device whose zone names no interface', () => {
  let h: CoapHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('fails a /get with the reason, at once', async () => {
    h = await startCoapHarness([
      {
        id: 'node',
        transport: 'coap',
        address: 'fe80::1%nosuchif0',
        resources: { t: { path: '/t' } },
      },
    ]);
    const failed = await h.gw.expectMessage(h.mqtt, 'zephyr2mqtt/node/get/error');
    await h.mqtt.publishAsync('zephyr2mqtt/node/get', JSON.stringify({ t: '' }));
    expect(await failed.message).toMatchObject({
      error: expect.stringContaining('not sent: interface "nosuchif0" is not on this host'),
    });
  });

  it('is reported offline: nothing can reach it from this host', () => {
    const reported: boolean[] = [];
    const ctx = { availability: (_id: string, online: boolean) => reported.push(online) } as unknown as AdapterContext;
    const peer = { address: 'fe80::1%nosuchif0', port: 5683 };
    const availability = new DeviceAvailability(
      'node',
      peer,
      {} as CoapReachability,
      ctx,
      new AbortController().signal,
    );
    availability.answered();
    availability.failed(new CoapZoneError(peer, 'interface "nosuchif0" is not on this host'), availability.sending());
    expect(reported).toEqual([true, false]);
  });
});
