// Turns zod issues into config issues a person can act on: what was found, what was expected, a hint.
import { z } from 'zod';
import { formatPath as formatKeyPath } from './errors.js';
import { plainView, showValue, type ValueView } from './value-view.js';

export interface DescribedIssue {
  path: string[];
  message: string;
  /** A fix; left out when there is nothing better to say than the message. */
  hint?: string | undefined;
}

/** `root`: the whole value that was parsed; with it, a union's branches that its literal keys rule out (a `ble`
 * device's `match` is not a serial one's) are left out of the hints. */
export function describeIssues(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  view: ValueView = plainView,
  root?: unknown,
): DescribedIssue[] {
  const path = issue.path.map(String);
  const found = schemasAt(schema, path, root);
  const fallback = describedAt(found) ?? `see \`${path[0] ?? 'the file'}\` in docs/config.md`;
  const show = (value: unknown, at: readonly string[] = path) => showValue(view, at, value);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(found, issue.input);
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key "${key}"`,
        hint:
          suggest(key, known) ??
          indentationHint(key, path, schema, root, issue.input) ??
          (known.length > 0 ? `allowed keys: ${known.join(', ')}` : 'remove it'),
      }));
    }
    case 'invalid_type': {
      const type = TYPES[issue.expected];
      if (issue.input === undefined) {
        const described = describedAt(found);
        const hint = `add ${example(path, found, type?.sample)}${described ? ` (${described})` : ''}`;
        return [{ path, message: `missing required key (expected ${issue.expected})`, hint }];
      }
      const hint = type ? typeHint(type, path, found, view) : fallback;
      return [{ path, message: `expected ${issue.expected}, got ${show(issue.input)}`, hint }];
    }
    case 'too_small':
    case 'too_big':
      return [{ path, message: issue.message, hint: sizeHint(issue, found) }];
    case 'invalid_format': {
      // The schema's message says what the value should look like, e.g. 'a MAC address like AA:BB:CC:DD:EE:FF'.
      const fixed = visibleString(issue.input, path, view) ? fixedFormat(issue.input, found) : undefined;
      const hint = fixed ? `did you mean "${fixed}"?` : defaultText(found) ? `e.g. ${example(path, found)}` : fallback;
      const message = issue.format === 'regex' ? `expected ${issue.message}, got ${show(issue.input)}` : issue.message;
      return [{ path, message, hint }];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      const got = show(issue.input);
      const close = typeof issue.input === 'string' ? suggest(issue.input, issue.values.map(String)) : undefined;
      const message =
        options.length === 1
          ? `expected ${options[0]}, got ${got}`
          : `expected one of ${options.join(', ')}, got ${got}`;
      return [{ path, message, hint: close ?? `e.g. ${example(path, found, options[0])}` }];
    }
    case 'invalid_union': {
      if (issue.discriminator) {
        const disc = issue.discriminator;
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const input = issue.input as Record<string, unknown> | undefined;
        const value = input && typeof input === 'object' ? input[disc] : undefined;
        const atDisc = path.at(-1) === disc ? path : [...path, disc];
        if (value === undefined) return [missingDiscriminator(atDisc.slice(0, -1), disc, options, input)];
        return [
          {
            path: atDisc,
            message: `unknown ${disc} ${show(value, atDisc)}: expected one of ${options.join(', ')}`,
            hint:
              (typeof value === 'string' ? suggest(value, options) : undefined) ??
              `the ${disc} decides which other keys the entry takes (see docs/config.md)`,
          },
        ];
      }
      return describeUnion(issue, schema, found, view, root);
    }
    case 'not_multiple_of':
      return [{ path, message: issue.message, hint: `use a multiple of ${issue.divisor}` }];
    case 'custom':
      return [describeCustom(issue, path, found, view)];
    case 'invalid_key':
      return [describeKey(issue, path, view)];
    default:
      return [{ path, message: issue.message, hint: fallback }];
  }
}

interface TypeForm {
  form: string;
  sample: string;
}

/** How to write a value of each type zod expects, and a sample of it. */
const TYPES: Record<string, TypeForm> = {
  number: { form: 'a number', sample: '1' },
  int: { form: 'a whole number', sample: '1' },
  boolean: { form: 'true or false', sample: 'true' },
  string: { form: 'text, quoted if it could be read as a number or true/false', sample: '"..."' },
  array: { form: 'a list: one `- item` line per entry, or [] for none', sample: '[]' },
  object: { form: 'a mapping: indented `name: value` lines', sample: '{}' },
};

/** A value of the wrong type: how to write it, or what to change about the reference that made it. */
function typeHint(type: TypeForm, path: string[], found: z.ZodType[], view: ValueView): string {
  const reference = view.reference(path);
  const quoted = view.quoted(path);
  if (reference && type === TYPES.string) return `quote it to keep the value of ${reference} as text: "${reference}"`;
  if (reference && quoted) return `write ${reference} without quotes so that its value is read as ${type.form}`;
  if (reference) return `${reference} must give ${type.form}`;
  return `write ${type.form}${quoted ? ' without quotes' : ''}, e.g. ${example(path, found, type.sample)}`;
}

/** An entry without its discriminator: most often the key is there but misspelt. */
function missingDiscriminator(
  path: string[],
  disc: string,
  options: string[],
  input: Record<string, unknown> | undefined,
): DescribedIssue {
  const keys = input && typeof input === 'object' ? Object.keys(input) : [];
  const misspelt = keys.find((key) => suggest(key, [disc]) !== undefined);
  if (misspelt)
    return { path: [...path, misspelt], message: `unknown key "${misspelt}"`, hint: `did you mean "${disc}"?` };
  return {
    path: [...path, disc],
    message: `missing "${disc}"`,
    hint: `add ${disc}: one of ${options.join(', ')} (it decides which other keys the entry takes)`,
  };
}

/** A check written as code (a refinement): its message, the value given, and a fix when there is one. */
function describeCustom(
  issue: z.core.$ZodIssueCustom,
  path: string[],
  found: z.ZodType[],
  view: ValueView,
): DescribedIssue {
  const given = issue.input;
  const hint = (issue.params as { hint?: string } | undefined)?.hint;
  if (given !== null && typeof given === 'object') {
    return {
      path: namedKeyPath(path, issue.message, given),
      message: issue.message,
      hint: hint ?? ruleHint(issue.message),
    };
  }
  let message = issue.message;
  if (given !== undefined && !message.includes(JSON.stringify(given))) {
    const shown = showValue(view, path, given);
    message = /^an? /.test(message) ? `expected ${message}, got ${shown}` : `${message}, got ${shown}`;
  }
  const fixed = visibleString(given, path, view) ? fixedFormat(given, found) : undefined;
  return { path, message, hint: hint ?? (fixed ? `did you mean "${fixed}"?` : undefined) };
}

/** A rule about keys of a mapping points at the keys it names that are there ("password or password_file"). */
function namedKeyPath(path: string[], message: string, given: object): string[] {
  const named = (message.match(/[A-Za-z_][\w.]*/g) ?? []).map((word) => word.split('.').at(-1) ?? word);
  const present = named.filter((key) => Object.hasOwn(given, key));
  return present.length > 0 ? [...path, present.at(-1) as string] : path;
}

function ruleHint(message: string): string | undefined {
  if (/\bnot both\b/.test(message)) return 'keep only one of them';
  if (/\bgo together\b/.test(message)) return 'set both, or neither';
  return undefined;
}

/** A mapping key the record does not take, e.g. an empty resource name. */
function describeKey(issue: z.core.$ZodIssueInvalidKey, path: string[], view: ValueView): DescribedIssue {
  const key = issue.input;
  if (key === '') return { path, message: 'the name is empty', hint: 'write a name before the `:`' };
  const why = issue.issues.map((i) => i.message).join('; ');
  return { path, message: `invalid name ${showValue(view, path, key)}: ${why}` };
}

/** A string the message may show (nor secret, nor made by substitution), so a fix may be derived from it. */
function visibleString(value: unknown, path: readonly string[], view: ValueView): value is string {
  return typeof value === 'string' && view.hidden(path, value) === undefined;
}

/** A union not told apart by a key: the branch that got past the type, else what the branches take. */
function describeUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  schema: z.ZodType,
  found: z.ZodType[],
  view: ValueView,
  root: unknown,
): DescribedIssue[] {
  const path = issue.path.map(String);
  const shallow = (i: z.core.$ZodIssue) => i.code === 'invalid_type' || i.code === 'invalid_value';
  const closest = issue.errors.find((branch) => branch.length > 0 && !branch.some(shallow));
  if (closest)
    return closest.flatMap((i) => describeIssues({ ...i, path: [...issue.path, ...i.path] }, schema, view, root));
  const expected: string[] = [];
  for (const [first] of issue.errors) {
    if (first?.code === 'invalid_value') expected.push(...first.values.map((v) => JSON.stringify(v)));
    if (first?.code === 'invalid_type') expected.push(first.expected);
  }
  const sample = TYPES[expected[0] ?? '']?.sample ?? expected[0];
  if (issue.input === undefined) {
    const described = describedAt(found);
    const hint = `add ${example(path, found, sample)}${described ? ` (${described})` : ''}`;
    return [{ path, message: `missing required key (expected one of ${expected.join(', ')})`, hint }];
  }
  const message = `expected one of ${expected.join(', ')}, got ${showValue(view, path, issue.input)}`;
  return [{ path, message, hint: `e.g. ${example(path, found, sample)}` }];
}

/** A fix for a number out of range, or a string or list of the wrong length. */
function sizeHint(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, found: z.ZodType[]): string {
  const optional = found.some((s) => s.safeParse(undefined).success);
  const leaveOut = optional ? ', or leave the key out' : '';
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'string') {
    if (small && limit === 1) return `write a non-empty value${leaveOut}`;
    return `use ${small ? 'at least' : 'at most'} ${limit} characters${leaveOut}`;
  }
  if (issue.origin === 'array' || issue.origin === 'set') {
    const entries = `${limit} ${limit === 1 ? 'entry' : 'entries'}`;
    return `list ${small ? 'at least' : 'at most'} ${entries}${leaveOut}`;
  }
  return `use a value ${numberRange(found, issue)}`;
}

interface Bound {
  value: number;
  inclusive: boolean;
}

/** "between 0 and 65535", "of at least 1", "greater than 0": the range the number's checks allow. */
function numberRange(found: z.ZodType[], issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const checks = found.map(unwrap).find((s) => s instanceof z.ZodNumber)?._zod.def.checks ?? [];
  let int = false;
  let min: Bound | undefined;
  let max: Bound | undefined;
  for (const check of checks) {
    const def = check._zod.def as { check: string; value?: number; inclusive?: boolean; format?: string };
    if (def.check === 'number_format') int = /int/.test(def.format ?? '');
    if (def.value === undefined) continue;
    const bound = { value: def.value, inclusive: def.inclusive ?? true };
    if (def.check === 'greater_than') min = bound;
    if (def.check === 'less_than') max = bound;
  }
  if (!min && !max) {
    const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    const bound = { value: limit, inclusive: issue.inclusive ?? true };
    if (issue.code === 'too_small') min = bound;
    else max = bound;
  }
  // A whole number above 0 is a whole number of at least 1.
  if (int && min && !min.inclusive) min = { value: Math.floor(min.value) + 1, inclusive: true };
  if (int && max && !max.inclusive) max = { value: Math.ceil(max.value) - 1, inclusive: true };
  if (min?.inclusive && max?.inclusive) return `between ${min.value} and ${max.value}`;
  const parts = [
    min && `${min.inclusive ? 'of at least' : 'greater than'} ${min.value}`,
    max && `${max.inclusive ? 'of at most' : 'less than'} ${max.value}`,
  ];
  return parts.filter((p) => p !== undefined).join(' and ');
}

/** `key: value` (or `- value` in a list) with the key's default, else `value`. */
function example(path: readonly string[], found: z.ZodType[], value = '...'): string {
  const key = path.at(-1);
  const text = defaultText(found) ?? value;
  return key === undefined || /^\d+$/.test(key) ? `- ${text}` : `${key}: ${text}`;
}

/** The default of the value at this key, written as YAML, when it is a plain value. */
function defaultText(found: z.ZodType[]): string | undefined {
  for (const s of found) {
    const def = s._zod.def as { type: string; defaultValue?: unknown };
    if (def.type !== 'default') continue;
    const value = def.defaultValue;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value === 'string') return JSON.stringify(value);
  }
  return undefined;
}

/**
 * A value close to `input` that the schema accepts: "Kitchen Sensor" -> "kitchen-sensor", "obs" -> "/obs",
 * "[fe80::1]:5683" -> "fe80::1" (an address with its port where only the address goes).
 */
function fixedFormat(input: string, found: z.ZodType[]): string | undefined {
  const dashed = input.trim().replace(/\s+/g, '-');
  const withoutPort = input.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
  const candidates = [dashed, dashed.toLowerCase(), withoutPort, `/${input}`];
  return candidates.find((c) => c !== input && found.some((s) => s.safeParse(c).success));
}

function describedAt(found: z.ZodType[]): string | undefined {
  return found.map((s) => s.description).find((d) => d !== undefined);
}

/** Keys the object at `path` may have; below a union only the options whose literals match the input. */
function keysAt(found: z.ZodType[], input: unknown): string[] {
  const keys = new Set<string>();
  for (const s of found.flatMap(expandUnion)) {
    const obj = unwrap(s);
    if (obj instanceof z.ZodObject && fitsLiterals(obj, input))
      for (const k of Object.keys(obj.shape as Record<string, z.ZodType>)) keys.add(k);
  }
  return [...keys];
}

/**
 * A key unknown where it is written but known one level deeper or higher up: YAML's usual slip, an indentation that
 * puts a key beside its parent (`port:` level with `coap:` under `adapters:`) or under the block before it.
 */
function indentationHint(
  key: string,
  path: readonly string[],
  schema: z.ZodType,
  root: unknown,
  input: unknown,
): string | undefined {
  const object = input && typeof input === 'object' ? (input as Record<string, unknown>) : {};
  // One level deeper: the keys written before it, nearest first (the block just above is the likely parent).
  const written = Object.keys(object);
  const before = written.slice(0, Math.max(0, written.indexOf(key))).reverse();
  for (const parent of [...before, ...written.filter((k) => !before.includes(k) && k !== key)]) {
    if (keysAt(schemasAt(schema, [...path, parent], root), object[parent]).includes(key))
      return `"${key}" is a key of ${formatKeyPath([...path, parent])}: indent it under \`${parent}:\``;
  }
  // Higher up: the nearest enclosing object that takes it.
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    if (keysAt(schemasAt(schema, prefix, root), valueAt(root, prefix)).includes(key))
      return `"${key}" belongs ${depth === 0 ? 'at the top level' : `in ${formatKeyPath(prefix)}`}: indent it less, level with the keys there`;
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** Whether the object's literal keys (a union's `transport: ble`) agree with `value`, as far as it gives them. */
function fitsLiterals(obj: z.ZodObject, value: unknown): boolean {
  const given = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return !Object.entries(obj.shape as Record<string, z.ZodType>).some(
    ([k, v]) => v instanceof z.ZodLiteral && k in given && !v.values.has(given[k] as never),
  );
}

/**
 * The schemas that may describe the value at `path` (several below a union). With the parsed `root`, a union's
 * objects whose literal keys disagree with the value at their level are left out.
 */
function schemasAt(schema: z.ZodType, path: readonly string[], root?: unknown): z.ZodType[] {
  let current: z.ZodType[] = [schema];
  let value = root;
  for (const key of path) {
    const next: z.ZodType[] = [];
    for (const s of current.flatMap(expandUnion)) {
      if (s instanceof z.ZodObject) {
        const child = (s.shape as Record<string, z.ZodType>)[key];
        if (child && fitsLiterals(s, value)) next.push(child);
      } else if (s instanceof z.ZodArray && /^\d+$/.test(key)) next.push(s.element as z.ZodType);
      else if (s instanceof z.ZodRecord) next.push(s.valueType as z.ZodType);
    }
    current = next;
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
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
