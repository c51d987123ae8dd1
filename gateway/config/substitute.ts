// `${VAR}`, `${VAR:-default}` and `${file:/path}` in string values, so secrets never have to sit in the YAML.
// A file reference reads the whole file (trailing newline removed); a relative path is relative to the
// config file's directory (the container-secrets pattern: /run/secrets/<name>).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const REF = /\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?)\}/g;

export interface SubstitutionProblem {
  path: string[];
  message: string;
  hint: string;
}

export function substitute(
  value: unknown,
  env: NodeJS.ProcessEnv,
  configFile: string,
  problems: SubstitutionProblem[],
  path: string[] = [],
): unknown {
  if (typeof value === 'string') return substituteString(value, env, configFile, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, configFile, problems, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, env, configFile, problems, [...path, k])]),
    );
  }
  return value;
}

function substituteString(
  text: string,
  env: NodeJS.ProcessEnv,
  configFile: string,
  problems: SubstitutionProblem[],
  path: string[],
): string {
  return text.replace(
    REF,
    (whole, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
      if (file !== undefined) {
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
      const v = env[name as string] ?? fallback;
      if (v !== undefined) return v;
      problems.push({
        path,
        message: `environment variable ${name} is not set`,
        hint: `export ${name}=... or write \${${name}:-default}`,
      });
      return whole;
    },
  );
}
