// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax documented
// The committed JSON Schema and config reference must match the zod schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossKeyRules } from '../../gateway/config/cross-checks.js';
import { configJsonSchema, renderConfigReference, renderJsonSchema } from '../../gateway/config/reference.js';
import { configSchema, RESTART_ONLY } from '../../gateway/config/schema.js';

const STALE = 'stale: run `npm run docs` and commit docs/config.schema.json and docs/config.md';

function committed(file: string): string {
  return readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');
}

describe('generated config docs', () => {
  it('docs/config.schema.json is up to date', () => {
    expect(committed('config.schema.json'), STALE).toBe(renderJsonSchema());
  });

  it('docs/config.md is up to date', () => {
    expect(committed('config.md'), STALE).toBe(renderConfigReference());
  });

  it('the reference lists the keys of settings objects and of map entries, not just the key holding them', () => {
    const md = renderConfigReference();
    // `smp: true | {settings}` on every transport, and CoAP's `resources: {<property>: {path, ...}}`.
    for (const key of ['smp.timeout_ms', 'smp.retries', 'smp.port', 'resources.<name>.path', 'resources.<name>.poll'])
      expect(md).toContain(`| \`${key}\` |`);
    // Length limits the loader enforces show in the type, e.g. a CoAP token's minimum.
    expect(md).toMatch(/\| `token` \| string \(at least 8 characters\) \|/);
  });

  it('the JSON Schema rejects unknown keys and knows every transport', () => {
    const schema = configJsonSchema() as {
      additionalProperties?: boolean;
      properties: Record<string, { additionalProperties?: boolean; items?: { oneOf?: unknown[] } }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.gateway?.additionalProperties).toBe(false);
    const transports = JSON.stringify(schema.properties.devices?.items?.oneOf);
    for (const t of ['coap', 'serial', 'ble']) expect(transports).toContain(`"const":"${t}"`);
  });

  it('the JSON Schema states the checks the loader makes in code, where JSON Schema can', () => {
    type Node = Record<string, unknown> & { properties?: Record<string, Node>; items?: Node & { oneOf?: Node[] } };
    const schema = configJsonSchema() as Node;
    const props = schema.properties ?? {};
    const entries = props.devices?.items?.oneOf ?? [];
    const entry = (t: string) => entries.find((e) => (e.properties?.transport as Node | undefined)?.const === t);
    expect(props.version?.const).toBe(1);
    expect(schema.patternProperties).toEqual({ '^x-': {} });
    for (const e of entries) {
      expect(e.properties?.id?.not).toEqual({ const: 'bridge' });
      expect(JSON.stringify(e.allOf)).toContain('{"not":{"required":["throttle","debounce"]}}');
      expect(JSON.stringify(e.allOf)).toContain('{"dependentRequired":{"debounce_ignore":["debounce"]}}');
    }
    expect(JSON.stringify(entry('ble')?.allOf)).toContain('"match":{"minProperties":1}');
    expect(JSON.stringify(entry('coap')?.allOf)).toContain('"address":{"pattern"');
    expect(JSON.stringify(entry('coap')?.allOf)).toContain(
      '{"anyOf":[{"not":{"required":["smp"]}},{"properties":{"smp":{"const":false}}},{"required":["address"]}]}',
    );
    expect(JSON.stringify(entry('serial')?.allOf)).toContain(
      '{"oneOf":[{"required":["path"]},{"required":["match"]}]}',
    );
    expect(JSON.stringify(props.adapters?.properties?.coap?.allOf)).toContain('"bind":{"anyOf"');
    const bridge = JSON.stringify(props.bridge?.allOf);
    expect(bridge).toContain('{"not":{"required":["password","password_file"]}}');
    expect(bridge).toContain('"dependentRequired":{"cert":["key"],"key":["cert"]}');
    expect(JSON.stringify(props.homeassistant?.allOf)).toContain('"discovery_prefix":{"pattern":"^[^+#]*$"}');
    // The patterns accept what the loader accepts and refuse what it refuses.
    const [coapRule] = (entry('coap')?.allOf ?? []) as Node[];
    const ip = new RegExp(String(coapRule?.properties?.address?.pattern));
    for (const ok of ['::', '::1', 'fe80::1%lowpan0', '192.168.1.20', 'fd00::212:4b00:615:a4ad'])
      expect(ok).toMatch(ip);
    for (const bad of ['localhost', '[fe80::1]:5683', '1.2.3.4:5683', 'gw.example.com']) expect(bad).not.toMatch(ip);
  });

  it('restart-only settings say so, and the rules across keys are listed', () => {
    const json = JSON.stringify(configJsonSchema(configSchema));
    const md = renderConfigReference();
    for (const key of RESTART_ONLY) {
      const described = key.split('.').reduce<Record<string, unknown> | undefined>((node, part) => {
        const properties = node?.properties as Record<string, Record<string, unknown>> | undefined;
        return properties?.[part];
      }, JSON.parse(json));
      expect(String(described?.description), key).toMatch(/\(needs a restart to change\)$/);
      expect(md).toContain(`\`${key}\``);
    }
    for (const r of crossKeyRules) expect(md).toContain(`- ${r.rule}`);
  });

  it('the reference documents every top-level section and the secret syntax', () => {
    const md = renderConfigReference();
    for (const section of ['version', 'gateway', 'broker', 'http', 'api', 'adapters', 'bridge', 'devices'])
      expect(md).toContain(`## \`${section}\``);
    expect(md).toContain('`${file:/path/to/secret}`');
    expect(md).toContain('`$${` is a literal `${`');
    expect(md).toContain(
      '| `gateway.base_topic` | string | `"zephyr2mqtt"` | Root of every topic: no MQTT wildcard, not starting with `$` (reserved for the broker) nor ending with `/` (needs a restart to change) |',
    );
  });
});
