// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax documented
// The committed JSON Schema and config reference must match the zod schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, renderConfigReference, renderJsonSchema } from '../../gateway/config/reference.js';

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

  it('the reference documents every top-level section and the secret syntax', () => {
    const md = renderConfigReference();
    for (const section of ['version', 'gateway', 'broker', 'http', 'api', 'adapters', 'bridge', 'devices'])
      expect(md).toContain(`## \`${section}\``);
    expect(md).toContain('`${file:/path/to/secret}`');
    expect(md).toContain('| `gateway.base_topic` | string | `"zephyr2mqtt"` | Root of every topic |');
  });
});
