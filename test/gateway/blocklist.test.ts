// Which unknown devices a blocklist entry names (per adapter's identities), and the entries device/remove with
// block: true writes for each kind of device entry.
import { describe, expect, it } from 'vitest';
import { blockEntriesFor } from '../../gateway/devices/block-entries.js';
import { blockingEntry } from '../../gateway/devices/blocklist.js';

describe('blocklist matching', () => {
  const blocked = (entry: Record<string, string>, seen: Record<string, unknown>) =>
    blockingEntry([entry as never], { transport: 'x', address: '', ...seen } as never) !== undefined;

  it('BLE MACs in any case or separator', () => {
    const entry = { transport: 'ble', address: 'AA:BB:CC:DD:EE:FF' };
    expect(blocked(entry, { transport: 'ble', address: 'aa-bb-cc-dd-ee-ff' })).toBe(true);
    expect(blocked(entry, { transport: 'ble', address: 'AA:BB:CC:DD:EE:F0' })).toBe(false);
    expect(blocked(entry, { transport: 'coap', address: 'AA:BB:CC:DD:EE:FF' })).toBe(false); // another adapter
  });

  it('CoAP IPs in any textual form, from a /ps source or a discovery [ip]:port; a zone given must match', () => {
    const entry = { transport: 'coap', address: 'fd00:0:0:0:0:0:0:5' };
    expect(blocked(entry, { transport: 'coap', address: 'fd00::5' })).toBe(true);
    expect(blocked(entry, { transport: 'coap', address: '[fd00::5]:5683' })).toBe(true);
    expect(blocked(entry, { transport: 'coap', address: 'fd00::6' })).toBe(false);
    const zoned = { transport: 'coap', address: 'fe80::1%lowpan0' };
    expect(blocked(zoned, { transport: 'coap', address: '[fe80::1%lowpan0]:5683' })).toBe(true);
    expect(blocked(zoned, { transport: 'coap', address: 'fe80::1%wpan0' })).toBe(false);
    expect(blocked({ transport: 'coap', address: '192.0.2.7' }, { transport: 'coap', address: '192.0.2.7:5683' })).toBe(
      true,
    );
    // An IPv4-mapped IPv6 entry is the IPv4 address the transport reports.
    expect(
      blocked({ transport: 'coap', address: '::ffff:192.0.2.7' }, { transport: 'coap', address: '192.0.2.7' }),
    ).toBe(true);
    expect(blocked({ transport: 'coap', address: '192.0.2.7' }, { transport: 'coap', address: '192.0.2.8' })).toBe(
      false,
    );
  });

  it('names, serial numbers and aliases; every key of an entry must match', () => {
    expect(
      blocked({ transport: 'coap', name: 'node-7' }, { transport: 'coap', address: 'node-7', name: 'node-7' }),
    ).toBe(true);
    const usb = { transport: 'serial', serial_number: 'E661' };
    expect(blocked(usb, { transport: 'serial', address: '/dev/ttyACM0', serial_number: 'E661' })).toBe(true);
    expect(blocked(usb, { transport: 'serial', address: '/dev/ttyACM0' })).toBe(false);
    const link = { transport: 'serial', address: '/dev/serial/by-id/usb-Z_E661-if00' };
    expect(blocked(link, { transport: 'serial', address: '/dev/ttyACM1', aliases: [link.address] })).toBe(true);
    const both = { transport: 'ble', address: 'AA:BB:CC:DD:EE:FF', name: 'Zephyr' };
    expect(blocked(both, { transport: 'ble', address: 'AA:BB:CC:DD:EE:FF', name: 'Other' })).toBe(false);
  });
});

describe('blockEntriesFor', () => {
  it('takes the narrowest key each adapter sees before the device is configured', () => {
    const ble = (match: Record<string, string>) => blockEntriesFor({ id: 'b', transport: 'ble', match });
    expect(ble({ address: 'AA:BB:CC:DD:EE:FF', name: 'Z' })).toEqual([
      { transport: 'ble', address: 'AA:BB:CC:DD:EE:FF' },
    ]);
    expect(ble({ name: 'Zephyr Heartrate Sensor' })).toEqual([{ transport: 'ble', name: 'Zephyr Heartrate Sensor' }]);
    expect(ble({ serial_number: '42' })).toEqual([]);

    expect(blockEntriesFor({ id: 'n', transport: 'coap', lwm2m: { endpoint: 'ep-1' } })).toEqual([
      { transport: 'coap', name: 'ep-1' },
    ]);
    expect(blockEntriesFor({ id: 'kitchen', transport: 'coap', ps_id: 'Kitchen', address: 'fd00::5' })).toEqual([
      { transport: 'coap', name: 'Kitchen' },
      { transport: 'coap', address: 'fd00::5' },
    ]);

    const serial = (entry: Record<string, unknown>) => blockEntriesFor({ id: 's', transport: 'serial', ...entry });
    expect(serial({ match: { usb: { vid: '2fe3', serial: 'E661' } } })).toEqual([
      { transport: 'serial', serial_number: 'E661' },
    ]);
    expect(serial({ match: { by_id: 'usb-Z_E661-if00' } })).toEqual([
      { transport: 'serial', address: '/dev/serial/by-id/usb-Z_E661-if00' },
    ]);
    expect(serial({ path: '/dev/ttyUSB0' })).toEqual([{ transport: 'serial', address: '/dev/ttyUSB0' }]);
    expect(serial({ match: { usb: { vid: '2fe3', pid: '0004' } } })).toEqual([]);
  });
});
