// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config syntax shown in messages
// How config issues may show a value. Their text reaches logs, `validate` output and bridge/event (which the
// upstream bridge forwards), so a secret never appears: a value made by substitution is shown by the reference
// it came from, and secret keys are masked whatever their value.
import { type Document, isScalar } from 'yaml';
import { formatPath } from './errors.js';
import { nodeAt } from './locate.js';

/** Keys holding secrets wherever they appear. */
const SECRET_KEYS = new Set(['password', 'password_hash', 'bind_key', 'token', 'key']);

export interface ValueView {
  /** What to show instead of the value at `path`, when the value itself must not be shown. */
  hidden(path: readonly string[], value: unknown): string | undefined;
  /** The `${...}` references the value at `path` was made from. */
  reference(path: readonly string[]): string | undefined;
  /** Whether the value at `path` was written in quotes (undefined: not known). */
  quoted(path: readonly string[]): boolean | undefined;
}

/** For values not read from a file: only secret keys are masked. */
export const plainView: ValueView = {
  hidden: secretMask,
  reference: () => undefined,
  quoted: () => undefined,
};

/** For a parsed config file and the references its substitution resolved (Substitution.sources). */
export function documentView(doc: Document, sources: ReadonlyMap<string, string>): ValueView {
  return {
    hidden(path, value) {
      const reference = sources.get(formatPath(path));
      return reference ? `<value from ${reference}>` : secretMask(path, value);
    },
    reference: (path) => sources.get(formatPath(path)),
    quoted(path) {
      const node = nodeAt(doc, path);
      return isScalar(node) ? node.type !== 'PLAIN' : undefined;
    },
  };
}

/** The value as a message shows it. */
export function showValue(view: ValueView, path: readonly string[], value: unknown): string {
  return view.hidden(path, value) ?? show(value);
}

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return `${typeof value} ${String(value)}`;
}

function secretMask(path: readonly string[], value: unknown): string | undefined {
  const key = path.at(-1);
  if (key === undefined || !SECRET_KEYS.has(key) || value === null || typeof value === 'object') return undefined;
  // `key` of a TLS setting is a file path: showing it helps, and it is no secret.
  if (key === 'key' && typeof value === 'string' && /[/\\]|\.(pem|key)$/i.test(value)) return undefined;
  return '<hidden>';
}
