// LwM2M entries in the config: one endpoint name is one device. The server maps a registration to the first entry
// naming its `ep=`, so a second entry (a copied entry whose endpoint was not changed) would never come online.
import { describe, expect, it } from 'vitest';
import { configIssues as issuesOf } from './config-issues.js';

describe('LwM2M endpoints in the config', () => {
  it('a second enabled CoAP entry naming the same lwm2m.endpoint is an error, unless one of them is disabled', () => {
    const two = (extra = '') =>
      'devices:\n' +
      '  - { id: node1, transport: coap, lwm2m: { endpoint: zephyr-node1 } }\n' +
      `  - { id: node2, transport: coap, lwm2m: { endpoint: zephyr-node1 }${extra} }\n`;
    expect(issuesOf(two())).toEqual([
      {
        path: 'devices[1].lwm2m.endpoint',
        line: 3,
        column: 44,
        message: '"zephyr-node1" is already the LwM2M endpoint of "node1" (entry 1 of the list)',
        hint: "give each device its client's own endpoint name (the `ep=` it registers with), or set `disabled: true` on one of them",
      },
    ]);
    expect(issuesOf(two(', disabled: true'))).toEqual([]);
    expect(issuesOf(two().replace('endpoint: zephyr-node1 } }\n', 'endpoint: zephyr-node2 } }\n'))).toEqual([]);
  });
});
