// Reading the config file: YAML -> ${ENV} expansion -> zod validation, with errors that name the file,
// line and column, the key path, what was expected and a hint.
import { readFile } from 'node:fs/promises';
import { type Document, isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema.js';

export interface ConfigIssue {
  path: string;
  line?: number | undefined;
  column?: number | undefined;
  message: string;
  hint?: string | undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `invalid config ${file}:\n` +
        issues
          .map((i) => {
            const where = i.line ? `${file}:${i.line}:${i.column ?? 1}` : file;
            return `  ${where} ${i.path || '(root)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;
          })
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(file, [{ path: '', message: `cannot read the file (${code})`, hint: 'check the path' }]);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: '', line: pos?.line, column: pos?.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const raw = expandEnv(doc.toJS() ?? {}, env, [], doc, lineCounter, file);
  const result = configSchema.safeParse(raw);
  if (!result.success)
    throw new ConfigError(
      file,
      result.error.issues.map((i) => toIssue(i, doc, lineCounter)),
    );
  return result.data;
}

function toIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigIssue {
  const path = issue.path.map(String);
  const pos = locate(doc, lineCounter, path);
  return { path: formatPath(path), line: pos?.line, column: pos?.col, message: issue.message, hint: hintFor(issue) };
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'unrecognized_keys') return `remove or rename ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_union' && issue.path.at(-1) !== undefined) return 'check the `transport` value';
  return undefined;
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' || /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Line/column of the deepest node that exists along `path`. */
function locate(doc: Document, lineCounter: LineCounter, path: string[]): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key);
      if (!pair) break;
      found = (pair.key as Node) ?? found;
      node = pair.value;
      if (pair.value && (isMap(pair.value) || isSeq(pair.value))) found = pair.value as Node;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (!item) break;
      node = item;
      found = item as Node;
    } else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` / `${VAR:-default}` in every string value; a missing variable is a config error. */
function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: string[],
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name] ?? fallback;
      if (v === undefined) {
        const pos = locate(doc, lineCounter, path);
        throw new ConfigError(file, [
          {
            path: formatPath(path),
            line: pos?.line,
            column: pos?.col,
            message: `environment variable ${name} is not set`,
            hint: `export ${name}=... or write \${${name}:-default}`,
          },
        ]);
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, String(i)], doc, lineCounter, file));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], doc, lineCounter, file)]),
    );
  }
  return value;
}
