// Turns zod issues into config issues a person can act on: what was found, what was expected, a hint.
import { z } from 'zod';

export interface DescribedIssue {
  path: string[];
  message: string;
  hint?: string | undefined;
}

export function describeIssues(issue: z.core.$ZodIssue, schema: z.ZodType): DescribedIssue[] {
  const path = issue.path.map(String);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(schema, path, issue.input);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key "${key}"`,
        hint: suggest(key, known) ?? (known.length > 0 ? `allowed keys: ${known.join(', ')}` : 'remove it'),
      }));
    }
    case 'invalid_type': {
      if (issue.input === undefined)
        return [
          { path, message: `missing required key (expected ${issue.expected})`, hint: describedAt(schema, path) },
        ];
      return [
        { path, message: `expected ${issue.expected}, got ${show(issue.input)}`, hint: describedAt(schema, path) },
      ];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      const got = show(issue.input);
      const close = typeof issue.input === 'string' ? suggest(issue.input, issue.values.map(String)) : undefined;
      const message =
        options.length === 1
          ? `expected ${options[0]}, got ${got}`
          : `expected one of ${options.join(', ')}, got ${got}`;
      return [{ path, message, hint: close }];
    }
    case 'invalid_union': {
      if (issue.discriminator) {
        const disc = issue.discriminator;
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const input = issue.input as Record<string, unknown> | undefined;
        const value = input && typeof input === 'object' ? input[disc] : undefined;
        const atDisc = path.at(-1) === disc ? path : [...path, disc];
        return [
          {
            path: atDisc,
            message:
              value === undefined
                ? `missing "${disc}"`
                : `unknown ${disc} ${show(value)}: expected one of ${options.join(', ')}`,
            hint:
              (typeof value === 'string' ? suggest(value, options) : undefined) ??
              `the ${disc} decides which other keys the entry takes (see docs/config.md)`,
          },
        ];
      }
      return [{ path, message: issue.message }];
    }
    case 'custom':
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: issue.message, hint: describedAt(schema, path) }];
  }
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return `${typeof value} ${String(value)}`;
}

function describedAt(schema: z.ZodType, path: readonly string[]): string | undefined {
  const found = schemasAt(schema, path);
  const described = found.map((s) => s.description).find((d) => d !== undefined);
  return described;
}

/** Keys the object at `path` may have; below a union only the options whose literals match the input. */
function keysAt(schema: z.ZodType, path: readonly string[], input: unknown): string[] {
  const keys = new Set<string>();
  const given = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  for (const s of schemasAt(schema, path).flatMap(expandUnion)) {
    const obj = unwrap(s);
    if (!(obj instanceof z.ZodObject)) continue;
    const shape = obj.shape as Record<string, z.ZodType>;
    const mismatch = Object.entries(shape).some(
      ([k, v]) => v instanceof z.ZodLiteral && k in given && !v.values.has(given[k] as never),
    );
    if (!mismatch) for (const k of Object.keys(shape)) keys.add(k);
  }
  return [...keys];
}

/** The schemas that may describe the value at `path` (several below a union). */
function schemasAt(schema: z.ZodType, path: readonly string[]): z.ZodType[] {
  let current: z.ZodType[] = [schema];
  for (const key of path) {
    const next: z.ZodType[] = [];
    for (const s of current.flatMap(expandUnion)) {
      if (s instanceof z.ZodObject) {
        const child = (s.shape as Record<string, z.ZodType>)[key];
        if (child) next.push(child);
      } else if (s instanceof z.ZodArray && /^\d+$/.test(key)) next.push(s.element as z.ZodType);
      else if (s instanceof z.ZodRecord) next.push(s.valueType as z.ZodType);
    }
    current = next;
  }
  return current;
}

function expandUnion(schema: z.ZodType): z.ZodType[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap(expandUnion);
  return [s];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = s._zod.def as { innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType) s = def.innerType;
    else if (s instanceof z.ZodPipe && def.in) s = def.in;
    else break;
  }
  return s;
}

/** The closest candidate within a small edit distance, as a hint. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(input.length / 2)) + 1;
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined ? undefined : `did you mean "${best}"?`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
