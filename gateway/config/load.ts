// Reading the config file: YAML -> `${ENV}` / `${file:...}` substitution -> format migration -> zod
// validation, with errors that name the file, line and column, the key path, what was expected and a hint.
import { readFile } from 'node:fs/promises';
import { LineCounter } from 'yaml';
import { documentToJS } from './aliases.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { parseConfigDocument } from './flow-references.js';
import { describeIssues } from './issues.js';
import { locate } from './locate.js';
import { migrateConfig } from './migrate.js';
import { CONFIG_FORMAT_VERSION, configSchema, type GatewayConfig } from './schema.js';
import { markPlainReferences, type Substitution, substitute } from './substitute.js';
import { keepUsbIdsAsWritten } from './usb-ids.js';
import { documentView } from './value-view.js';
import { yamlIssues } from './yaml-issues.js';

export { ConfigError, type ConfigIssue, formatPath } from './errors.js';

export interface ParseOptions {
  /** The schema to validate against (default: the gateway's adapters; tests add theirs). */
  schema?: typeof configSchema;
  /** Receives migration notes ("config v1 -> v2: ..."). */
  onNote?: (note: string) => void;
}

export async function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ParseOptions = {},
): Promise<GatewayConfig> {
  return parseConfigText(await readConfigText(file), file, env, options);
}

export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [readIssue((err as NodeJS.ErrnoException).code ?? String(err))]);
  }
}

function readIssue(code: string): ConfigIssue {
  const issue = (why: string, hint: string): ConfigIssue => ({
    path: '',
    message: `cannot read the file (${code})${why}`,
    hint,
  });
  if (code === 'ENOENT') return issue(': there is no such file', 'check the path, or pass --config FILE');
  if (code === 'EACCES' || code === 'EPERM')
    return issue(
      ': permission denied',
      'let the user the gateway runs as read it: check the owner and mode of the file and its directories',
    );
  if (code === 'EISDIR')
    return issue(': it is a directory', 'pass the YAML file itself, e.g. --config DIR/gateway.yaml');
  return issue('', 'check the path, or pass --config FILE');
}

export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ParseOptions = {},
): GatewayConfig {
  const schema = options.schema ?? configSchema;
  const lineCounter = new LineCounter();
  const doc = parseConfigDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  const yaml = yamlIssues(doc, text, lineCounter);
  if (yaml.length > 0) throw new ConfigError(file, yaml);
  const at = (path: readonly string[]) => locate(doc, lineCounter, path);
  const located = (path: readonly string[], issue: { message: string; hint?: string | undefined }): ConfigIssue => {
    const pos = at(path);
    return { path: formatPath(path), line: pos?.line, column: pos?.col, message: issue.message, hint: issue.hint };
  };
  markPlainReferences(doc);
  keepUsbIdsAsWritten(doc);
  // A failed substitution leaves `${...}` in place: the schema still checks every other key, and what it
  // says about an unresolved value itself is dropped (the substitution problem is the real one).
  const substitution: Substitution = { problems: [], sources: new Map() };
  const raw = substitute(withoutExtensions(documentToJS(doc, file, lineCounter) ?? {}), env, file, substitution);
  const { problems } = substitution;
  const issues = problems.map((p) => located(p.path, p));
  const unresolved = (path: readonly string[]) => problems.some((p) => p.path.every((key, i) => path[i] === key));
  const migrated = migrateConfig(raw);
  if (migrated.tooNew !== undefined) {
    issues.push(
      located(['version'], {
        message: `config format ${migrated.tooNew} is newer than this zephyr2mqtt understands (${CONFIG_FORMAT_VERSION})`,
        hint: 'upgrade zephyr2mqtt, or restore the config file of the version you run',
      }),
    );
    throw new ConfigError(file, byPosition(issues));
  }
  for (const note of migrated.notes) options.onNote?.(note);
  const result = schema.safeParse(migrated.raw, { reportInput: true });
  const view = documentView(doc, substitution.sources);
  for (const issue of result.error?.issues ?? []) {
    for (const d of describeIssues(issue, schema, view, migrated.raw))
      if (issue.code === 'unrecognized_keys' || !unresolved(d.path)) issues.push(located(d.path, d));
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(file, byPosition(issues));
  return result.data;
}

/** Top-level `x-...` keys are the user's (a home for YAML anchors, as in docker compose): not config. */
function withoutExtensions(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
}

/** Top to bottom, so substitution and schema problems read in file order. */
function byPosition(issues: ConfigIssue[]): ConfigIssue[] {
  const line = (i: ConfigIssue) => i.line ?? Number.POSITIVE_INFINITY;
  return issues.sort((a, b) => line(a) - line(b) || (a.column ?? 0) - (b.column ?? 0));
}
