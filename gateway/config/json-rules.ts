// Checks the loader makes in code (refinements, cross-key rules), restated in JSON Schema so that an editor
// using docs/config.schema.json flags the same values. schema.ts attaches them with .meta(): zod's validation
// ignores them, only z.toJSONSchema() writes them out.
import { MQTT_FILTER } from './cross-checks.js';

type JsonRule = Record<string, unknown>;

/** An IPv4 or IPv6 literal (with a zone), no brackets or port. The loader's check is exact; this comes close. */
const IP_LITERAL = '^(?:(?:\\d{1,3}\\.){3}\\d{1,3}|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[\\w.-]+)?)$';

/** `allOf` entries of an object schema: each names only the properties it constrains. */
export const jsonRules = {
  /** Top-level `x-...` keys are ignored by the loader: a place for YAML anchors. */
  root: { patternProperties: { '^x-': {} } },
  deviceId: { not: { const: 'bridge' } },
  bridge: [
    { not: { required: ['password', 'password_file'] } },
    { properties: { tls: { dependentRequired: { cert: ['key'], key: ['cert'] } } } },
    { properties: { topics: { items: { properties: { pattern: { pattern: MQTT_FILTER.source } } } } } },
  ],
  homeassistant: [{ properties: { discovery_prefix: { pattern: '^[^+#]*$' } } }],
  /** By adapter kind: its `adapters.<kind>` section. */
  adapters: {
    coap: [
      {
        properties: {
          bind: {
            anyOf: [
              { type: 'string', pattern: IP_LITERAL },
              { type: 'array', items: { pattern: IP_LITERAL } },
            ],
          },
        },
      },
    ],
  } as Record<string, JsonRule[]>,
  /** Every device entry, whatever its transport (device-base.ts, checkDeviceBase). */
  deviceBase: [
    { not: { required: ['throttle', 'debounce'] } },
    { dependentRequired: { debounce_ignore: ['debounce'] } },
  ] as JsonRule[],
  /** By transport: its device entries. */
  devices: {
    coap: [
      { properties: { address: { pattern: IP_LITERAL } } },
      // smp (other than false) needs address.
      { anyOf: [{ not: { required: ['smp'] } }, { properties: { smp: { const: false } } }, { required: ['address'] }] },
    ],
    ble: [{ properties: { match: { minProperties: 1 } } }],
    serial: [
      { oneOf: [{ required: ['path'] }, { required: ['match'] }] },
      { properties: { match: { anyOf: [{ required: ['usb'] }, { required: ['by_id'] }] } } },
    ],
  } as Record<string, JsonRule[]>,
};
