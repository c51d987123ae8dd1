// BLE entries and settings in the config: two devices with the same match (the first would take every advert of
// both, the second silently never matched) and back-off bounds in the wrong order are errors that name the key.
import { describe, expect, it } from 'vitest';
import { configIssues as issuesOf } from './config-issues.js';

describe('BLE devices in the config', () => {
  it('two enabled devices with the same match (MACs in any spelling) are an error', () => {
    const two = (second: string, extra = '') =>
      [
        'devices:',
        '  - { id: door, transport: ble, match: { address: "AA:BB:CC:DD:EE:01", name: Door } }',
        `  - { id: copy, transport: ble, match: ${second}${extra} }`,
        '',
      ].join('\n');
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Door }'))).toEqual([
      {
        path: 'devices[1].match',
        line: 3,
        column: 33,
        message: 'the same match as "door" (entry 1 of the list): only that device would ever be matched',
        hint: 'tell the devices apart (address, name or serial_number), or set `disabled: true` on one of them',
      },
    ]);
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Door }', ', disabled: true'))).toEqual([]);
    expect(issuesOf(two('{ address: "aa-bb-cc-dd-ee-01", name: Window }'))).toEqual([]);
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
