// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config syntax being documented
// The config reference (docs/config.md) and JSON Schema (docs/config.schema.json), both generated from the
// zod schema so they cannot drift from what the loader accepts.
import { z } from 'zod';
import { crossKeyRules } from './cross-checks.js';
import { configSchema, RESTART_ONLY } from './schema.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  additionalProperties?: JsonSchema | boolean;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  $schema?: string;
  title?: string;
  patternProperties?: Record<string, JsonSchema>;
  allOf?: JsonSchema[];
};

export function configJsonSchema(schema: z.ZodType = configSchema): JsonSchema {
  // `input`: keys with defaults are optional, which is what an editor should offer.
  const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return {
    $schema: generated.$schema,
    title: 'zephyr2mqtt gateway configuration',
    ...generated,
  };
}

export function renderJsonSchema(schema: z.ZodType = configSchema): string {
  return `${JSON.stringify(configJsonSchema(schema), null, 2)}\n`;
}

const SAFE_INTEGER = 9007199254740991;

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties)
    return `map of ${typeOf(s.additionalProperties)}`;
  const type = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const range: string[] = [];
  if (s.minimum !== undefined && s.minimum > -SAFE_INTEGER) range.push(`>= ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < SAFE_INTEGER) range.push(`<= ${s.maximum}`);
  if (s.minLength !== undefined && s.minLength > 1) range.push(`at least ${s.minLength} characters`);
  if (s.maxLength !== undefined) range.push(`at most ${s.maxLength} characters`);
  return range.length > 0 ? `${type} (${range.join(', ')})` : type;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function defaultOf(s: JsonSchema, required: boolean): string {
  if (s.default !== undefined) {
    const text = JSON.stringify(s.default);
    return text === '{}' ? '' : `\`${cell(text)}\``;
  }
  return required ? '**required**' : '';
}

interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

function rows(s: JsonSchema, prefix: string, out: Row[], sections: string[]): void {
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const key = `${prefix}${name}`;
    const required = s.required?.includes(name) ?? false;
    const variants = prop.type === 'array' ? (prop.items?.oneOf ?? prop.items?.anyOf) : undefined;
    out.push({
      key: `\`${key}\``,
      type: variants ? 'list (see below)' : typeOf(prop),
      def: defaultOf(prop, required),
      description: cell(prop.description ?? ''),
    });
    const settings = settingsVariant(prop);
    const entry = mapEntry(prop);
    if (prop.type === 'object' && prop.properties) rows(prop, `${key}.`, out, sections);
    else if (prop.type === 'array' && prop.items?.type === 'object' && prop.items.properties)
      rows(prop.items, `${key}[].`, out, sections);
    else if (variants) sections.push(variantSection(key, variants));
    else if (entry) rows(entry, `${key}.<name>.`, out, sections);
    else if (settings) rows(settings, `${key}.`, out, sections);
  }
}

/** The entries of a map whose values are objects with known keys (CoAP `resources`), so each key gets a row. */
function mapEntry(s: JsonSchema): JsonSchema | undefined {
  const values = s.additionalProperties;
  return s.type === 'object' && !s.properties && typeof values === 'object' && values.properties ? values : undefined;
}

/** The object of a `true | {settings}` key (`smp`), so its settings get rows like any nested object. */
function settingsVariant(s: JsonSchema): JsonSchema | undefined {
  const objects = (s.anyOf ?? s.oneOf ?? []).filter((v) => v.type === 'object' && v.properties);
  return objects.length === 1 ? objects[0] : undefined;
}

function table(list: Row[]): string {
  const lines = ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const r of list) lines.push(`| ${r.key} | ${r.type} | ${r.def} | ${r.description} |`);
  return lines.join('\n');
}

function variantSection(key: string, variants: JsonSchema[]): string {
  const parts = [`### \`${key}[]\` entries`];
  for (const v of variants) {
    const discriminator = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
    const title = discriminator ? `${discriminator[0]}: ${String(discriminator[1].const)}` : 'entry';
    const list: Row[] = [];
    rows(v, '', list, parts);
    parts.push(`#### \`${title}\`\n\n${table(list)}`);
  }
  return parts.join('\n\n');
}

export function renderConfigReference(schema: z.ZodType = configSchema): string {
  const root = configJsonSchema(schema);
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from gateway/config/schema.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'One YAML file (`zephyr2mqtt run --config FILE`, default `$ZEPHYR2MQTT_CONFIG` or `./gateway.yaml`).',
    'Check it with `zephyr2mqtt validate FILE`. Unknown keys are errors, so a typo never goes unnoticed.',
    'Editors with YAML language support complete and check keys with `docs/config.schema.json`',
    '(first line of the file: `# yaml-language-server: $schema=../docs/config.schema.json`).',
    '',
    '## Values from the environment and from files',
    '',
    'Any string value may contain `${VAR}` (an environment variable; a missing one is an error),',
    '`${VAR:-default}` (the default when VAR is unset or empty), `${VAR-default}` (only when unset), or',
    "`${file:/path/to/secret}` (the file's content without its trailing newline; a relative path is relative",
    'to the config file). Keep secrets such as `password_hash` or upstream passwords out of the YAML this',
    'way, e.g. with container secrets in `/run/secrets/`. Error messages show such a value as',
    '`<value from ${...}>`, never the value itself.',
    '',
    'An unquoted value that is one `${VAR}` reference and nothing else is read as YAML once substituted, like',
    'docker compose does: `port: ${PORT:-1883}` is a number and `enabled: ${ON:-true}` a boolean. A quoted',
    'one (`"${PORT}"`) stays text, and so does a `${file:...}` (a password of digits stays a password).',
    'References work inside `{ }` and `[ ]` as well: `- { type: mqtt, port: ${MQTT_PORT} }` is a number too.',
    '`$${` is a literal `${`: `$${HOME}` is the text `${HOME}`. Values written',
    'by the MQTT API (`bridge/request/device/add`, `device/rename`) are escaped this way, so they load back as',
    'sent and never read a file or variable.',
    '',
    '## Anchors and merge keys',
    '',
    'YAML anchors, aliases and merge keys work (`<<: *serial_defaults`). Top-level keys starting with `x-`',
    '(as in docker compose) are ignored, so shared values can be defined there:',
    '',
    '```yaml',
    'x-serial: &serial_defaults { transport: serial, baud_rate: 115200 }',
    'devices:',
    '  - { <<: *serial_defaults, id: s1, path: /dev/ttyACM0 }',
    '```',
    '',
    '## Reloading',
    '',
    'SIGHUP or `bridge/request/config/reload` re-reads the file. A valid file is applied without dropping MQTT',
    'clients (devices added, removed or changed; adapters started, stopped or reconfigured, log levels changed);',
    'an invalid or empty one is rejected, logged and published on `bridge/event` as `config_error`, and the',
    'running config stays. These take effect on the next restart (a reload keeps their running values and lists',
    `them in \`restart_required\`): ${RESTART_ONLY.map((key) => `\`${key}\``).join(', ')}.`,
    '',
    'An adapter that a reload (or a shutdown) stops while it is still starting, typically a retry after a failed start,',
    'is stopped once that start has ended, so it cannot go on running unseen; the gateway waits up to 3 s for it and logs',
    '`adapter <kind> is still starting: it is stopped once its start has ended`. A start that takes longer does not hold',
    'up the reload or the shutdown: the adapter is stopped whenever it ends, and what it reports after those 3 s',
    '(device state, availability, a fatal error) is ignored, so it cannot publish over the adapter a reload started in',
    'its place. So is what an adapter reports after a stop that took longer than 3 s, or once the restart after its',
    'fatal error has started its successor.',
    '',
    '## Format version',
    '',
    '`version: 1` is the current format. Older formats are migrated in memory when loaded (notes are logged);',
    'a file written for a newer zephyr2mqtt is refused with a message saying so.',
    '',
    '## Rules across keys',
    '',
    'Checked when the file is loaded, beside the types below; `docs/config.schema.json` states what JSON',
    'Schema can (`bridge.password` or `bridge.password_file`, `tls.cert` with `tls.key`, a non-empty BLE',
    '`match`, MQTT filters) and comes close for IP addresses.',
    '',
    ...[
      'Every `devices[].id` is unique, and none is `bridge`.',
      'CoAP addresses (`adapters.coap.bind`, `devices[].address`) are IP literals, not host names: no brackets, the port in its own key.',
      'A device sets at most one of `throttle` and `debounce`; `debounce_ignore` needs `debounce`.',
      ...crossKeyRules.map((r) => r.rule),
    ].map((rule) => `- ${rule}`),
  ];
  for (const [name, prop] of Object.entries(root.properties ?? {})) {
    out.push('', `## \`${name}\``, '');
    if (prop.description) out.push(prop.description, '');
    const list: Row[] = [];
    const sections: string[] = [];
    if (prop.type === 'object' && prop.properties) rows(prop, `${name}.`, list, sections);
    else rows({ properties: { [name]: prop }, required: root.required ?? [] }, '', list, sections);
    out.push(table(list));
    for (const s of sections) out.push('', s);
  }
  return `${out.join('\n')}\n`;
}
