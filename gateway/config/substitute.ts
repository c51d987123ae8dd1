// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config syntax handled here
// `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${file:/path}` in string values, so secrets never have to
// sit in the YAML; `$${` is a literal `${`. A file reference reads the whole file (trailing newline removed); a
// relative path is relative to the config file's directory (the container-secrets pattern: /run/secrets/<name>).
// As in docker compose, `:-` also replaces an empty variable and `-` only an unset one, and an unquoted value
// that is one ${VAR} and nothing else is read as YAML after substitution (`port: ${PORT:-1883}` is a number).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Document, isScalar, parseDocument, visit } from 'yaml';
import { formatPath } from './errors.js';

const REF = /\$\$\{|\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?)\}/g;
const WHOLE_REF = /^\$\{(?:file:[^}]+|[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?)\}$/;

export interface SubstitutionProblem {
  path: string[];
  message: string;
  hint: string;
}

export interface Substitution {
  problems: SubstitutionProblem[];
  /** The references a value was made from, by formatted key path: "${file:pw}" or "${A}, ${B}". */
  sources: Map<string, string>;
}

/** An unquoted scalar that is one ${VAR} reference: its value is typed by what the variable gives. ${file:...} stays
 * text: files hold secrets, and a password of digits must not turn into a number. */
class PlainReference {
  constructor(readonly text: string) {}
}

/** Marks the unquoted whole-reference scalars of `doc` (before toJS) so that substitute() types their values. */
export function markPlainReferences(doc: Document): void {
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || node.type !== 'PLAIN' || typeof node.value !== 'string') return;
      if (WHOLE_REF.test(node.value) && !node.value.startsWith('${file:')) node.value = new PlainReference(node.value);
    },
  });
}

/** `${` -> `$${` in every string of `value`: text that must load back as written, not be substituted. */
export function escapeReferences(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('${', () => '$${'); // a replacement string reads $$ as $
  if (Array.isArray(value)) return value.map(escapeReferences);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeReferences(v)]));
  return value;
}

export function substitute(
  value: unknown,
  env: NodeJS.ProcessEnv,
  configFile: string,
  out: Substitution,
  path: string[] = [],
): unknown {
  if (value instanceof PlainReference) {
    const problems = out.problems.length;
    const text = substituteString(value.text, env, configFile, out, path);
    return out.problems.length === problems ? asYamlScalar(text) : text;
  }
  if (typeof value === 'string') return substituteString(value, env, configFile, out, path);
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, configFile, out, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, env, configFile, out, [...path, k])]),
    );
  }
  return value;
}

/** A number, boolean or null when the text reads as one in YAML; otherwise the text itself. */
function asYamlScalar(text: string): unknown {
  if (text.trim() === '') return text;
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isScalar(doc.contents)) return text;
  const value = doc.contents.value;
  return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
}

function substituteString(
  text: string,
  env: NodeJS.ProcessEnv,
  configFile: string,
  out: Substitution,
  path: string[],
): string {
  const refs: string[] = [];
  const result = text.replace(
    REF,
    (whole, file: string | undefined, name: string | undefined, op: string | undefined, fallback: string) => {
      if (whole === '$${') return '${';
      refs.push(whole);
      if (file !== undefined) return readSecretFile(whole, file, configFile, out.problems, path);
      const v = env[name as string];
      if (v !== undefined && !(op === ':-' && v === '')) return v;
      if (op !== undefined) return fallback;
      out.problems.push({
        path,
        message: `environment variable ${name} is not set`,
        hint: `export ${name}=... or write \${${name}:-default}`,
      });
      return whole;
    },
  );
  if (refs.length > 0) out.sources.set(formatPath(path), refs.join(', '));
  return result;
}

function readSecretFile(
  whole: string,
  file: string,
  configFile: string,
  problems: SubstitutionProblem[],
  path: string[],
): string {
  const target = resolve(dirname(configFile), file.trim());
  try {
    return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    problems.push({
      path,
      message: `secret file ${target} cannot be read (${code})`,
      hint: 'check the path and that the gateway user may read it',
    });
    return whole;
  }
}
