// Reading the config file: YAML -> `${ENV}` / `${file:...}` substitution -> format migration -> zod
// validation, with errors that name the file, line and column, the key path, what was expected and a hint.
import { readFile } from 'node:fs/promises';
import { isNode, isScalar, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { describeIssues } from './issues.js';
import { locate } from './locate.js';
import { migrateConfig } from './migrate.js';
import { CONFIG_FORMAT_VERSION, configSchema, type GatewayConfig } from './schema.js';
import { type SubstitutionProblem, substitute } from './substitute.js';

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
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(file, [
      { path: '', message: `cannot read the file (${code})`, hint: 'check the path, or pass --config FILE' },
    ]);
  }
}

export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: ParseOptions = {},
): GatewayConfig {
  const schema = options.schema ?? configSchema;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const syntax = doc.errors.map((e) => syntaxIssue(e, text, lineCounter));
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  const complexKeys: ConfigIssue[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (pair.key === null || isScalar(pair.key)) return;
      const offset = isNode(pair.key) ? pair.key.range?.[0] : undefined;
      const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
      complexKeys.push({
        path: '',
        line: pos?.line,
        column: pos?.col,
        message: 'a mapping key must be a plain value, not a list or mapping',
        hint: 'a `{` or `[` where a key is expected; check brackets and indentation',
      });
    },
  });
  if (complexKeys.length > 0) throw new ConfigError(file, complexKeys);
  const at = (path: readonly string[]) => locate(doc, lineCounter, path);
  const located = (path: readonly string[], issue: { message: string; hint?: string }): ConfigIssue => {
    const pos = at(path);
    return { path: formatPath(path), line: pos?.line, column: pos?.col, message: issue.message, hint: issue.hint };
  };
  // A failed substitution leaves `${...}` in place: the schema still checks every other key, and what it
  // says about an unresolved value itself is dropped (the substitution problem is the real one).
  const problems: SubstitutionProblem[] = [];
  const raw = substitute(doc.toJS() ?? {}, env, file, problems);
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
  for (const issue of result.error?.issues ?? []) {
    for (const d of describeIssues(issue, schema))
      if (issue.code === 'unrecognized_keys' || !unresolved(d.path)) issues.push(located(d.path, d));
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(file, byPosition(issues));
  return result.data;
}

function syntaxIssue(error: YAMLError, text: string, lineCounter: LineCounter): ConfigIssue {
  // An error at the end of the file (an unclosed `[`, `{` or quote) points at the end of the last line with
  // content, not at the empty line after it.
  const end = text.trimEnd().length;
  const atEnd = error.pos[0] >= end;
  const pos = lineCounter.linePos(Math.min(error.pos[0], end));
  return {
    path: '',
    line: pos.line,
    column: pos.col,
    message: `YAML syntax: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    hint: atEnd
      ? 'the file ends before something was closed: check for a missing `]`, `}` or closing quote'
      : 'check indentation, quotes and the `key: value` form near this line',
  };
}

/** Top to bottom, so substitution and schema problems read in file order. */
function byPosition(issues: ConfigIssue[]): ConfigIssue[] {
  const line = (i: ConfigIssue) => i.line ?? Number.POSITIVE_INFINITY;
  return issues.sort((a, b) => line(a) - line(b) || (a.column ?? 0) - (b.column ?? 0));
}
