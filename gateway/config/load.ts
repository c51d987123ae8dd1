// Reading the config file: YAML -> `${ENV}` / `${file:...}` substitution -> format migration -> zod
// validation, with errors that name the file, line and column, the key path, what was expected and a hint.
import { readFile } from 'node:fs/promises';
import { isNode, isScalar, LineCounter, parseDocument, visit } from 'yaml';
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
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return {
          path: '',
          line: pos?.line,
          column: pos?.col,
          message: `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
          hint: 'check indentation, quotes and the `key: value` form near this line',
        };
      }),
    );
  }
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
  const problems: SubstitutionProblem[] = [];
  const raw = substitute(doc.toJS() ?? {}, env, file, problems);
  if (problems.length > 0) {
    throw new ConfigError(
      file,
      problems.map((p) => ({ ...p, path: formatPath(p.path), line: at(p.path)?.line, column: at(p.path)?.col })),
    );
  }
  const migrated = migrateConfig(raw);
  if (migrated.tooNew !== undefined) {
    const pos = at(['version']);
    throw new ConfigError(file, [
      {
        path: 'version',
        line: pos?.line,
        column: pos?.col,
        message: `config format ${migrated.tooNew} is newer than this zephyr2mqtt understands (${CONFIG_FORMAT_VERSION})`,
        hint: 'upgrade zephyr2mqtt, or restore the config file of the version you run',
      },
    ]);
  }
  for (const note of migrated.notes) options.onNote?.(note);
  const result = schema.safeParse(migrated.raw, { reportInput: true });
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues
      .flatMap((i) => describeIssues(i, schema))
      .map((d) => {
        const pos = at(d.path);
        return { path: formatPath(d.path), line: pos?.line, column: pos?.col, message: d.message, hint: d.hint };
      });
    throw new ConfigError(file, issues);
  }
  return result.data;
}
