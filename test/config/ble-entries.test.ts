// BLE entries and settings in the config: two devices with the same match (the first would take every advert of
// both, the second silently never matched) and back-off bounds in the wrong order are errors that name the key.
import { describe, expect, it } from 'vitest';
import { configIssues as issuesOf } from './config-issues.js';

describe('BLE devices in the config', () => {
  it('a device shadowed by one listed before it (the adapter would never match it) is an error', () => {
    const two = (second: string, first = '{ address: "AA:BB:CC:DD:EE:01", name: Door }', extra = '') =>
      [
        'devices:',
        `  - { id: door, transport: ble, match: ${first} }`,
        `  - { id: copy, transport: ble, match: ${second}${extra} }`,
        '',
      ].join('\n');
    const shadowed = [
      {
        path: 'devices[1].match',
        line: 3,
        column: 33,
        message: '"door" (entry 1 of the list) takes every advert this match takes: this device would never be matched',
        hint: 'tell the devices apart (address, or the same address with different names), list the more specific one first, or set `disabled: true` on one of them',
      },
    ];
    // The same address in another spelling and the same name.
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Door }'))).toEqual(shadowed);
    // An address without a name takes every advert from it, whatever the name.
    expect(issuesOf(two('{ address: "AA:BB:CC:DD:EE:01", name: Other }', '{ address: "AA:BB:CC:DD:EE:01" }'))).toEqual(
      shadowed,
    );
    // A serial number beside an address is not looked at when adverts are matched.
    expect(
      issuesOf(
        two(
          '{ address: "AA:BB:CC:DD:EE:01", serial_number: "2" }',
          '{ address: "AA:BB:CC:DD:EE:01", serial_number: "1" }',
        ),
      ),
    ).toEqual(shadowed);
    expect(issuesOf(two('{ name: Door }', '{ name: Door }'))).toEqual(shadowed);
    // Reachable: disabled, another name, the more specific entry first, a name-only entry beside an address one.
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Door }', undefined, ', disabled: true'))).toEqual([]);
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Window }'))).toEqual([]);
    expect(issuesOf(two('{ address: "AA:BB:CC:DD:EE:01" }'))).toEqual([]);
    expect(issuesOf(two('{ name: Door }'))).toEqual([]);
  });

  it('a reconnect or retry minimum above its maximum names the key', () => {
    const text = ['adapters:', '  ble:', '    reconnect_min_ms: 90000', '    unavailable_retry_max_ms: 1000', ''].join(
      '\n',
    );
    // In line order; a key left at its default is pointed at by its section.
    expect(issuesOf(text).map((i) => [i.path, i.line, i.message, i.hint])).toEqual([
      [
        'adapters.ble.unavailable_retry_min_ms',
        2,
        'unavailable_retry_max_ms (1000) is below unavailable_retry_min_ms (2000)',
        'make unavailable_retry_min_ms at most unavailable_retry_max_ms',
      ],
      [
        'adapters.ble.reconnect_min_ms',
        3,
        'reconnect_max_ms (60000) is below reconnect_min_ms (90000)',
        'make reconnect_min_ms at most reconnect_max_ms',
      ],
    ]);
  });
});
